"""``expire-claims`` (DESIGN §5): warning DM with buttons, return to the pool with a channel
notice, the 24-hour cooldown, won leads never expire, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.store.models import Lead, OwnershipEvent
from tests.conftest import LiveServer, run_salesbot
from tests.leads_support import click, db, lead_named, responses


def _run(server: LiveServer, at: datetime):  # type: ignore[no-untyped-def]
    env = {
        "DATABASE_URL": server.db_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": server.fake.url,
    }
    done = run_salesbot("run-job", "expire-claims", "--at", at.isoformat(), env=env)
    assert done.returncode == 0, done.stderr
    return done


def _age(server: LiveServer, key: str, expires_at: datetime) -> None:
    with db(server) as session:
        lead = session.exec(select(Lead).where(Lead.name_key == key)).one()
        lead.expires_at = expires_at
        session.add(lead)
        session.commit()


def _dms(server: LiveServer, channel: str) -> list[dict]:
    return [
        c.body for c in server.fake.calls_to("chat.postMessage") if c.body["channel"] == channel
    ]


def test_warning_then_expiry_then_cooldown(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/lead", "claim Initech", user="U0REP1")
    org.command("/lead", "won Initech 10k", user="U0REP1")
    now = datetime.now(UTC)
    _age(org, "acme", now + timedelta(days=2))  # Enterprise warns 3 days before
    _age(org, "initech", now - timedelta(days=1))  # won: never expires

    _run(org, now)
    _run(org, now + timedelta(minutes=5))
    (warning,) = _dms(org, "U0REP1")
    assert "Your claim on *Acme* (Enterprise) expires" in warning["text"]
    labels = [
        e["text"]["text"]
        for b in warning["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert labels == ["Log activity", "Release"]
    assert lead_named(org, "acme").warned_at is not None

    later = now + timedelta(days=2, hours=1)
    _run(org, later)
    _run(org, later)
    (notice,) = _dms(org, "C0ENT")
    assert "*Acme* expired from <@U0REP1> (Enterprise)" in notice["text"]
    acme = lead_named(org, "acme")
    assert (acme.owner_id, acme.department_id) == (None, None)
    initech = lead_named(org, "initech")
    assert (initech.owner_id, initech.stage) == ("U0REP1", "won")
    with db(org) as session:
        expired = session.exec(
            select(OwnershipEvent).where(OwnershipEvent.action == "expire")
        ).all()
    assert [(e.from_owner, e.lead_id) for e in expired] == [("U0REP1", acme.id)]

    # The job ran "two days from now", so the 24 hours run from then for the rep it left.
    reply = org.command("/lead", "claim acme", user="U0REP1")
    assert "you can claim it again after" in reply.text
    assert lead_named(org, "acme").owner_id is None
    reply = org.command("/lead", "claim acme", user="U0REP3")
    assert "现在归你了" in reply.text


def test_release_button_in_the_warning(org) -> None:
    org.command("/lead", "claim Globex", user="U0REP3")
    now = datetime.now(UTC)
    _age(org, "globex", now + timedelta(hours=5))
    _run(org, now)
    (warning,) = _dms(org, "U0REP3")
    assert "即将" in warning["text"] or "到期" in warning["text"]
    release = next(
        e
        for b in warning["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "lead_release"
    )
    click(org, "U0REP1", "lead_release", release["value"], "intruder")
    assert "只有负责人" not in responses(org, "intruder")[0]["text"]
    assert "Only the owner <@U0REP3>" in responses(org, "intruder")[0]["text"]
    click(org, "U0REP3", "lead_release", release["value"], "owner")
    assert "已回到公海" in responses(org, "owner")[0]["text"]
    assert lead_named(org, "globex").owner_id is None
