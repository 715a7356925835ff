"""The real ``salesbot serve`` over HTTP: signatures, health, help, errors, events."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlmodel import Session, select

from bot.store.db import make_engine
from bot.store.models import Department
from tests.conftest import LiveServer

COMMANDS = ("/lead", "/log", "/kudos", "/coach", "/target", "/sales", "/away")


def test_healthz_answers_json_when_database_is_up(server: LiveServer) -> None:
    reply = server.get("/healthz")
    assert reply.status == 200
    assert reply.json() == {"ok": True, "database": "ok"}


def test_bad_signature_is_refused_and_nothing_is_written(org) -> None:
    server = org
    from bot.devslack.signing import command_body

    body = command_body(
        "/sales",
        "dept create Forged",
        user="U0ADMIN",
        channel="C1",
        response_url=server.fake.response_url(),
    )
    assert server.post(body, secret="not-the-secret").status == 401
    stale = int(time.time()) - 10 * 60
    assert server.post(body, timestamp=stale).status == 401
    with Session(make_engine(server.db_url)) as session:
        names = session.exec(select(Department.name)).all()
    assert "Forged" not in names
    assert server.fake.calls_to("chat.postMessage") == []


def test_sales_help_lists_every_command(server) -> None:
    reply = server.command("/sales", "help", user="U0ANY")
    assert reply.status == 200
    assert reply.json()["response_type"] == "ephemeral"
    for command in COMMANDS:
        assert command in reply.text


def test_every_command_answers_help_with_its_usage(server) -> None:
    for command in COMMANDS:
        reply = server.command(command, "help", user="U0ANY")
        assert reply.status == 200, command
        assert command in reply.text, command
        usage = reply.json()["text"]  # not the blocks' JSON, which always holds a "["
        assert "&lt;" in usage or "[" in usage, (command, usage)


def test_unknown_subcommand_says_what_to_type(server) -> None:
    reply = server.command("/sales", "frobnicate", user="U0ANY")
    assert "frobnicate" in reply.text and "/sales help" in reply.text


def test_unexpected_error_gets_a_reference_found_in_the_log(org) -> None:
    server = org
    engine = make_engine(server.db_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE department RENAME TO department_gone"))
    reply = server.command("/sales", "dept", user="U0ADMIN")
    assert reply.status == 200
    message = reply.json()["text"]
    assert "Something went wrong (ref " in message
    ref = message.split("(ref ")[1].split(")")[0]
    assert len(ref) == 6
    deadline = time.monotonic() + 5
    while f"ref {ref}" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"unexpected error (ref {ref})" in server.log()
    assert "Traceback" in server.log()


def test_redelivered_event_is_processed_once(server) -> None:
    event = {"type": "app_home_opened", "user": "U0REP9", "tab": "home", "channel": "D1"}
    assert server.event(event, event_id="Ev0001").status == 200
    assert server.event(event, event_id="Ev0001").status == 200
    assert server.event(event, event_id="Ev0002").status == 200
    published = server.fake.calls_to("views.publish")
    assert len(published) == 2
    assert published[0].body["user_id"] == "U0REP9"
    assert "not in a department" in str(published[0].body["view"]["blocks"])
