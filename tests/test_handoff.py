"""From hunters to farmers (DESIGN §10), against the real ``salesbot serve``: the settings, the
"Write handoff note" DM and its modal on a win, the ``handoffs`` job and ``/lead handoff``
offering the customer through the target department's rotation, Accept and the managers'
assignment moving it, the audit line, the channel post, credit for the win, the agendas.

The clock is pinned at Wednesday 2026-11-18 12:00 in Shanghai. Enterprise (English) hands its
won customers to Accounts (Chinese) after 7 days.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from slack_sdk.models.views import View
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import render
from bot.devslack import modal
from bot.devslack.signing import payload_body
from bot.ids import Action
from bot.services import reports, targets
from bot.services.audit import ownership_violations
from bot.services.errors import InvalidInput
from bot.services.exports import lead_rows
from bot.services.setup import import_setup
from bot.store.db import alembic_config, make_engine, upgrade
from bot.store.models import Department, Handoff, Lead, Offer, Outbox, OwnershipEvent, Routing
from jobs.runner import run_job
from tests.conftest import SETUP_TOML, LiveServer, import_setup_text, run_salesbot
from tests.digest_support import client_for
from tests.leads_support import click, db, lead_named, responses
from tests.race_support import at_once, racing_server

ACCOUNTS = """
[[department]]
name = "Accounts"
channel = "C0ACC"
locale = "zh-CN"
managers = ["U0MGR3"]
reps = ["U0FARM1", "U0FARM2"]
meeting = "mon 10:00"
"""
HANDOFF_SETUP = (
    SETUP_TOML.replace(
        "max_leads_per_rep = 200\n",
        'max_leads_per_rep = 200\nhandoff_to = "Accounts"\nhandoff_after_days = 7\n',
    )
    + ACCOUNTS
)
#: the pinned clock, 2026-11-18 12:00 in Shanghai
NOW = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)


def _org(server: LiveServer, setup: str = HANDOFF_SETUP) -> LiveServer:
    import_setup_text(server.db_url, setup)
    return server


def _text(message: dict) -> str:
    return message.get("text", "") + json.dumps(message.get("blocks", []), ensure_ascii=False)


def _button(message: dict, action: str) -> str | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action:
                return element.get("value")
    return None


def _handoffs(server: LiveServer) -> list[Handoff]:
    with db(server) as s:
        return list(s.exec(select(Handoff).order_by(Handoff.id)))


def _offers(server: LiveServer) -> list[Offer]:
    with db(server) as s:
        return list(s.exec(select(Offer).order_by(Offer.id)))


def _run(server: LiveServer, job: str, at: datetime):  # type: ignore[no-untyped-def]
    return run_job(job, engine=make_engine(server.db_url), client=client_for(server.fake), now=at)


def _win(server: LiveServer, name: str = "Acme Corp", user: str = "U0REP1") -> None:
    server.command("/lead", f"claim {name}", user=user)
    reply = server.command("/lead", f"won {name} 50000", user=user)
    assert reply.status == 200, reply.text


def test_a_win_writes_its_handoff_and_asks_the_owner_for_a_note(server) -> None:
    org = _org(server)
    _win(org)
    [handoff] = _handoffs(org)
    assert handoff.status == "due"
    assert handoff.due_at - handoff.won_at == timedelta(days=7)
    assert handoff.won_at.date() == NOW.date()
    with db(org) as s:
        accounts = s.exec(select(Department).where(Department.name == "Accounts")).one()
        assert handoff.to_department_id == accounts.id
    [dm] = org.fake.messages("DU0REP1")
    assert "You won Acme Corp" in _text(dm)
    assert "goes to *Accounts*" in _text(dm) and "on 2026-11-25 12:00" in _text(dm)
    assert _button(dm, Action.HANDOFF_NOTE) == str(handoff.id)


def _open_note(server: LiveServer, user: str, handoff_id: int, tag: str) -> dict | None:
    before = len(server.fake.calls_to("views.open"))
    click(server, user, Action.HANDOFF_NOTE, str(handoff_id), tag)
    calls = server.fake.calls_to("views.open")
    return calls[-1].body["view"] if len(calls) > before else None


def _submit(server: LiveServer, user: str, view: dict, answers: dict):  # type: ignore[no-untyped-def]
    values = modal.state_values(view, answers)
    return server.post(payload_body(modal.submission(user, view, values)))


NOTE = {
    "key_contacts": "Li Wei, CFO <li@acme.com>",
    "commitments": "Onboarding in two weeks",
    "risks": "Budget review in Q1",
    "next_step": "Kick-off call on Monday",
}


def test_the_note_modal_then_the_job_offers_it_and_the_farmer_accepts(server) -> None:
    org = _org(server)
    _win(org)
    [handoff] = _handoffs(org)
    # someone else may not write it
    assert _open_note(org, "U0REP2", handoff.id, "other") is None
    assert "Only <@U0REP1>, who owns *Acme Corp*" in responses(org, "other")[0]["text"]
    view = _open_note(org, "U0REP1", handoff.id, "note")
    assert view is not None
    View(**view).validate_json()
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        "key_contacts",
        "commitments",
        "risks",
        "next_step",
    ]
    # each field over 2,000 characters gets its own error; nothing is saved
    reply = _submit(org, "U0REP1", view, {"key_contacts": "x" * 2001, "risks": "y" * 2500})
    errors = reply.json()["errors"]
    assert set(errors) == {"key_contacts", "risks"}
    assert "Key contacts can have at most 2000 characters; this has 2001" in errors["key_contacts"]
    assert "Risks can have at most 2000 characters; this has 2500" in errors["risks"]
    assert _handoffs(org)[0].note is None
    reply = _submit(org, "U0REP1", view, NOTE)
    assert reply.status == 200 and "errors" not in reply.body
    assert _handoffs(org)[0].note == NOTE
    saved = org.fake.messages("DU0REP1")[-1]
    assert "Your handoff note for *Acme Corp* is saved" in _text(saved)
    # the ask DM now says the note is written (edited in place)
    ask = org.fake.messages("DU0REP1")[0]
    assert "Your handoff note is written" in _text(ask)

    # the job: not due after six days, offered after seven (Wednesday 2026-11-25, 12:00)
    assert _run(org, "handoffs", NOW + timedelta(days=6)).handoffs_offered == 0
    report = _run(org, "handoffs", NOW + timedelta(days=7, minutes=5))
    assert report.handoffs_offered == 1
    assert _run(org, "handoffs", NOW + timedelta(days=7, hours=1)).handoffs_offered == 0
    [offer] = _offers(org)
    assert offer.user_id == "U0FARM1"
    with db(org) as s:
        routing = s.exec(select(Routing)).one()
        assert (routing.kind, routing.source, routing.details) == ("handoff", "Enterprise", NOTE)
    # the farmer's offer, in Accounts' Chinese, carries the note
    [dm] = org.fake.messages("DU0FARM1")
    assert "有一条新线索分配给你：Acme Corp" in _text(dm)
    assert "来源：Enterprise（交接）" in _text(dm)
    assert "*关键联系人：*Li Wei, CFO &lt;li@acme.com&gt;" in json.dumps(
        dm["blocks"], ensure_ascii=False
    )
    assert "*下一步：*Kick-off call on Monday" in _text(dm)
    # the hunter still owns it until then; nobody may claim it
    assert lead_named(org, "acme").owner_id == "U0REP1"

    click(org, "U0FARM1", Action.OFFER_ACCEPT, str(offer.id), "acc")
    [answer] = responses(org, "acc")
    assert "*Acme Corp* 现在是你的客户了" in answer["text"]
    lead = lead_named(org, "acme")
    with db(org) as s:
        accounts = s.exec(select(Department).where(Department.name == "Accounts")).one()
        assert (lead.owner_id, lead.department_id, lead.stage) == ("U0FARM1", accounts.id, "won")
        assert lead.amount_cents == 5_000_000 and lead.expires_at is None
        [event] = s.exec(select(OwnershipEvent).where(OwnershipEvent.action == "handoff")).all()
        assert (event.from_owner, event.to_owner, event.actor_id) == (
            "U0REP1",
            "U0FARM1",
            "U0FARM1",
        )
        assert ownership_violations(s) == []
    [done] = _handoffs(org)
    assert (done.status, done.to_owner) == ("done", "U0FARM1")
    # the audit trail, in English and Chinese
    history = org.command("/lead", "history Acme Corp", user="U0REP1").text
    assert "handed off from Enterprise to Accounts: <@U0REP1> → <@U0FARM1>" in history
    history = org.command("/lead", "history Acme Corp", user="U0REP3").text
    assert "从 Enterprise 交接到 Accounts：<@U0REP1> → <@U0FARM1>" in history
    # the handoff post in Accounts' channel, with the note
    posts = [m for m in org.fake.messages("C0ACC") if "客户交接：Acme Corp" in _text(m)]
    assert len(posts) == 1
    assert "由 <@U0REP1>（Enterprise）赢单" in _text(posts[0])
    assert "现由 <@U0FARM1>（Accounts）负责" in _text(posts[0])
    assert "*已做出的承诺：*Onboarding in two weeks" in _text(posts[0])
    # the farmer's offer DM and the channel's line say it was a handoff, accepted
    [dm] = org.fake.messages("DU0FARM1")
    assert "你已接受 *Acme Corp*（Enterprise 赢单的客户），现在由你和你的部门负责" in _text(dm)
    lines = [m for m in org.fake.messages("C0ACC") if "（来自 Enterprise）" in _text(m)]
    assert len(lines) == 1
    assert "客户交接 *Acme Corp*（来自 Enterprise）：<@U0FARM1> 已接受" in _text(lines[0])
    # the hunter's DM says who has it; its button is gone
    ask = org.fake.messages("DU0REP1")[0]
    assert "*Acme Corp* is handed off to <@U0FARM1> (Accounts)" in _text(ask)
    assert _button(ask, Action.HANDOFF_NOTE) is None
    # the note can no longer change
    click(org, "U0REP1", Action.HANDOFF_NOTE, str(done.id), "late")
    assert "is done: <@U0FARM1> has it now" in responses(org, "late")[0]["text"]


# ── 1. the settings ─────────────────────────────────────────────────────────────────────────


def test_settings_from_slack_and_shown(server) -> None:
    org = _org(server)
    shown = org.command("/sales", "dept show Enterprise", user="U0ADMIN").text
    assert "Won customers: handed off to *Accounts* 7 days after the win" in shown
    reply = org.command("/sales", "dept set SMB handoff_to Accounts", user="U0ADMIN")
    assert "*SMB*: handoff_to is now Accounts." in reply.text
    reply = org.command("/sales", "dept set SMB handoff_after_days 0", user="U0ADMIN")
    assert "handoff_after_days is now 0" in reply.text
    shown = org.command("/sales", "dept show SMB", user="U0REP3").text
    assert "赢单客户：赢单后立即交接给 *Accounts*" in shown
    # refused: itself, a department that does not exist, out of range, by a manager
    reply = org.command("/sales", "dept set SMB handoff_to smb", user="U0ADMIN")
    assert "*SMB* cannot hand off to itself" in reply.text
    reply = org.command("/sales", "dept set SMB handoff_to Farmers", user="U0ADMIN")
    assert "There is no department called “Farmers”" in reply.text
    reply = org.command("/sales", "dept set SMB handoff_after_days 366", user="U0ADMIN")
    assert (
        "“366” is not a valid handoff_after_days: use a whole number of days from 0" in reply.text
    )
    assert "to 365" in reply.text
    reply = org.command("/sales", "dept set SMB handoff_after_days 3", user="U0MGR1")
    assert "Only a salesbot admin can do that" in reply.text
    reply = org.command("/sales", "dept set SMB handoff_to off", user="U0ADMIN")
    assert "*SMB*: handoff_to is now off." in reply.text
    shown = org.command("/sales", "dept show SMB", user="U0REP3").text
    assert "赢单客户：由赢单的销售继续负责" in shown
    with db(org) as s:
        smb = s.exec(select(Department).where(Department.name == "SMB")).one()
        assert (smb.handoff_to_id, smb.handoff_after_days) == (None, 0)


def test_setup_file_checks_handoff_with_lines(engine) -> None:
    text = (
        HANDOFF_SETUP.replace('handoff_to = "Accounts"', 'handoff_to = "Enterprise"')
        .replace("handoff_after_days = 7", "handoff_after_days = -1")
        .replace('reps = ["U0REP3"]\n', 'reps = ["U0REP3"]\nhandoff_to = "Nowhere"\n')
    )
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    found = [(e.template, e.data.get("key"), e.data["line"]) for e in caught.value.errors]
    assert found == [
        ("setup_handoff_to_itself", None, 17),
        ("setup_bad_value", "handoff_after_days", 18),
        ("setup_unknown_department", "handoff_to", 26),
    ]
    said = [render.plain(render.text(e.template_path, "en", **e.data)) for e in caught.value.errors]
    assert said[0].startswith("Line 17: handoff_to names Enterprise itself.")
    assert "use a whole number of days from 0 (at once) to 365" in said[1]
    assert said[2].startswith("Line 26: handoff_to = “Nowhere” names no department.")
    # a department named later in the file is fine
    with Session(engine) as session:
        import_setup(session=session, text=HANDOFF_SETUP)
        enterprise = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        accounts = session.exec(select(Department).where(Department.name == "Accounts")).one()
        assert enterprise.handoff_to_id == accounts.id and enterprise.handoff_after_days == 7
        assert accounts.handoff_to_id is None and accounts.handoff_after_days == 7


# ── 3. /lead handoff, at once ──────────────────────────────────────────────────────────────


def test_lead_handoff_hands_over_now_with_the_text_as_next_step(server) -> None:
    org = _org(server)
    org.command("/lead", "claim Acme Corp", user="U0REP1")
    reply = org.command("/lead", "handoff Acme Corp", user="U0REP1")
    assert "*Acme Corp* is at stage new, not won: only won customers are handed off" in reply.text
    org.command("/lead", "stage Acme Corp won 50000", user="U0REP1")
    usage = org.command("/lead", "handoff", user="U0REP1")
    assert "Usage: `/lead handoff &lt;company&gt; [note]`" in usage.text
    denied = org.command("/lead", "handoff Acme Corp", user="U0REP2")
    assert "Only <@U0REP1>, who owns *Acme Corp*, their manager (<@U0MGR1>)" in denied.text
    # the manager hands it over now; the text is the next step
    reply = org.command("/lead", "handoff Acme Corp call Li Wei about onboarding", user="U0MGR1")
    assert "*Acme Corp* goes to *Accounts* now: offered to <@U0FARM1>" in reply.text
    [handoff] = _handoffs(org)
    assert handoff.status == "offered"
    assert handoff.note == {"next_step": "call Li Wei about onboarding"}
    [dm] = org.fake.messages("DU0FARM1")
    assert "*下一步：*call Li Wei about onboarding" in _text(dm)
    again = org.command("/lead", "handoff Acme Corp", user="U0REP1")
    assert (
        "*Acme Corp* is already being handed off to *Accounts*: it is offered to <@U0FARM1>"
        in again.text
    )
    # the job does not offer it twice
    assert _run(org, "handoffs", NOW + timedelta(days=8)).handoffs_offered == 0
    assert len(_offers(org)) == 1


def test_lead_handoff_in_chinese_and_without_a_target(server) -> None:
    org = _org(server)
    _win(org, "Globex", user="U0REP3")
    assert _handoffs(org) == []  # SMB hands off to nobody
    reply = org.command("/lead", "handoff Globex", user="U0REP3")
    assert "*SMB* 没有设置交接部门，所以 *Globex* 仍由当前负责人跟进" in reply.text
    org.command("/sales", "dept set SMB handoff_to Accounts", user="U0ADMIN")
    reply = org.command("/lead", "handoff Globex 下周一开启动会", user="U0REP3")
    assert "*Globex* 现在交接给 *Accounts*：已分配给 <@U0FARM1>" in reply.text
    assert _handoffs(org)[0].note == {"next_step": "下周一开启动会"}
    # accepted: no DM of the win to edit (it was won before SMB handed off), nothing fails
    [offer] = _offers(org)
    click(org, "U0FARM1", Action.OFFER_ACCEPT, str(offer.id), "acc")
    assert lead_named(org, "globex").owner_id == "U0FARM1"
    with db(org) as s:
        assert s.exec(select(Outbox).where(col(Outbox.last_error).is_not(None))).all() == []
        assert s.exec(select(Outbox).where(col(Outbox.sent_at).is_(None))).all() == []


# ── 2. reopening cancels; 0 days hands over at once ───────────────────────────────────────


def test_reopening_the_deal_cancels_the_handoff_and_its_offer(server) -> None:
    org = _org(server)
    _win(org)
    reply = org.command("/lead", "stage Acme Corp negotiation", user="U0REP1")
    assert reply.status == 200
    [handoff] = _handoffs(org)
    assert handoff.status == "cancelled"
    ask = org.fake.messages("DU0REP1")[0]
    assert "The handoff of *Acme Corp* is cancelled" in _text(ask)
    assert _run(org, "handoffs", NOW + timedelta(days=8)).handoffs_offered == 0
    # won again: a new handoff; handed over at once, then lost: the offer is withdrawn
    org.command("/lead", "won Acme Corp 60000", user="U0REP1")
    org.command("/lead", "handoff Acme Corp", user="U0REP1")
    [offer] = _offers(org)
    org.command("/lead", "lost Acme Corp went with a competitor", user="U0REP1")
    assert [h.status for h in _handoffs(org)] == ["cancelled", "cancelled"]
    assert _offers(org)[0].status == "withdrawn"
    [dm] = org.fake.messages("DU0FARM1")
    assert "*Acme Corp* 已不再分配给你：该单已重新打开或关闭，交接已取消" in _text(dm)
    click(org, "U0FARM1", Action.OFFER_ACCEPT, str(offer.id), "late")
    assert "*Acme Corp* 已无法由你处理：已撤回" in responses(org, "late")[0]["text"]
    assert lead_named(org, "acme").owner_id is None
    with db(org) as s:
        assert ownership_violations(s) == []


def test_zero_days_offers_it_with_the_win(server) -> None:
    org = _org(server, HANDOFF_SETUP.replace("handoff_after_days = 7", "handoff_after_days = 0"))
    _win(org)
    [handoff] = _handoffs(org)
    assert handoff.status == "offered"
    [offer] = _offers(org)
    assert offer.user_id == "U0FARM1"
    assert "You won Acme Corp" in _text(org.fake.messages("DU0REP1")[0])


# ── 4. nobody accepts: a target manager assigns it ─────────────────────────────────────────


def test_all_pass_then_the_target_manager_assigns_it(server) -> None:
    org = _org(server)
    _win(org)
    org.command("/lead", "handoff Acme Corp", user="U0REP1")
    for _ in range(2):
        offer = _offers(org)[-1]
        click(org, offer.user_id, Action.OFFER_PASS, str(offer.id), f"p{offer.id}")
    with db(org) as s:
        assert s.exec(select(Routing)).one().status == "waiting"
    assert lead_named(org, "acme").owner_id == "U0REP1"  # still the hunter's meanwhile
    [ask] = org.fake.messages("DU0MGR3")
    assert "无人接受：Acme Corp" in _text(ask)
    assert "这是来自 Enterprise 的客户交接，在此之前仍由原负责人跟进：请选择负责人" in _text(ask)
    # only a member of Accounts can get it
    refused = org.command("/lead", "assign Acme Corp <@U0REP2|bo>", user="U0ADMIN")
    assert (
        "*Acme Corp* is being handed off to *Accounts*, and <@U0REP2> is not in it" in refused.text
    )
    done = org.command("/lead", "assign Acme Corp <@U0FARM2|li>", user="U0MGR3")
    assert "*Acme Corp* 已交接给 <@U0FARM2>（Accounts）" in done.text
    lead = lead_named(org, "acme")
    assert (lead.owner_id, lead.stage) == ("U0FARM2", "won")
    assert _handoffs(org)[0].status == "done"
    history = org.command("/lead", "history Acme Corp", user="U0REP1").text
    assert (
        "handed off from Enterprise to Accounts: <@U0REP1> → <@U0FARM2> (assigned by <@U0MGR3>)"
        in history
    )
    assert any("客户交接：Acme Corp" in _text(m) for m in org.fake.messages("C0ACC"))
    with db(org) as s:
        assert ownership_violations(s) == []


# ── 5. the win stays the hunter's ──────────────────────────────────────────────────────────


def _handed_off(server: LiveServer) -> None:
    """Acme Corp won by U0REP1 (Enterprise) for 50,000, accepted by U0FARM1 (Accounts)."""
    _win(server)
    server.command("/lead", "handoff Acme Corp", user="U0REP1")
    [offer] = _offers(server)
    click(server, "U0FARM1", Action.OFFER_ACCEPT, str(offer.id), "acc")
    assert lead_named(server, "acme").owner_id == "U0FARM1"


def test_the_win_stays_credited_to_the_hunter_everywhere(server) -> None:
    org = _org(server)
    org.command("/target", "set Enterprise wins 2 month", user="U0MGR1")
    org.command("/target", "set <@U0REP1|ana> revenue 100000 month", user="U0MGR1")
    org.command("/target", "set Accounts wins 2 month", user="U0ADMIN")
    _handed_off(org)
    with db(org) as s:
        ent = s.exec(select(Department).where(Department.name == "Enterprise")).one()
        acc = s.exec(select(Department).where(Department.name == "Accounts")).one()
        now = NOW + timedelta(hours=1)
        found = {(p.user_id, p.metric): p.actual for p in targets.progress(s, ent, now)}
        assert found == {("", "wins"): 1, ("U0REP1", "revenue"): 5_000_000}
        assert [p.actual for p in targets.progress(s, acc, now)] == [0]
        # reports and digests: Enterprise's win, by U0REP1; none for Accounts
        week = reports.report(s, ent, now, "week")
        assert week.wins.revenue_cents == 5_000_000
        assert [(w.name, w.owner_id) for w in week.wins.listing.items] == [("Acme Corp", "U0REP1")]
        assert [(r.user_id, r.wins) for r in week.activity.reps] == [("U0REP1", 1)]
        assert reports.report(s, acc, now, "week").wins.revenue_cents == 0
        weekly = reports.weekly_digest(s, ent, now)
        assert weekly.wins.revenue_cents == 5_000_000
        # the export: Enterprise's lists the customer it won, with who won it
        [row] = [r for r in lead_rows(s, ent.id) if r[0] == "Acme Corp"]
        assert (row[2], row[3], row[-2], row[-1]) == ("U0FARM1", "won", "U0REP1", "Enterprise")
        [row] = [r for r in lead_rows(s, acc.id) if r[0] == "Acme Corp"]
        assert (row[2], row[-2], row[-1]) == ("U0FARM1", "U0REP1", "Enterprise")
    shown = org.command("/target", "show Enterprise", user="U0MGR1").text
    assert "*Wins* this month: `█████░░░░░` 50% — 1 of 2" in shown


# ── 6. both agendas ─────────────────────────────────────────────────────────────────────────


def test_both_agendas_list_handoffs_waiting_and_done(server) -> None:
    org = _org(server)
    _handed_off(org)
    _win(org, "Globex", user="U0REP2")  # due next Wednesday
    ent = org.command("/sales", "agenda Enterprise", user="U0MGR1").text
    assert "*Handoffs* (1 waiting · 1 done since the last meeting)" in ent
    assert "*Globex* Enterprise → Accounts: due 2026-11-25 12:00 (UTC+8) · won by <@U0REP2>" in ent
    assert (
        "*Acme Corp* Enterprise → Accounts: <@U0REP1> → <@U0FARM1>, 2026-11-18 12:00 (UTC+8)" in ent
    )
    acc = org.command("/sales", "agenda Accounts", user="U0MGR3").text
    assert "*客户交接*（等待中 1 个 · 上次例会以来完成 1 个）" in acc
    assert (
        "*Globex* Enterprise → Accounts：将于 2026-11-25 12:00 (UTC+8) 交接 · 赢单人 <@U0REP2>"
        in acc
    )
    assert (
        "*Acme Corp* Enterprise → Accounts：<@U0REP1> → <@U0FARM1>，2026-11-18 12:00 (UTC+8)" in acc
    )
    # a department with no handoffs shows no such section
    smb = org.command("/sales", "agenda SMB", user="U0MGR2").text
    assert "客户交接" not in smb


# ── races, retired leads, help ─────────────────────────────────────────────────────────────


@pytest.fixture
def racing(db_url: str, fake_slack, tmp_path: Path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    yield from racing_server(db_url, fake_slack, tmp_path, HANDOFF_SETUP)


def test_accept_and_reopen_at_the_same_moment_leave_one_outcome(racing: LiveServer) -> None:
    """The farmer's Accept and the hunter reopening the deal, sent together to several web
    processes, round after round: either the handoff is done (the farmer owns the won
    customer and the reopen is refused) or it is cancelled (the hunter keeps the reopened
    deal and the Accept is told so), never both, and the audit trail replays."""
    live = racing
    for round_ in range(4):
        name = f"Race {round_} Co"
        _win(live, name)
        live.command("/lead", f"handoff {name}", user="U0REP1")
        offer = _offers(live)[-1]
        at_once(
            [
                partial(click, live, offer.user_id, Action.OFFER_ACCEPT, str(offer.id), "a"),
                partial(live.command, "/lead", f"stage {name} negotiation", user="U0REP1"),
            ]
        )
        handoff = _handoffs(live)[-1]
        with db(live) as s:
            lead = s.exec(select(Lead).where(Lead.id == handoff.lead_id)).one()
        if handoff.status == "done":
            assert (lead.owner_id, lead.stage) == (offer.user_id, "won")
        else:
            assert handoff.status == "cancelled"
            assert (lead.owner_id, lead.stage) == ("U0REP1", "negotiation")
    with db(live) as s:
        assert ownership_violations(s) == []


def test_merging_or_deleting_a_lead_cancels_its_handoff(server) -> None:
    org = _org(server)
    _win(org)
    _win(org, "Globex")
    org.command("/lead", "handoff Globex", user="U0REP1")
    org.command("/lead", "delete Acme Corp", user="U0MGR1")
    org.command("/lead", "delete Globex", user="U0MGR1")
    assert [h.status for h in _handoffs(org)] == ["cancelled", "cancelled"]
    assert [o.status for o in _offers(org)] == ["withdrawn"]
    assert _run(org, "handoffs", NOW + timedelta(days=8)).handoffs_offered == 0


def test_help_names_the_handoff(server) -> None:
    org = _org(server)
    assert (
        "`/lead handoff &lt;company&gt; [note]`" in org.command("/lead", "help", user="U0REP1").text
    )
    assert "`/lead handoff &lt;公司&gt; [说明]`" in org.command("/lead", "help", user="U0REP3").text
    sales = org.command("/sales", "dept help", user="U0ADMIN").text
    assert "handoff_to (Accounts, off), handoff_after_days (7)" in sales


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (as tests/test_migrations.py has)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    pg = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield pg.create_database(name)
    pg.drop_database(name)


def test_migration_0010_goes_down_and_up_again_and_holds_its_rules(empty_url: str) -> None:
    """The schema change of §10, both ways, on an empty database of each kind; then the
    database refuses a department handing off to itself and two open handoffs of one lead."""
    engine = make_engine(empty_url)
    config = alembic_config(engine)
    before = ScriptDirectory.from_config(config).get_revision("0010").down_revision
    upgrade(engine)
    command.downgrade(config, str(before))
    upgrade(engine)
    t = "2026-11-18 04:00:00"
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO department (id, name, name_key, timezone, locale, claim_days,"
                " warn_days, max_leads_per_rep, created_at, updated_at)"
                " VALUES (1, 'A', 'a', 'UTC', 'en', 14, 3, 0, :t, :t)"
            ),
            {"t": t},
        )
        c.execute(
            text(
                "INSERT INTO lead (id, name, name_key, stage, created_at, updated_at, version)"
                " VALUES (1, 'L', 'l', 'won', :t, :t, 0)"
            ),
            {"t": t},
        )
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("UPDATE department SET handoff_to_id = 1 WHERE id = 1"))
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("UPDATE department SET handoff_after_days = 366 WHERE id = 1"))
    insert = text(
        "INSERT INTO handoff (lead_id, won_at, due_at, status, created_at)"
        " VALUES (1, :t, :t, :s, :t)"
    )
    with engine.begin() as c:
        c.execute(insert, {"t": t, "s": "due"})
        c.execute(insert, {"t": t, "s": "done"})
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(insert, {"t": t, "s": "offered"})
    engine.dispose()


def test_salesbot_run_job_handoffs_at_a_time(server) -> None:
    """``salesbot run-job handoffs --at …``: the real command, as the worker runs it hourly."""
    org = _org(server)
    _win(org)
    env = {
        "DATABASE_URL": org.db_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": org.fake.url,
    }
    early = run_salesbot("run-job", "handoffs", "--at", "2026-11-24T12:00+08:00", env=env)
    assert early.returncode == 0, early.stderr
    assert "handoff offered" not in early.stdout
    due = run_salesbot("run-job", "handoffs", "--at", "2026-11-25T12:05+08:00", env=env)
    assert due.returncode == 0, due.stderr
    assert "1 handoff offered to the receiving department." in due.stdout
    assert _handoffs(org)[0].status == "offered"
    assert "有一条新线索分配给你：Acme Corp" in _text(org.fake.messages("DU0FARM1")[0])


def test_the_win_dm_and_the_note_form_in_chinese(server) -> None:
    org = _org(server)
    org.command("/sales", "dept set SMB handoff_to Accounts", user="U0ADMIN")
    _win(org, "Globex", user="U0REP3")
    [handoff] = _handoffs(org)
    [dm] = org.fake.messages("DU0REP3")
    assert "恭喜赢单：Globex" in _text(dm)
    assert "*Globex* 将于 2026-11-25 12:00 (UTC+8) 交接给负责维护赢单客户的 *Accounts*" in _text(dm)
    assert _button(dm, Action.HANDOFF_NOTE) == str(handoff.id) and "填写交接说明" in _text(dm)
    view = _open_note(org, "U0REP3", handoff.id, "zh")
    assert view is not None and view["title"]["text"] == "交接说明"
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels == ["关键联系人", "已做出的承诺", "风险", "下一步"]
    reply = _submit(org, "U0REP3", view, {"next_step": "很" * 2001})
    assert reply.json()["errors"] == {
        "next_step": "“下一步”最多 2000 个字符，当前 2001 个。"
        "请精简，或把详细内容留在 CRM 中并在此附上链接。"
    }
    reply = _submit(org, "U0REP3", view, {"key_contacts": "王芳（采购）", "next_step": "周一回访"})
    assert "errors" not in reply.body
    saved = org.fake.messages("DU0REP3")[-1]
    assert "*Globex* 的交接说明已保存。它会在 2026-11-25 12:00 (UTC+8) 随客户一起交接。" in _text(
        saved
    )
