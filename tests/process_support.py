"""Start the real ``salesbot`` command without paying for its imports each time.

Every server a test starts, and every ``salesbot setup``/``run-job`` it runs, is a new Python
process that imports SQLAlchemy, psycopg, Alembic, Bolt, pydantic, gunicorn… before it does
anything: about 0.8 s of CPU, the largest part of the suite's time on two CPUs. A *fork
server* pays it once per test process: ``python -m tests.process_support`` imports those
libraries, then waits on a Unix socket; for each command it forks, and the child runs
``python -m tests.clocked ARGS…`` exactly as a new process would (its own argv, environment,
working directory and stdin/stdout/stderr, received as file descriptors).

Only modules that read no environment variable and start no thread at import are imported
ahead (:data:`PRELOADED`: the libraries, the store, the services, the handlers); what reads
its configuration at import (``prometheus_client`` reads ``PROMETHEUS_MULTIPROC_DIR``, which
``salesbot serve`` sets first) is imported by each child after its environment is set
(:data:`NOT_PRELOADED`, checked). The fork server is started by each test process, so it
runs the code of the checkout under test. Set
``SALESBOT_TEST_FORKSERVER=0`` to start every command as a plain subprocess instead.

:class:`ForkedProcess` looks like the part of :class:`subprocess.Popen` the tests use (``pid``,
``poll``, ``wait``, ``send_signal``, ``terminate``, ``kill``, ``returncode``); the fork server
reports each child's exit status to it.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

#: Imported once by the fork server: the heavy libraries of ``salesbot``, none of which reads an
#: environment variable the tests set.
PRELOADED = (
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "alembic.runtime.environment",
    "alembic.operations",
    "sqlmodel",
    "pydantic",
    "pydantic_settings",
    "jinja2",
    "babel",
    "slack_sdk",
    "slack_sdk.web",
    "slack_bolt",
    "slack_bolt.adapter.wsgi",
    "gunicorn.app.base",
    "gunicorn.arbiter",
    "gunicorn.glogging",
    "gunicorn.workers.gthread",
    "time_machine",
    "holidays",
    "pycountry",
    "rapidfuzz",
    "tldextract",
    "confusable_homoglyphs",
    "requests",
    "dateutil",
    # Our own modules that read no environment variable and start no thread at import: the
    # command line, the store and its models, the services, the handlers.
    "bot.cli",
    "handlers",
)
#: Must be imported by each command itself, after its environment is set: prometheus-client
#: reads ``PROMETHEUS_MULTIPROC_DIR`` at import, which ``salesbot serve`` sets first.
NOT_PRELOADED = (
    "prometheus_client",
    "bot.metrics",
    "bot.app",
    "bot.web",
    "jobs.runner",
    "jobs.scheduler",
    "tests.clocked",
)

_HEADER = 8  # bytes of the request's length, in decimal


# ── the fork server ──────────────────────────────────────────────────────────────────────────


def _serve(path: str) -> tuple[dict, list[int]] | None:
    """Accept requests on ``path`` until stdin closes (the test process is gone). Returns in a
    forked child only: its request and its three file descriptors."""
    for name in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    early = [m for m in sys.modules if m in NOT_PRELOADED or m.split(".")[0] in NOT_PRELOADED]
    if early:
        raise RuntimeError(f"imported ahead of a command's environment: {early}")
    if threading.active_count() != 1:  # a fork copies only the thread that forks
        raise RuntimeError(f"threads started by an import: {threading.enumerate()}")
    gc.collect()
    gc.freeze()  # what every child shares stays shared: its collector never walks it

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    selector.register(sys.stdin, selectors.EVENT_READ, "parent")
    children: dict[int, socket.socket] = {}
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    while True:
        for key, _ in selector.select():
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    return None
            elif key.data == "child":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                _reap(children)
            else:
                conn, _ = listener.accept()
                conn.settimeout(30)
                try:
                    request, fds = _receive(conn)
                except (OSError, ValueError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    for fd in (wake_r, wake_w):
                        os.close(fd)
                    listener.close()
                    for other in (*children.values(), conn):
                        other.close()
                    return request, fds
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                _send(conn, f"pid {pid}\n")
                _reap(children)  # in case it is gone already


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            _send(conn, f"exit {os.waitstatus_to_exitcode(status)}\n")
            conn.close()


def _send(conn: socket.socket, line: str) -> None:
    with contextlib.suppress(OSError):  # the test that asked may be gone
        conn.sendall(line.encode())


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("three file descriptors expected")
    while len(data) < _HEADER or len(data) < _HEADER + int(data[:_HEADER]):
        more = conn.recv(1 << 16)
        if not more:
            raise ValueError("truncated request")
        data += more
    return json.loads(data[_HEADER:]), fds


def _run_child(request: dict, fds: list[int]) -> None:
    """In the forked child: become the command (as ``exec`` would set it up) and run it."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds):
        if fd > 2:
            os.close(fd)
    # As a new interpreter opens them: stderr line-buffered, undecodable characters escaped.
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdin
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    os.chdir(request["cwd"])
    argv = request["argv"]
    assert argv[1:3] == ["-m", "tests.clocked"], argv
    import runpy

    sys.argv = ["tests.clocked", *argv[3:]]
    runpy.run_module("tests.clocked", run_name="__main__", alter_sys=True)


# ── the test process's side ──────────────────────────────────────────────────────────────────


class ForkServer:
    """The fork server of this test process, started on first use."""

    _lock = threading.Lock()
    _instance: ForkServer | None = None

    def __init__(self, env: dict[str, str]) -> None:
        self.dir = tempfile.mkdtemp(prefix="salesbot-fork-")
        if len(self.dir) > 90:  # a Unix socket's path holds 108 bytes
            os.rmdir(self.dir)
            self.dir = tempfile.mkdtemp(prefix="salesbot-fork-", dir="/tmp")
        self.path = os.path.join(self.dir, "s")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.process_support", self.path],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != b"ready":
            self.process.kill()
            raise RuntimeError("the fork server did not start")

    @classmethod
    def get(cls, env: dict[str, str]) -> ForkServer | None:
        if os.environ.get("SALESBOT_TEST_FORKSERVER", "1") == "0":
            return None
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls(env)
                atexit.register(cls._instance.close)
            return cls._instance

    def spawn(
        self, argv: list[str], env: dict[str, str], stdin: int, stdout: int, stderr: int
    ) -> ForkedProcess:
        payload = json.dumps({"argv": argv, "env": env, "cwd": os.getcwd()}).encode()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.path)
        socket.send_fds(conn, [b"%08d" % len(payload) + payload], [stdin, stdout, stderr])
        return ForkedProcess(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


class ForkedProcess:
    """A command the fork server started, seen like a :class:`subprocess.Popen`."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._buffer = b""
        self.returncode: int | None = None
        line = self._line(timeout=30)
        if line is None or not line.startswith("pid "):
            raise RuntimeError(f"the fork server did not start the command: {line!r}")
        self.pid = int(line.split()[1])

    def _line(self, timeout: float | None) -> str | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            self._conn.settimeout(left)
            try:
                data = self._conn.recv(4096)
            except (TimeoutError, BlockingIOError):
                return None
            if not data:
                raise RuntimeError("the fork server is gone")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def _check(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            line = self._line(timeout)
            if line is not None:
                self.returncode = int(line.split()[1])
                self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        return self._check(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._check(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(["salesbot"], timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def popen(argv: list[str], env: dict[str, str], *, stdout: IO[Any], stderr: IO[Any]) -> Any:
    """``subprocess.Popen(argv, env=env, stdout=…, stderr=…)`` (stdin empty), through the fork
    server when there is one."""
    server = ForkServer.get(env_of_server())
    if server is None:
        return subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
        )
    with open(os.devnull, "rb") as null:
        return server.spawn(argv, env, null.fileno(), stdout.fileno(), stderr.fileno())


def run(argv: list[str], env: dict[str, str], *, stdin: str, timeout: float) -> Any:
    """``subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, …)``
    through the fork server when there is one."""
    server = ForkServer.get(env_of_server())
    if server is None:
        return subprocess.run(
            argv, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
        )
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        process = server.spawn(argv, env, in_r, out_w, err_w)
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), open(in_w, "wb") as pipe:
            pipe.write(stdin.encode())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            events = selector.select(max(left, 0))
            if not events and left <= 0:
                process.kill()
                process.wait()
                for fd in selector.get_map():
                    os.close(fd)
                raise subprocess.TimeoutExpired(argv, timeout)
            for key, _ in events:
                data = os.read(key.fd, 1 << 16)
                if data:
                    chunks[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
    code = process.wait(max(deadline - time.monotonic(), 1))
    writer.join(1)
    out, err = (_text(b"".join(chunks[fd])) for fd in (out_r, err_r))
    return subprocess.CompletedProcess(argv, code, out, err)


def _text(data: bytes) -> str:
    """As ``subprocess.run(…, text=True)`` decodes: the locale's encoding, universal newlines."""
    import locale

    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def env_of_server() -> dict[str, str]:
    """The fork server's own environment: the shell's, less Slack and database settings (as
    each command's, before its own variables are added)."""
    try:
        from tests.conftest import salesbot_env
    except ImportError:  # pytest run without the repository root on sys.path
        from conftest import salesbot_env  # type: ignore[no-redef]
    return salesbot_env({})


if __name__ == "__main__":
    child = _serve(sys.argv[1])
    if child is not None:
        _run_child(*child)
    else:
        with contextlib.suppress(OSError):
            Path(sys.argv[1]).unlink()
