"""Fixtures: the local fake Slack on port 0, a database per backend, a live ``salesbot serve``.

Every store test runs on SQLite and on PostgreSQL. PostgreSQL is a throwaway cluster the tests
start (tests/pgcluster.py), or the server named by ``SALESBOT_TEST_POSTGRES_URL``. When neither
is possible the PostgreSQL half is skipped, unless ``SALESBOT_REQUIRE_POSTGRES=1`` (as in CI):
then it fails.

Most of the suite's time is servers starting and stopping, on two CPUs: each database is a copy
of one migrated once per test process, each ``salesbot`` process is forked from one that has
imported the libraries already (tests/process_support.py; ``SALESBOT_TEST_FORKSERVER=0`` starts
plain subprocesses instead), and a test's server exits while the next test starts.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy.engine import Engine

from bot.devslack.fake_slack import FakeSlack
from bot.devslack.signing import command_body, event_body, payload_body, signed_headers
from bot.services.setup import import_setup
from bot.store.db import make_engine, session_scope, upgrade

try:
    from tests import process_support
    from tests.pgcluster import GivenServer, PgCluster, PostgresUnavailable, start_cluster
except ImportError:  # pytest run without the repository root on sys.path
    import process_support  # type: ignore[no-redef]
    from pgcluster import (  # type: ignore[no-redef]
        GivenServer,
        PgCluster,
        PostgresUnavailable,
        start_cluster,
    )

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
ROOT = Path(__file__).resolve().parent.parent

#: The instant every test starts at, ticking from there: ``SALESBOT_TEST_NOW`` (ISO 8601) or a
#: Wednesday in the middle of a month. ``make dates`` runs the date-sensitive tests at month
#: and year ends, a week across two months, DST changes and Chinese New Year.
PINNED_AT = datetime.fromisoformat(os.environ.get("SALESBOT_TEST_NOW") or "2026-11-18T04:00:00Z")


def salesbot_argv(*args: str) -> list[str]:
    """The real ``salesbot`` command, its clock at this test's pinned time (tests/clocked.py)."""
    return [sys.executable, "-m", "tests.clocked", repr(time.time()), *args]


def salesbot_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for a ``salesbot`` process: the shell's, less Slack and database settings,
    plus ``env``; the repository on the import path for tests/clocked.py."""
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    path = os.pathsep.join(p for p in (str(ROOT), base.get("PYTHONPATH", "")) if p)
    return {**base, "PYTHONPATH": path, **env}


#: Variables that must never leak from the developer's shell into a test.
_CLEARED = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "DATABASE_URL",
    "SLACK_API_URL",
    "PORT",
    "SALESBOT_TZ",
    "SALESBOT_LOCALE",
    "SALESBOT_AUTO_MIGRATE",
    "SALESBOT_LOG_FORMAT",
    "METRICS_PORT",
    "PROMETHEUS_MULTIPROC_DIR",
)


#: Fixtures that start a process (a live server, a PostgreSQL cluster) or are built on one.
_PROCESS_FIXTURES = {
    "server",
    "org",
    "crowd",
    "racing",
    "postgres",
    "socket_mode",
    "silent_port",
    "door",
}


#: Modules whose tests read the calendar (periods, allowances, expiry, digests): ``make dates``
#: runs them at several fixed instants.
_CALENDAR_MODULES = {
    "test_kudos",
    "test_report",
    "test_export",
    "test_home",
    "test_targets",
    "test_log",
    "test_periods",
    "test_expire_claims",
    "test_digest",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``needs_server`` every test that starts a process or runs on PostgreSQL, so that
    ``make check`` can run the rest in seconds; mark ``dates`` those that read the calendar."""
    for item in items:
        if getattr(item, "module", None) and item.module.__name__.split(".")[-1] in (
            _CALENDAR_MODULES
        ):
            item.add_marker(pytest.mark.dates)
        params = getattr(getattr(item, "callspec", None), "params", {})
        fixtures = set(getattr(item, "fixturenames", ()))
        if hasattr(getattr(item, "module", None), "org"):  # the module's own, in-process org
            fixtures.discard("org")
        if fixtures & _PROCESS_FIXTURES or params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.needs_server)


@pytest.fixture(autouse=True)
def _pinned_clock() -> Iterator[None]:
    """Every test starts at :data:`PINNED_AT`, never at today's date."""
    with time_machine.travel(PINNED_AT, tick=True):
        yield


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


# ── databases ────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgCluster | GivenServer]:
    """The PostgreSQL server of this test process: a throwaway cluster, or the developer's
    own server named by ``SALESBOT_TEST_POSTGRES_URL`` (its user needs CREATEDB)."""
    given = os.environ.get("SALESBOT_TEST_POSTGRES_URL")
    if given:
        yield GivenServer(given)
        return
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("pg"))
    except PostgresUnavailable as error:
        if os.environ.get("SALESBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (SALESBOT_REQUIRE_POSTGRES=1): {error}")
        pytest.skip(f"PostgreSQL unavailable: {error}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def migrated_template(postgres: PgCluster | GivenServer, worker_id: str) -> Iterator[str]:
    """A database built by the migrations once per test process, that each test's database
    is copied from (``CREATE DATABASE … TEMPLATE``)."""
    name = f"t_template_{worker_id}_{uuid.uuid4().hex[:6]}"
    engine = make_engine(postgres.create_database(name))
    upgrade(engine)
    engine.dispose()
    yield name
    postgres.drop_database(name)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file built by the migrations once per test process, that each test's SQLite
    database is copied from (as :func:`migrated_template` for PostgreSQL): the migrations cost
    every server start and every ``engine`` about 0.15 s of CPU."""
    path = tmp_path_factory.mktemp("sqlite-template") / "salesbot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL on each backend, already migrated: a copy of
    :func:`migrated_sqlite`, or a new PostgreSQL database copied from :func:`migrated_template`
    and dropped after the test."""
    if request.param == "sqlite":
        path = tmp_path / "salesbot.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    pg = request.getfixturevalue("postgres")
    template = request.getfixturevalue("migrated_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg.create_database(name, template=template)
    yield url
    pg.drop_database(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a schema built by the migrations."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


# ── a live server ────────────────────────────────────────────────────────────────────────────


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """Everything a user reads in an ephemeral reply: its text and its blocks' text."""
        data = self.json()
        return data.get("text", "") + "\n" + json.dumps(data.get("blocks", []), ensure_ascii=False)


def http_request(
    port: int, method: str, path: str, body: str = "", headers: dict | None = None
) -> Reply:
    """One HTTP request to a server on 127.0.0.1, on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body.encode(), headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.read().decode())
    finally:
        connection.close()


#: How often a starting server is looked at (its log for the port, then /healthz): each test
#: waits for its server, so a coarse poll costs half a period on every start.
_POLL_S = 0.01


class LiveServer:
    """``salesbot serve`` in a subprocess, reached with signed requests like Slack's."""

    def __init__(
        self,
        *,
        db_url: str,
        fake: FakeSlack,
        log_path: Path,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        extra = env or {}
        self.fake, self.log_path, self.db_url = fake, log_path, db_url
        env = salesbot_env(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.url,
                "DATABASE_URL": db_url,
                "WEB_THREADS": "8",
                "WEB_CONCURRENCY": str(workers),
                **extra,
            }
        )
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = process_support.popen(
            salesbot_argv("serve", "--host", "127.0.0.1", "--port", "0"),
            env,
            stdout=self._log,
            stderr=self._log,
        )
        self.port = self._wait_for_port()
        self._wait_healthy()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_for_port(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.log())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f"salesbot serve exited:\n{self.log()}")
            time.sleep(_POLL_S)
        raise RuntimeError(f"salesbot serve did not start:\n{self.log()}")

    def _wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(_POLL_S)
        raise RuntimeError(f"salesbot serve is not healthy:\n{self.log()}")

    def request(self, method: str, path: str, body: str = "", headers: dict | None = None) -> Reply:
        return http_request(self.port, method, path, body, headers)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, body: str, *, timestamp: int | None = None, secret: str = SECRET) -> Reply:
        return self.request("POST", "/slack/events", body, signed_headers(secret, body, timestamp))

    def command(self, command: str, text: str = "", *, user: str, channel: str = "C0TEST") -> Reply:
        body = command_body(
            command,
            text,
            user=user,
            channel=channel,
            response_url=self.fake.response_url(f"{user}-{command.strip('/')}"),
        )
        return self.post(body)

    def event(self, event: dict, *, event_id: str) -> Reply:
        return self.post(event_body(event, event_id=event_id))

    def action(self, payload: dict) -> Reply:
        return self.post(payload_body(payload))

    def stop(self, *, wait: bool = True) -> None:
        """Stop the server as its operator would (SIGTERM: gunicorn's graceful stop) and, with
        ``wait``, until it is gone. Without, the next test goes on while it exits (a quarter of
        a second, mostly gunicorn's own polling); :func:`_reap_servers` makes sure it did."""
        self.process.terminate()
        if wait:
            self._reap()
        else:
            _STOPPING.append(self)
        self._log.close()

    def _reap(self) -> None:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


#: Servers told to stop whose exit no test waited for.
_STOPPING: list[LiveServer] = []


@pytest.fixture(scope="session", autouse=True)
def _reap_servers() -> Iterator[None]:
    """Every server stopped without waiting is gone by the end of the session (killed if it
    takes more than ten seconds, as a waited stop)."""
    yield
    while _STOPPING:
        _STOPPING.pop()._reap()


@pytest.fixture
def server(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(db_url=db_url, fake=fake_slack, log_path=tmp_path / "serve.log")
    yield live
    live.stop(wait=False)
    _STOPPING[:] = [other for other in _STOPPING if other.process.poll() is None]


SETUP_TOML = """
timezone = "Asia/Shanghai"
locale = "en"
admins = ["U0ADMIN"]

[[department]]
name = "Enterprise"
channel = "C0ENT"
managers = ["U0MGR1"]
reps = ["U0REP1", "U0REP2"]
daily_digest = "09:00"
weekly_digest = "fri 17:00"
meeting = "mon 10:00"
claim_days = 14
warn_days = 3
max_leads_per_rep = 200

[[department]]
name = "SMB"
channel = "C0SMB"
locale = "zh-CN"
managers = ["U0MGR2"]
reps = ["U0REP3"]
"""


def import_setup_text(db_url: str, text: str) -> None:
    """Import a setup file's text as ``salesbot setup`` does, in this process (the command
    itself is tested in test_setup.py; a process per test costs most of a second)."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            import_setup(session=session, text=text)
    finally:
        engine.dispose()


@pytest.fixture
def org(server: LiveServer) -> LiveServer:
    """The live server with SETUP_TOML imported."""
    import_setup_text(server.db_url, SETUP_TOML)
    return server


def run_salesbot(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    """Run the real ``salesbot`` command."""
    return process_support.run(salesbot_argv(*args), salesbot_env(env), stdin=stdin, timeout=120)
