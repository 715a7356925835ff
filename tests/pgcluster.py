"""Start a throwaway PostgreSQL server for the test-suite.

Only the standard library and psycopg are used. The server is a fresh cluster made by
``initdb`` in a temporary directory, listening on 127.0.0.1 on a free port with trust
authentication and durability switched off, so a start takes a second or two.

``initdb`` refuses to run as root; when the effective user is root (as in CI) the cluster is
created and run as the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pathlib
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

__all__ = ["GivenServer", "PgCluster", "PostgresUnavailable", "find_pg_bindir", "start_cluster"]

SUPERUSER = "postgres"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30
# sun_path holds 108 bytes; the socket file itself is "/.s.PGSQL.NNNNN".
_MAX_SOCKET_DIR_LEN = 90
_LOG_TAIL_LINES = 30
_DB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def _version_key(bindir: str) -> tuple[int, ...]:
    version = pathlib.Path(bindir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_pg_bindir() -> pathlib.Path:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's newest."""
    initdb = shutil.which("initdb")
    if initdb:
        bindir = pathlib.Path(initdb).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
        pg_ctl = shutil.which("pg_ctl")
        if pg_ctl and pathlib.Path(pg_ctl).resolve().parent == bindir:
            return bindir
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK)
        and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    if candidates:
        return pathlib.Path(max(candidates, key=_version_key))
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: no initdb/pg_ctl on PATH or in "
        "/usr/lib/postgresql/*/bin (on Debian: apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _reachable_by_others(path: pathlib.Path) -> bool:
    """Whether every directory from / down to ``path`` can be traversed by any user."""
    path = path.resolve()
    for directory in (path, *path.parents):
        try:
            mode = directory.stat().st_mode
        except OSError:
            return False
        if not mode & 0o001:
            return False
    return True


def _log_tail(log: pathlib.Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(no server log: {exc})"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(server log is empty)"


def _create_database(conninfo: str, name: str, template: str | None, url_for) -> str:  # type: ignore[no-untyped-def]
    _check_name(name)
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        _check_name(template)
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)
    return url_for(name)


def _drop_database(conninfo: str, name: str) -> None:
    _check_name(name)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@dataclass
class GivenServer:
    """A developer's own server, named by ``SALESBOT_TEST_POSTGRES_URL``: the tests create their
    databases on it (the URL's user needs CREATEDB) and drop them afterwards, as on a cluster
    of their own."""

    url: str

    def conninfo(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    def url_for(self, dbname: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).set(database=dbname).render_as_string(hide_password=False)

    def create_database(self, name: str, template: str | None = None) -> str:
        return _create_database(self.conninfo(), name, template, self.url_for)

    def drop_database(self, name: str) -> None:
        _drop_database(self.conninfo(), name)

    def stop(self) -> None:
        """Nothing to stop: the server is the developer's."""


@dataclass
class PgCluster:
    """A running throwaway server. ``url`` is the SQLAlchemy URL of its ``postgres`` database."""

    url: str
    host: str = HOST
    port: int = 0
    user: str = SUPERUSER
    data_dir: pathlib.Path | None = field(default=None, repr=False)
    _root: pathlib.Path | None = field(default=None, repr=False)
    _pg_ctl: pathlib.Path | None = field(default=None, repr=False)
    _as_postgres: bool = field(default=False, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string, for psycopg.connect()."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE ``name`` (a copy of ``template`` if given); returns its URL."""
        return _create_database(self.conninfo(), name, template, self.url_for)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ``name`` WITH (FORCE), ending any sessions still connected to it."""
        _drop_database(self.conninfo(), name)

    def stop(self) -> None:
        """Stop the server at once (no checkpoint) and delete its files. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if self._pg_ctl is not None and self.data_dir is not None:
                _run(
                    [str(self._pg_ctl), "stop", "-D", str(self.data_dir), "-m", "immediate", "-w"],
                    as_postgres=self._as_postgres,
                    cwd=self._root,
                    timeout=START_TIMEOUT_S,
                )
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)


def _check_name(name: str) -> None:
    if not _DB_NAME.fullmatch(name):
        raise ValueError(f"unsupported database name {name!r}")


def _run(
    argv: list[str],
    *,
    as_postgres: bool,
    cwd: pathlib.Path | None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    if as_postgres:
        argv = ["runuser", "-u", SUPERUSER, "--", *argv]
    return subprocess.run(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _prepare_root(base_dir: pathlib.Path, as_postgres: bool) -> pathlib.Path:
    """A fresh directory for the cluster, owned by whoever runs the server."""
    base_dir = pathlib.Path(base_dir)
    parent = base_dir
    if as_postgres and not _reachable_by_others(base_dir):
        # e.g. pytest's /tmp/pytest-of-root is 0700: postgres could not enter it.
        parent = pathlib.Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    root = pathlib.Path(tempfile.mkdtemp(prefix="salesbot-pg-", dir=parent))
    if len(str(root / "s")) > _MAX_SOCKET_DIR_LEN:
        shutil.rmtree(root)
        root = pathlib.Path(tempfile.mkdtemp(prefix="salesbot-pg-", dir="/tmp"))
    if as_postgres:
        try:
            entry = pwd.getpwnam(SUPERUSER)
        except KeyError:
            shutil.rmtree(root)
            raise PostgresUnavailable(
                f"running as root, but there is no {SUPERUSER!r} user to run initdb as"
            ) from None
        os.chown(root, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o700)
    return root


def start_cluster(base_dir: pathlib.Path) -> PgCluster:
    """initdb a new cluster under ``base_dir`` (or /tmp), start it and wait until it is ready.

    Raises PostgresUnavailable with the reason (and the tail of the server log) on failure.
    """
    bindir = find_pg_bindir()
    as_postgres = os.geteuid() == 0
    if as_postgres and shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root, but runuser (util-linux) is not installed")

    root = _prepare_root(base_dir, as_postgres)
    data_dir = root / "data"
    sock_dir = root / "s"
    log = root / "server.log"
    try:
        if as_postgres:
            # runuser as postgres: create the socket dir as postgres too.
            done = _run(
                ["mkdir", "-m", "700", str(sock_dir)], as_postgres=True, cwd=root, timeout=10
            )
            if done.returncode != 0:
                raise PostgresUnavailable(
                    f"cannot run commands as {SUPERUSER!r} via runuser: "
                    f"{(done.stderr or done.stdout).strip()}"
                )
        else:
            sock_dir.mkdir(mode=0o700)

        done = _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir),
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            as_postgres=as_postgres,
            cwd=root,
            timeout=120,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"initdb failed (exit {done.returncode}):\n{(done.stderr + done.stdout).strip()}"
            )

        # The port is free when chosen but may be taken before the server binds it: retry.
        for attempt in range(3):
            port = _free_port()
            options = (
                f"-F -p {port} -k {shlex.quote(str(sock_dir))} -c listen_addresses={HOST}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=200"
            )
            done = _run(
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(data_dir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-o",
                    options,
                ],
                as_postgres=as_postgres,
                cwd=root,
                timeout=START_TIMEOUT_S + 15,
            )
            if done.returncode == 0:
                break
            tail = _log_tail(log)
            if attempt < 2 and "already in use" in tail:
                continue
            raise PostgresUnavailable(
                f"pg_ctl start failed (exit {done.returncode}): "
                f"{(done.stderr + done.stdout).strip()}\n--- server log ---\n{tail}"
            )
    except PostgresUnavailable:
        _stop_quietly(bindir, data_dir, root, as_postgres)
        raise
    except (OSError, subprocess.SubprocessError) as exc:
        _stop_quietly(bindir, data_dir, root, as_postgres)
        raise PostgresUnavailable(f"could not start PostgreSQL: {exc}\n{_log_tail(log)}") from exc

    cluster = PgCluster(
        url=f"postgresql+psycopg://{SUPERUSER}@{HOST}:{port}/postgres",
        port=port,
        data_dir=data_dir,
        _root=root,
        _pg_ctl=bindir / "pg_ctl",
        _as_postgres=as_postgres,
    )
    atexit.register(cluster.stop)
    return cluster


def _stop_quietly(
    bindir: pathlib.Path, data_dir: pathlib.Path, root: pathlib.Path, as_postgres: bool
) -> None:
    if (data_dir / "postmaster.pid").exists():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _run(
                [str(bindir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "immediate"],
                as_postgres=as_postgres,
                cwd=root,
                timeout=START_TIMEOUT_S,
            )
    shutil.rmtree(root, ignore_errors=True)
