"""``/sales report``, ``/sales digest`` and ``/sales agenda`` through the live server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from bot.store.db import make_engine
from bot.store.models import Activity, Department
from jobs import posts, schedules
from tests.conftest import LiveServer
from tests.digest_support import add_lead


def _seed_today(server: LiveServer) -> None:
    now = datetime.now(UTC)
    with Session(make_engine(server.db_url), expire_on_commit=False) as session:
        ent = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        lead = add_lead(session, "Acme Corp", owner="U0REP1", department=ent, claimed_at=now)
        for kind in ("call", "call", "demo"):
            session.add(
                Activity(
                    user_id="U0REP1",
                    department_id=ent.id,
                    lead_id=lead.id,
                    kind=kind,
                    occurred_at=now - timedelta(seconds=5),
                )
            )
        session.commit()


def _valid(reply) -> None:  # type: ignore[no-untyped-def]
    data = reply.json()
    assert data["response_type"] == "ephemeral"
    assert len(data["blocks"]) <= 50
    for block in data["blocks"]:
        Block.parse(block).validate_json()


def test_anyone_reads_their_department_report(org) -> None:
    _seed_today(org)
    reply = org.command("/sales", "report", user="U0REP2")
    _valid(reply)
    assert "Enterprise · today" in reply.text
    assert "<@U0REP1> — *3* (call 2 · demo 1)" in reply.text
    week = org.command("/sales", "report Enterprise week", user="U0MGR1")
    _valid(week)
    assert "Enterprise · this week" in week.text and "*3* activities" in week.text


def test_report_in_the_callers_language(org) -> None:
    reply = org.command("/sales", "report SMB month", user="U0REP3")
    _valid(reply)
    assert "SMB · 本月" in reply.text and "没有跟进记录" in reply.text


def test_report_bad_input_says_what_to_type(org) -> None:
    bad = org.command("/sales", "report Enterprise yearly", user="U0REP1")
    assert "“yearly” is not a period here" in bad.text and "today, week, month" in bad.text
    nowhere = org.command("/sales", "report", user="U0ADMIN")
    assert "You are not in a department" in nowhere.text and "*Enterprise*" in nowhere.text
    unknown = org.command("/sales", "report Nope", user="U0REP1")
    assert "no department called “Nope”" in unknown.text
    usage = org.command("/sales", "report help", user="U0REP1")
    assert "/sales export [department] [week|month|quarter]" in usage.text


def test_digest_preview_is_for_managers_and_admins(org) -> None:
    refused = org.command("/sales", "digest", user="U0REP1")
    assert "Only a manager of *Enterprise*" in refused.text and "<@U0MGR1>" in refused.text
    reply = org.command("/sales", "digest", user="U0MGR1")
    _valid(reply)
    assert "Preview — to be posted in <#C0ENT>" in reply.text
    assert "Enterprise · daily digest" in reply.text
    weekly = org.command("/sales", "digest SMB weekly", user="U0ADMIN")
    _valid(weekly)
    assert "预览" in weekly.text and "SMB · 周报" in weekly.text


def test_agenda_preview_and_meeting_off(org) -> None:
    off = org.command("/sales", "agenda", user="U0MGR2")
    assert "没有安排例会" in off.text and "meeting mon 10:00" in off.text
    reply = org.command("/sales", "agenda Enterprise", user="U0ADMIN")
    _valid(reply)
    assert "Enterprise · meeting agenda" in reply.text and "10:00" in reply.text


def test_preview_is_the_post_it_announces(org) -> None:
    """The preview's blocks after its note are those of the post built for the next run."""
    _seed_today(org)
    reply = org.command("/sales", "agenda Enterprise", user="U0MGR1")
    with Session(make_engine(org.db_url)) as session:
        ent = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        when = schedules.next_run("agenda", ent, datetime.now(UTC))
        post = posts.agenda(session, ent, when)
    assert post is not None
    blocks = reply.json()["blocks"]
    assert blocks[0]["type"] == "context" and blocks[1]["type"] == "divider"
    assert blocks[2:] == post.message.blocks
