"""A ``salesbot`` command the tests' fork server starts (tests/process_support.py) behaves as
the same command started as a new process: the same exit code and output, its own stdin,
environment and working directory, and its exit reported as ``subprocess`` reports it."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import process_support
from tests.conftest import SETUP_TOML, TOKEN, salesbot_argv, salesbot_env


def _forked(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return process_support.run(salesbot_argv(*args), salesbot_env(env), stdin=stdin, timeout=120)


def _plain(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        salesbot_argv(*args),
        env=salesbot_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _seen(done: subprocess.CompletedProcess) -> tuple[int, str, str]:
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("db", "upgrade"), {"DATABASE_URL": "sqlite://"}),
        (("serve",), {"SLACK_BOT_TOKEN": "not-a-token", "SLACK_SIGNING_SECRET": "s"}),
        (("serve",), {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "s", "PORT": "eighty"}),
        (("run-job", "no-such-job"), {"SLACK_BOT_TOKEN": TOKEN}),
    ],
)
def test_a_forked_command_answers_as_a_new_process(args, env) -> None:  # type: ignore[no-untyped-def]
    forked = _forked(*args, env=env)
    assert _seen(forked) == _seen(_plain(*args, env=env))
    assert forked.stdout or forked.stderr


def test_it_reads_its_own_stdin_environment_and_directory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    Path("setup.toml").write_text(SETUP_TOML)
    script = "/sales dept create Partners\n/sales help\n:quit\n"
    runs = []
    for run, name in ((_forked, "forked.db"), (_plain, "plain.db")):
        env = {"DATABASE_URL": f"sqlite:///{name}"}  # relative: in the working directory
        assert run("setup", "setup.toml", env=env).returncode == 0
        runs.append(run("shell", "--as", "U0ADMIN", env=env, stdin=script))
        assert (tmp_path / name).exists()
    forked, plain = runs
    assert _seen(forked) == _seen(plain)
    assert "Created department *Partners*" in forked.stdout
    assert "/lead claim <company>" in forked.stdout


@pytest.mark.needs_server  # it starts servers
def test_its_exit_is_reported_as_popen_reports_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = salesbot_env(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": "s",
            "DATABASE_URL": f"sqlite:///{tmp_path}/a.db",
        }
    )
    argv = salesbot_argv("serve", "--host", "127.0.0.1", "--port", "0")
    for sig, code in ((signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)):
        log_path = tmp_path / f"{sig.name}.log"
        with open(log_path, "wb") as log:
            process = process_support.popen(argv, env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while not re.search("Booting worker", log_path.read_text()):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.01)
        process.send_signal(sig)
        assert process.wait(timeout=30) == code
        assert process.poll() == code
        if sig == signal.SIGTERM:
            assert "Shutting down: Master" in log_path.read_text()
