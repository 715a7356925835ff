"""``/log`` through the real endpoint: the command, undo, the modal (type-ahead, inline
errors, submission), the message shortcut and the Log button of an expiry warning."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.views import View
from sqlmodel import select

from bot.devslack import modal
from bot.devslack.signing import button_payload, payload_body
from bot.store.models import Activity, Department, Lead
from handlers.views.log_modal import modal as build_modal
from tests.conftest import LiveServer
from tests.leads_support import click, db, lead_named, responses


def _activities(server: LiveServer) -> list[Activity]:
    with db(server) as session:
        return list(session.exec(select(Activity).order_by(Activity.id)).all())


def test_log_renews_own_claim_and_undo(org) -> None:
    org.command("/lead", "claim Acme acme.com", user="U0REP1")
    with db(org) as session:
        lead = session.exec(select(Lead)).one()
        lead.expires_at = datetime.now(UTC) + timedelta(days=1)
        session.add(lead)
        session.commit()
    reply = org.command("/log", "call acme.com asked for pricing", user="U0REP1")
    assert "Logged a call with *Acme*: “asked for pricing”. It stays yours until" in reply.text
    (activity,) = _activities(org)
    assert (activity.kind, activity.user_id, activity.note) == (
        "call",
        "U0REP1",
        "asked for pricing",
    )
    renewed = lead_named(org, "acme")
    assert renewed.expires_at > datetime.now(UTC) + timedelta(days=13)
    assert renewed.last_activity_at is not None
    # the reply shows the renewed protection, as stored, on the department's (Shanghai) calendar
    local_day = renewed.expires_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert f"until {local_day.isoformat()}." in reply.text

    reply = org.command("/log", "拜访 Acme", user="U0REP1")
    assert "Logged a visit with *Acme*." in reply.text
    reply = org.command("/log", "undo", user="U0REP1")
    assert "Removed your visit with *Acme*" in reply.text
    assert [a.kind for a in _activities(org)] == ["call"]

    with db(org) as session:
        (activity,) = session.exec(select(Activity)).all()
        activity.created_at = datetime.now(UTC) - timedelta(minutes=11)
        session.add(activity)
        session.commit()
    reply = org.command("/log", "undo", user="U0REP1")
    assert "nothing to undo" in reply.text
    assert len(_activities(org)) == 1


def test_refused_on_another_departments_lead_and_bad_kind(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    reply = org.command("/log", "电话 ACME Corp. 询价", user="U0REP3")
    assert "由其他部门的 <@U0REP1>（Enterprise）负责" in reply.text
    reply = org.command("/log", "dance Acme", user="U0REP2")
    assert "“dance” is not an activity kind" in reply.text and "`visit`" in reply.text
    reply = org.command("/log", "call Acme teammate helping", user="U0REP2")
    assert "It belongs to <@U0REP1> (Enterprise)" in reply.text
    assert [a.user_id for a in _activities(org)] == ["U0REP2"]
    reply = org.command("/log", "call Acme", user="U0NOBODY")
    assert "not in a department yet" in reply.text


def _button(reply) -> dict:  # type: ignore[no-untyped-def]
    return next(e for b in reply.json()["blocks"] if b["type"] == "actions" for e in b["elements"])


def test_unowned_company_in_the_pool_is_logged_with_a_claim_button(org) -> None:
    org.command("/lead", 'claim "Brand New Co"', user="U0REP2")
    org.command("/lead", 'release "Brand New Co"', user="U0REP2")
    reply = org.command("/log", 'demo "Brand New Co" showed the dashboard', user="U0REP2")
    assert "Logged a demo with *Brand New Co*: “showed the dashboard”" in reply.text
    assert "has no owner yet" in reply.text
    button = _button(reply)
    lead = lead_named(org, "brandnew")
    assert lead.owner_id is None and button["value"] == str(lead.id)
    click(org, "U0REP2", "lead_claim", button["value"], "claim-new")
    assert "is now yours" in responses(org, "claim-new")[0]["text"]
    assert lead_named(org, "brandnew").owner_id == "U0REP2"


def test_unknown_customer_is_proposed_not_created(org) -> None:
    """The note run into the name made a fake customer others could claim: now nothing is
    created until the rep presses Add, which claims and logs at once."""
    reply = org.command("/log", "拜访 华为技术有限公司拜访了采购部", user="U0REP3")
    assert "*华为技术有限公司拜访了采购部* 还不是客户，所以尚未记录" in reply.text
    assert "/log 拜访 华为技术有限公司：拜访了采购部" in reply.text
    button = _button(reply)
    assert button["text"]["text"] == "添加 华为技术有限公司拜访了采购部 为新线索并记录"
    with db(org) as session:
        assert session.exec(select(Lead)).all() == []
    assert _activities(org) == []

    reply = org.command("/log", "visit 华为技术有限公司：拜访了采购部", user="U0REP1")
    assert "*华为技术有限公司* is not a lead yet, so nothing was logged" in reply.text
    assert "log a visit (“拜访了采购部”)?" in reply.text
    button = _button(reply)
    assert button["text"]["text"] == "Add 华为技术有限公司 as a new lead and log"
    click(org, "U0REP1", "log_new_lead", button["value"], "add")
    (done,) = responses(org, "add")
    assert done["replace_original"] is True
    assert (
        "Logged a visit with *华为技术有限公司*: “拜访了采购部”. It stays yours until"
        in (done["text"])
    )
    lead = lead_named(org, "华为技术")
    assert (lead.owner_id, lead.name) == ("U0REP1", "华为技术有限公司")
    assert lead.last_activity_at is not None
    (activity,) = _activities(org)
    assert (activity.lead_id, activity.note) == (lead.id, "拜访了采购部")
    assert activity.created_lead

    # /log undo takes back what that log created: the activity and the lead
    reply = org.command("/log", "undo", user="U0REP1")
    assert "Removed your visit with *华为技术有限公司* (“拜访了采购部”)." in reply.text
    assert "was added by that log, so it is no longer a lead either" in reply.text
    assert lead_named(org, "华为技术") is None and _activities(org) == []
    reply = org.command("/lead", "claim 华为技术有限公司", user="U0REP2")
    assert "is now yours" in reply.text


def test_undo_keeps_a_created_lead_someone_touched(org) -> None:
    reply = org.command("/log", "email Initech: sent the deck", user="U0REP1")
    assert "log an email (“sent the deck”)?" in reply.text
    value = _button(reply)["value"]
    click(org, "U0REP1", "log_new_lead", value, "add")
    assert "Logged an email with *Initech*: “sent the deck”" in responses(org, "add")[0]["text"]
    org.command("/lead", "stage Initech contacted", user="U0REP1")
    reply = org.command("/log", "undo", user="U0REP1")
    assert "Removed your email with *Initech*" in reply.text
    assert "no longer a lead" not in reply.text
    assert lead_named(org, "initech").owner_id == "U0REP1"
    # pressed again: the customer exists now, so it is logged on that lead, nothing new
    click(org, "U0REP1", "log_new_lead", value, "again")
    assert "Logged an email with *Initech*" in responses(org, "again")[0]["text"]
    with db(org) as session:
        assert len(session.exec(select(Lead)).all()) == 1
    # another department's rep pressing it is refused, naming the owner
    click(org, "U0REP3", "log_new_lead", value, "other")
    assert "由其他部门的 <@U0REP1>（Enterprise）负责" in responses(org, "other")[0]["text"]


def _open_modal(org: LiveServer, user: str) -> dict:
    reply = org.command("/log", "", user=user, channel="C0ENT")
    assert reply.status == 200
    call = org.fake.last("views.open")
    assert call.body["trigger_id"]
    return call.body["view"]


def _suggest(org: LiveServer, user: str, view: dict):  # type: ignore[no-untyped-def]
    def suggest(block_id: str, action_id: str, value: str) -> list[dict]:
        reply = org.post(payload_body(modal.suggestion(user, view, block_id, action_id, value)))
        return reply.json()["options"]

    return suggest


def _submit(org: LiveServer, user: str, view: dict, answers: dict):  # type: ignore[no-untyped-def]
    values = modal.state_values(view, answers, _suggest(org, user, view))
    return org.post(payload_body(modal.submission(user, view, values)))


def test_modal_type_ahead_inline_errors_and_submission(org) -> None:
    org.command("/lead", "claim Acme Widgets", user="U0REP1")
    org.command("/lead", "claim Globex", user="U0REP3")
    view = _open_modal(org, "U0REP1")
    View(**view).validate_json()  # raises on a view Slack would refuse

    options = _suggest(org, "U0REP1", view)("company", "company", "acm")
    assert [o["text"]["text"] for o in options] == ["Acme Widgets", "New: acm"]

    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    reply = _submit(
        org, "U0REP1", view, {"kind": "demo", "company": "Acme Widgets", "date": tomorrow}
    )
    data = reply.json()
    assert data["response_action"] == "errors" and list(data["errors"]) == ["date"]
    assert "in the future" in data["errors"]["date"]

    reply = _submit(org, "U0REP1", view, {"kind": "demo", "company": "Globex"})
    data = reply.json()
    assert list(data["errors"]) == ["company"] and "@U0REP3 (SMB)" in data["errors"]["company"]
    assert _activities(org) == []

    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    reply = _submit(
        org,
        "U0REP1",
        view,
        {"kind": "meeting", "company": "Acme Widgets", "note": "kick-off", "date": yesterday},
    )
    assert reply.status == 200 and "errors" not in reply.body
    (activity,) = _activities(org)
    assert (activity.kind, activity.note) == ("meeting", "kick-off")
    assert activity.occurred_at.date() <= date.fromisoformat(yesterday) + timedelta(days=1)
    sent = org.fake.last("chat.postEphemeral").body
    assert sent["channel"] == "C0ENT" and sent["user"] == "U0REP1"
    assert "Logged a meeting with *Acme Widgets*" in sent["text"]


def test_modal_required_fields(org) -> None:
    view = _open_modal(org, "U0REP2")
    reply = _submit(org, "U0REP2", view, {"kind": ""})
    assert set(reply.json()["errors"]) == {"kind", "company"}


def test_message_shortcut_and_warning_button_open_the_modal(org) -> None:
    org.post(
        payload_body(
            {
                "type": "message_action",
                "callback_id": "log_activity_shortcut",
                "trigger_id": "1.2.shortcut",
                "team": {"id": "T0TEAM"},
                "user": {"id": "U0REP3"},
                "channel": {"id": "C0SMB"},
                "message": {"type": "message", "text": "客户说下周签约", "ts": "1.1"},
                "response_url": org.fake.response_url("shortcut"),
            }
        )
    )
    view = org.fake.last("views.open").body["view"]
    note = next(b for b in view["blocks"] if b["block_id"] == "note")
    assert note["element"]["initial_value"] == "客户说下周签约"
    assert view["title"]["text"] == "记录跟进"

    org.command("/lead", "claim Hooli", user="U0REP3")
    lead = lead_named(org, "hooli")
    org.action(
        button_payload(
            user="U0REP3",
            action_id="lead_log",
            value=str(lead.id),
            response_url=org.fake.response_url("warn"),
        )
    )
    view = org.fake.last("views.open").body["view"]
    company = next(b for b in view["blocks"] if b["block_id"] == "company")
    assert company["element"]["initial_option"]["value"] == f"lead:{lead.id}"
    reply = _submit(org, "U0REP3", view, {"kind": "电话"})
    assert reply.status == 200 and "errors" not in reply.body
    assert [(a.kind, a.lead_id) for a in _activities(org)] == [("call", lead.id)]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_modal_is_valid_block_kit(locale: str) -> None:
    lead = Lead(id=7, name="Acme", name_key="acme")
    view = build_modal(locale, today=date(2026, 11, 23), lead=lead, note="x" * 5000, channel="C1")
    View(**view).validate_json()
    assert json.loads(view["private_metadata"]) == {"channel": "C1"}


def test_a_note_over_the_limit_is_refused_not_cut(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    long_note = "x" * 2001
    reply = org.command("/log", f"call Acme {long_note}", user="U0REP1")
    assert "The note is 2,001 characters long; a note holds at most 2,000." in reply.text
    assert _activities(org) == []
    reply = org.command("/log", f"call Acme {'y' * 2000}", user="U0REP1")
    assert "Logged a call with *Acme*" in reply.text
    assert len(_activities(org)[0].note) == 2000

    view = _open_modal(org, "U0REP3")
    reply = _submit(org, "U0REP3", view, {"kind": "call", "company": "Acme", "note": long_note})
    errors = reply.json()["errors"]
    assert errors["note"] == "备注有 2001 个字符，最多只能 2000 个。请缩短，或分成两条记录。"
    assert len(_activities(org)) == 1


def test_modal_reports_every_field_error_at_once(org) -> None:
    org.command("/lead", "claim Globex", user="U0REP3")
    view = _open_modal(org, "U0REP1")
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    reply = _submit(org, "U0REP1", view, {"company": "Globex", "note": "n" * 2500, "date": future})
    errors = reply.json()["errors"]
    assert set(errors) == {"company", "note", "date"}
    assert "@U0REP3 (SMB)" in errors["company"]
    assert errors["note"].startswith("The note is 2,500 characters long")
    assert "is in the future" in errors["date"]
    reply = _submit(org, "U0REP1", view, {"kind": "", "note": "n" * 2500})
    assert set(reply.json()["errors"]) == {"kind", "company", "note"}
    assert _activities(org) == []


def test_modal_new_company_claims_and_logs(org) -> None:
    view = _open_modal(org, "U0REP2")
    reply = _submit(org, "U0REP2", view, {"kind": "other", "company": "Initech"})
    assert reply.status == 200 and "errors" not in reply.body
    lead = lead_named(org, "initech")
    assert lead.owner_id == "U0REP2"
    sent = org.fake.last("chat.postEphemeral").body
    assert "Logged an activity with *Initech*. It stays yours until" in sent["text"]
    assert "Removed your activity with *Initech*" in org.command("/log", "undo", user="U0REP2").text
    assert lead_named(org, "initech") is None
    # a rep at the department's cap: said on the company field, nothing created
    with db(org) as session:
        department = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        department.max_leads_per_rep = 1
        session.add(department)
        session.commit()
    org.command("/lead", "claim Hooli", user="U0REP2")
    reply = _submit(org, "U0REP2", view, {"kind": "call", "company": "Initech"})
    errors = reply.json()["errors"]
    assert list(errors) == ["company"] and errors["company"].startswith("You already hold 1 open")
    assert lead_named(org, "initech") is None


def test_any_activity_sets_last_activity_shown_by_who(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    assert "last activity —" in org.command("/lead", "who Acme", user="U0REP2").text
    org.command("/log", "call Acme helped out", user="U0REP2")  # a teammate, not the owner
    who = org.command("/lead", "who Acme", user="U0REP2").text
    assert "last activity —" not in who and "last activity <!date^" in who
    org.command("/lead", "release Acme", user="U0REP1")
    org.command("/log", "email Acme: follow-up", user="U0REP2")  # a lead in the pool
    lead = lead_named(org, "acme")
    assert lead.owner_id is None and lead.last_activity_at is not None
    org.command("/log", "undo", user="U0REP2")
    org.command("/log", "undo", user="U0REP2")
    assert lead_named(org, "acme").last_activity_at is None


def test_notes_read_as_typed(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    typed = "call Acme Q&amp;A with <@U0REP2|bo> about <http://acme.com/x|acme.com/x> &lt;3"
    reply = org.command("/log", typed, user="U0REP1")
    assert "Logged a call with *Acme*: “Q&amp;A with @bo about acme.com/x &lt;3”" in reply.text
    assert "<@U0REP2" not in reply.text  # a note cannot ping
    (activity,) = _activities(org)
    assert activity.note == "Q&A with @bo about acme.com/x <3"  # as the CSV export writes it


def test_articles_in_replies(org) -> None:
    org.command("/lead", "claim Acme", user="U0REP1")
    for kind, said in (
        ("email", "Logged an email with *Acme*"),
        ("other", "Logged an activity with *Acme*"),
        ("call", "Logged a call with *Acme*"),
    ):
        assert said in org.command("/log", f"{kind} Acme", user="U0REP1").text
    org.command("/lead", "claim Globex", user="U0REP3")
    reply = org.command("/log", "邮件 Globex 发了报价", user="U0REP3")
    assert "已记录一条跟进：*Globex*（邮件）：“发了报价”。" in reply.text
    reply = org.command("/log", "undo", user="U0REP3")
    assert "已删除你的一条跟进记录（邮件，*Globex*）：“发了报价”。" in reply.text
