"""A database that does not answer: ``salesbot serve`` still answers, fast and clearly.

The database here is a port that accepts connections and never says a word (as a frozen or
unreachable server looks from outside): ``/healthz`` says 503 within a second and a command
says "the database is busy, nothing was changed" within Slack's three seconds.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import literal, select, text
from sqlalchemy.exc import OperationalError

from bot.devslack.signing import command_body, signed_headers
from bot.store.db import make_engine
from bot.store.prepared import Prepared
from tests.conftest import SECRET, TOKEN, LiveServer, http_request, salesbot_argv, salesbot_env
from tests.pgcluster import PgCluster, PostgresUnavailable, start_cluster


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_silent_database_gets_503_and_a_busy_answer_in_time(silent_port, fake_slack, tmp_path):  # type: ignore[no-untyped-def]
    env = salesbot_env(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake_slack.url,
            "DATABASE_URL": f"postgresql+psycopg://salesbot@127.0.0.1:{silent_port}/salesbot",
            "SALESBOT_AUTO_MIGRATE": "0",
        }
    )
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            salesbot_argv("serve", "--host", "127.0.0.1", "--port", "0"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text())
            port = int(match.group(1)) if match else None
            time.sleep(0.05)
        assert port, log.read_text()
        started = time.monotonic()
        health = http_request(port, "GET", "/healthz")
        assert health.status == 503 and time.monotonic() - started < 1.5
        body = command_body(
            "/lead",
            "claim Acme",
            user="U0REP1",
            channel="C1",
            response_url=fake_slack.response_url(),
        )
        started = time.monotonic()
        reply = http_request(port, "POST", "/slack/events", body, signed_headers(SECRET, body))
        took = time.monotonic() - started
        assert reply.status == 200
        assert "database is busy" in reply.json()["text"], reply.body
        assert took < 3.0, took
    finally:
        process.terminate()
        process.wait(timeout=15)


def _processes_of(cluster: PgCluster) -> list[int]:
    """The postmaster of ``cluster`` and every process it started."""
    assert cluster.data_dir is not None
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


def test_a_frozen_database_gets_503_and_a_busy_answer_in_time(fake_slack, tmp_path) -> None:
    """The server stops (SIGSTOP): it enforces no timeout and the kernel still acknowledges
    every packet; the web process's watchdog keeps the answers within Slack's limits."""
    try:
        cluster = start_cluster(tmp_path / "frozen")
    except PostgresUnavailable as error:
        if os.environ.get("SALESBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (SALESBOT_REQUIRE_POSTGRES=1): {error}")
        pytest.skip(f"PostgreSQL unavailable: {error}")
    server = None
    try:
        server = LiveServer(
            db_url=cluster.create_database("frozen"), fake=fake_slack, log_path=tmp_path / "log"
        )
        reply = server.command("/lead", "who Acme", user="U0REP1")
        assert "database is busy" not in reply.json()["text"]  # it answers
        frozen = _processes_of(cluster)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            health = server.get("/healthz")
            assert health.status == 503 and time.monotonic() - started < 1.5
            started = time.monotonic()
            reply = server.command("/lead", "who Acme", user="U0REP1")
            took = time.monotonic() - started
            assert "database is busy" in reply.json()["text"], reply.body
            assert took < 3.0, took
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        reply = server.command("/lead", "who Acme", user="U0REP1")
        assert "database is busy" not in reply.json()["text"]  # the cut connections are gone
    finally:
        if server is not None:
            server.stop()
        cluster.stop()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_watchdog_cuts_a_statement_that_overruns_and_never_an_idle_connection(db_url) -> None:
    engine = make_engine(db_url, connection_limit_s=0.5)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            time.sleep(1.0)  # held, idle (its request waits on Slack): left alone
            assert connection.execute(text("SELECT 2")).scalar() == 2
            rows = Prepared(select(literal(3).label("n"))).rows(connection)
            assert [row.n for row in rows] == [3]
        started = time.monotonic()
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(5)"))  # past the limit: cut
        assert time.monotonic() - started < 1.5
        with engine.connect() as connection:  # the cut connection was thrown away
            assert connection.execute(text("SELECT 4")).scalar() == 4
    finally:
        engine.dispose()
