"""Hostile and malformed requests against the real ``salesbot serve``: refused before Bolt sees
them, nothing taken from an unverified body, no body in the log; input the database cannot
keep gets a clear refusal that says the limit."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import time_machine
from sqlmodel import select

from bot.devslack.fake_slack import FakeSlack
from bot.devslack.signing import command_body, signed_headers
from bot.store.models import Activity, Lead, Member
from jobs.export_files import _csv, safe_cell
from tests.conftest import PINNED_AT, SECRET, LiveServer
from tests.leads_support import db

MARKER = "zz-hostile-marker-zz"


def _unsigned(server: LiveServer, timestamp: str) -> tuple[int, str]:
    body = command_body(
        "/sales",
        f"help {MARKER}",
        user="U0ADMIN",
        channel="C1",
        response_url=server.fake.response_url("hostile"),
    )
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": "v0=" + "0" * 64,
    }
    reply = server.request("POST", "/slack/events", body, headers)
    return reply.status, reply.body


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module's HTTP-only tests: what they check happens before any
    database is touched, so one SQLite server serves them all."""
    tmp = tmp_path_factory.mktemp("door")
    with FakeSlack() as fake:
        with time_machine.travel(PINNED_AT, tick=True):  # the time each test starts at
            live = LiveServer(
                db_url=f"sqlite:///{tmp / 'door.db'}", fake=fake, log_path=tmp / "log"
            )
        yield live
        live.stop()


def test_a_malformed_timestamp_is_401_and_nothing_is_sent(door) -> None:
    server = door
    for timestamp in ("abc", "", "1e3", " 12", "-5", "9" * 30):
        status, _body = _unsigned(server, timestamp)
        assert status == 401, timestamp
    assert server.fake.calls_to("response_url") == []
    assert server.fake.calls_to("chat.postMessage") == []
    assert MARKER not in server.log()


def test_a_big_unsigned_body_is_refused_unread_and_not_logged(door) -> None:
    server = door
    body = "text=" + MARKER * (2 * 1024 * 1024 // len(MARKER))
    headers = {"content-type": "application/x-www-form-urlencoded"}
    reply = server.request("POST", "/slack/events", body, headers)
    assert reply.status == 413
    assert MARKER not in server.log()
    assert len(server.log()) < 100_000


def test_a_signed_body_that_does_not_parse_is_400_without_a_traceback(door) -> None:
    server = door
    for body in ("payload=notjson", "payload=%5B1%5D", "{not json"):
        reply = server.request("POST", "/slack/events", body, signed_headers(SECRET, body))
        assert reply.status == 400, body
    assert "Traceback" not in server.log()
    assert server.get("/healthz").status == 200


def test_other_paths_and_methods_are_refused(door) -> None:
    server = door
    assert server.request("GET", "/slack/events").status == 405
    assert server.request("POST", "/elsewhere", "x=1").status == 404


def test_a_nul_character_is_refused_and_nothing_is_stored(org) -> None:
    reply = org.command("/log", "call Acme\x00 Corp talked", user="U0REP1")
    assert reply.status == 200
    assert "control character" in reply.text
    reply = org.command("/lead", "claim Nul\x00Corp", user="U0REP1")
    assert "control character" in reply.text
    with db(org) as session:
        assert session.exec(select(Lead)).all() == []
        assert session.exec(select(Activity)).all() == []


def test_names_and_reasons_longer_than_their_columns_say_the_limit(org) -> None:
    reply = org.command("/lead", "claim " + "ﬃ" * 200, user="U0REP1")  # folds to 600 letters
    assert "at most 200 characters" in reply.text and "600" in reply.text
    reply = org.command("/lead", "claim " + "A" * 201, user="U0REP1")
    assert "at most 200 characters" in reply.text
    org.command("/lead", "claim Acme", user="U0REP1")
    reply = org.command("/lead", "lost Acme " + "r" * 401, user="U0REP1")
    assert "at most 400 characters" in reply.text and "401" in reply.text
    with db(org) as session:
        [lead] = session.exec(select(Lead)).all()
        assert (lead.name, lead.owner_id, lead.stage) == ("Acme", "U0REP1", "new")


def test_a_user_id_longer_than_slack_makes_is_not_a_user(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    long_id = "U" + "A" * 39
    reply = org.command("/lead", f"transfer Acme <@{long_id}|x>", user="U0MGR1")
    assert "Something went wrong" not in reply.text
    reply = org.command("/sales", f"dept add Enterprise <@{long_id}|x>", user="U0ADMIN")
    assert "Something went wrong" not in reply.text
    with db(org) as session:
        assert session.get(Member, long_id) is None


def test_only_admins_change_a_managers_role(org) -> None:
    org.command("/sales", "dept add Enterprise <@U0MGR9|m> manager", user="U0ADMIN")
    reply = org.command("/sales", "dept add Enterprise <@U0MGR9|m> rep", user="U0MGR1")
    assert "Only a salesbot admin" in reply.text
    reply = org.command("/sales", "dept remove Enterprise <@U0MGR9|m>", user="U0MGR1")
    assert "Only a salesbot admin" in reply.text
    with db(org) as session:
        assert session.get(Member, "U0MGR9").role == "manager"
    org.command("/sales", "dept add Enterprise <@U0MGR9|m> rep", user="U0ADMIN")
    with db(org) as session:
        assert session.get(Member, "U0MGR9").role == "rep"


def test_a_rep_who_owns_leads_cannot_be_removed_until_they_are_moved(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP2")
    reply = org.command("/sales", "dept remove Enterprise <@U0REP2|b>", user="U0MGR1")
    assert "still owns 1 lead in *Enterprise*" in reply.text
    with db(org) as session:
        assert session.get(Member, "U0REP2").department_id is not None
    org.command("/lead", "release Acme", user="U0REP2")
    reply = org.command("/sales", "dept remove Enterprise <@U0REP2|b>", user="U0MGR1")
    assert "still owns" not in reply.text
    with db(org) as session:
        assert session.get(Member, "U0REP2").department_id is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has no row locks
def test_a_lock_held_too_long_answers_busy_within_three_seconds(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    with db(org) as session:
        session.exec(select(Lead).where(Lead.name_key == "acme").with_for_update()).one()
        started = time.monotonic()
        reply = org.command("/lead", "release Acme", user="U0REP1")
        took = time.monotonic() - started
        session.rollback()
    assert "database is busy" in reply.text and "nothing was changed" in reply.text
    assert took < 3.0
    with db(org) as session:
        assert session.exec(select(Lead)).one().owner_id == "U0REP1"


def test_csv_cells_that_would_run_as_formulas_are_text() -> None:
    for cell in ('=HYPERLINK("http://x")', "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(cell) == "'" + cell
    assert [safe_cell(v) for v in ("Acme", 12, -3, None)] == ["Acme", 12, -3, None]
    data = _csv("a,b", [["=1+1", -4]]).decode("utf-8-sig")
    assert data.splitlines() == ["a,b", "'=1+1,-4"]
