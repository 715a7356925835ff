"""New leads through the rotation (DESIGN §8), against the real ``salesbot serve``: ``/lead
new``, the offer's DM with Accept / Pass and its channel line, time-outs in working time, the
managers' assignment, claims while a lead is offered, away and capped reps skipped.

The clock is pinned at Wednesday 2026-11-18 12:00 in Shanghai (the company's zone), inside the
default working hours 09:00–18:00.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlmodel import select

from bot import workdays
from bot.ids import Action
from bot.services.audit import ownership_violations
from bot.store.db import make_engine
from bot.store.models import Lead, Offer, OwnershipEvent, Routing
from jobs.runner import run_job
from tests.conftest import SETUP_TOML, LiveServer, import_setup_text
from tests.digest_support import client_for
from tests.leads_support import click, db, lead_named, responses

ROUTED_SETUP = 'default_department = "Enterprise"\n' + SETUP_TOML


def _org(server: LiveServer, setup: str = ROUTED_SETUP) -> LiveServer:
    import_setup_text(server.db_url, setup)
    return server


def _offers(server: LiveServer) -> list[Offer]:
    with db(server) as s:
        return list(s.exec(select(Offer).order_by(Offer.id)))


def _dm_blocks(server: LiveServer, user: str) -> list[dict]:
    return server.fake.messages("D" + user)


def _button(message: dict, action: str) -> str | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action:
                return element.get("value")
    return None


def _text(message: dict) -> str:
    return message.get("text", "") + json.dumps(message.get("blocks", []), ensure_ascii=False)


def _run_offers(server: LiveServer, at: datetime):
    return run_job(
        "offers", engine=make_engine(server.db_url), client=client_for(server.fake), now=at
    )


def test_a_new_lead_is_offered_to_the_first_rep_who_accepts_it(server) -> None:
    org = _org(server)
    reply = org.command("/lead", "new Acme Corp acme.com employees=1200 country=de", user="U0REP2")
    assert reply.json()["response_type"] == "ephemeral"
    assert "*Acme Corp* goes to *Enterprise*: offered to <@U0REP1>" in reply.text
    # the rep's DM, with the facts and both buttons, due 15 working minutes later
    [dm] = _dm_blocks(org, "U0REP1")
    assert "New lead for you: Acme Corp" in _text(dm)
    assert "acme.com · 1200 employees · DE" in _text(dm)
    assert "accept by 2026-11-18 12:15" in _text(dm)
    offer_id = _button(dm, Action.OFFER_ACCEPT)
    assert offer_id and _button(dm, Action.OFFER_PASS) == offer_id
    # one line in the department's channel
    [line] = org.fake.messages("C0ENT")
    assert "New lead *Acme Corp* from " in _text(line) and "offered to <@U0REP1>" in _text(line)

    click(org, "U0REP1", Action.OFFER_ACCEPT, offer_id, "acc")
    [answer] = responses(org, "acc")
    assert "*Acme Corp* is yours now, protected until 2026-12-02" in answer["text"]
    lead = lead_named(org, "acme")
    assert (lead.owner_id, lead.employees, lead.country) == ("U0REP1", 1200, "DE")
    # the DM lost its buttons, the channel line says who took it and how fast
    [dm] = _dm_blocks(org, "U0REP1")
    assert _button(dm, Action.OFFER_ACCEPT) is None and "You accepted *Acme Corp*" in _text(dm)
    [line] = org.fake.messages("C0ENT")
    assert "accepted by <@U0REP1> after 0 working minutes" in _text(line)
    history = org.command("/lead", "history Acme Corp", user="U0REP1").text
    assert "came in from <@U0REP2>" in history
    assert "<@U0REP1> (Enterprise) accepted, from <@U0REP2>" in history
    with db(org) as s:
        assert ownership_violations(s) == []
        routing = s.exec(select(Routing)).one()
        assert (routing.status, routing.owner_id, routing.working_minutes) == (
            "accepted",
            "U0REP1",
            0,
        )
    # a second click finds it settled
    click(org, "U0REP1", Action.OFFER_ACCEPT, offer_id, "again")
    assert "no longer yours to answer" in responses(org, "again")[0]["text"]


def test_the_rotation_is_fair_and_pass_moves_on_until_managers_assign(server) -> None:
    org = _org(server)
    org.command("/lead", "new First Co", user="U0MGR1")
    org.command("/lead", "new Second Co", user="U0MGR1")
    org.command("/lead", "new Third Co", user="U0MGR1")
    # least recently offered first: two leads go to two reps, the third back to the first
    assert [o.user_id for o in _offers(org)] == ["U0REP1", "U0REP2", "U0REP1"]
    assert "salesbot_offers_open 3.0" in org.get("/metrics").body
    first = _offers(org)[0]
    click(org, "U0REP1", Action.OFFER_PASS, str(first.id), "pass1")
    assert "it is offered to <@U0REP2> now" in responses(org, "pass1")[0]["text"]
    second = _offers(org)[-1]
    assert second.user_id == "U0REP2"
    click(org, "U0REP2", Action.OFFER_PASS, str(second.id), "pass2")
    assert (
        "nobody else is available, so it waits for a manager" in responses(org, "pass2")[0]["text"]
    )
    # the manager's DM names who passed and carries the menu of people
    [ask] = org.fake.messages("DU0MGR1")
    assert "Nobody took First Co" in _text(ask)
    assert "<@U0REP1> (passed), <@U0REP2> (passed)" in _text(ask)
    picks = [b for b in ask["blocks"] if b.get("block_id", "").startswith(Action.ROUTING_ASSIGN)]
    assert picks and picks[0]["elements"][0]["type"] == "users_select"
    # the status shows the rotation and what is open
    shown = org.command("/sales", "routing", user="U0REP1").text
    assert "Routing of Enterprise" in shown
    assert "*First Co* from <@U0MGR1>: waiting for a manager" in shown
    # a rep may not assign; the manager does, with the command
    refused = org.command("/lead", "assign First Co <@U0REP2|bo>", user="U0REP1")
    assert "Only a manager of *Enterprise*" in refused.text
    done = org.command("/lead", "assign First Co <@U0REP2|bo>", user="U0MGR1")
    assert "*First Co* is assigned to <@U0REP2> (Enterprise)" in done.text
    assert lead_named(org, "first").owner_id == "U0REP2"
    [ask] = org.fake.messages("DU0MGR1")
    assert "*First Co* is settled: <@U0REP2> has it" in _text(ask)
    history = org.command("/lead", "history First Co", user="U0MGR1").text
    assert "<@U0MGR1> assigned it to <@U0REP2> (Enterprise)" in history


def test_assign_from_the_managers_menu(server) -> None:
    org = _org(server)
    org.command("/lead", "new Lonely Co", user="U0MGR1")
    for offer in _offers(org):
        click(org, offer.user_id, Action.OFFER_PASS, str(offer.id), f"p{offer.id}")
    offers = _offers(org)
    click(org, offers[-1].user_id, Action.OFFER_PASS, str(offers[-1].id), "last")
    with db(org) as s:
        routing = s.exec(select(Routing)).one()
        assert routing.status == "waiting"
    payload = {
        "type": "block_actions",
        "user": {"id": "U0MGR1"},
        "team": {"id": "T0TEAM"},
        "channel": {"id": "DU0MGR1"},
        "trigger_id": "1.2.3",
        "response_url": org.fake.response_url("menu"),
        "actions": [
            {
                "type": "users_select",
                "action_id": Action.ROUTING_ASSIGN,
                "block_id": f"{Action.ROUTING_ASSIGN}:{routing.id}",
                "selected_user": "U0REP1",
                "action_ts": "1",
            }
        ],
    }
    org.action(payload)
    assert "*Lonely Co* is assigned to <@U0REP1>" in responses(org, "menu")[0]["text"]
    assert lead_named(org, "lonely").owner_id == "U0REP1"
    # the rep is told
    assert any(
        "*Lonely Co* is assigned to <@U0REP1>" in _text(m) for m in org.fake.messages("DU0REP1")
    )


def test_a_time_out_moves_the_offer_on_in_working_time(server) -> None:
    org = _org(server)
    org.command("/lead", "new Slow Co", user="U0MGR1")
    [offer] = _offers(org)
    assert offer.due_at - offer.offered_at == timedelta(minutes=15)
    report = _run_offers(org, datetime(2026, 11, 18, 4, 14, tzinfo=UTC))
    assert report.offers_moved == 0
    report = _run_offers(org, datetime(2026, 11, 18, 4, 16, tzinfo=UTC))
    assert report.offers_moved == 1
    first, second = _offers(org)
    assert (first.status, second.user_id, second.status) == ("timed_out", "U0REP2", "open")
    [dm] = _dm_blocks(org, "U0REP1")
    assert "Time ran out on *Slow Co*" in _text(dm) and _button(dm, Action.OFFER_ACCEPT) is None
    # the late Accept is told, and owns nothing
    click(org, "U0REP1", Action.OFFER_ACCEPT, str(first.id), "late")
    assert "the time to accept ran out" in responses(org, "late")[0]["text"]
    assert lead_named(org, "slow").owner_id is None


def test_working_minutes_skip_nights_weekends_and_holidays() -> None:
    shanghai = SimpleNamespace(
        timezone="Asia/Shanghai",
        work_hours="09:00-18:00",
        holidays="CN",
        extra_holidays=None,
        extra_workdays=None,
    )
    # Friday 17:55 → Monday 09:10 for 15 minutes
    friday = datetime(2026, 11, 20, 9, 55, tzinfo=UTC)
    due = workdays.add_working_minutes(shanghai, friday, 15)
    assert due == datetime(2026, 11, 23, 1, 10, tzinfo=UTC)
    assert workdays.working_minutes(shanghai, friday, due) == 15
    # Wednesday 30 September 17:50: 10 minutes, the National Day week off, then 8 October
    before = datetime(2026, 9, 30, 9, 50, tzinfo=UTC)
    assert workdays.add_working_minutes(shanghai, before, 15) == datetime(
        2026, 10, 8, 1, 5, tzinfo=UTC
    )
    # a night offer counts from the next opening
    night = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    assert workdays.add_working_minutes(shanghai, night, 15) == datetime(
        2026, 11, 19, 1, 15, tzinfo=UTC
    )


def test_claims_while_offered(server) -> None:
    org = _org(server)
    org.command("/lead", "new Hot Co", user="U0MGR1")
    refused = org.command("/lead", "claim Hot Co", user="U0REP2")
    assert "*Hot Co* is being offered to <@U0REP1> until 2026-11-18 12:15" in refused.text
    refused = org.command("/lead", "claim Hot Co", user="U0REP3")  # SMB reads Chinese
    assert "*Hot Co* 正分配给 <@U0REP1>，等待至 2026-11-18 12:15" in refused.text
    assert lead_named(org, "hot").owner_id is None
    # the offered rep's own claim accepts the offer
    claimed = org.command("/lead", "claim Hot Co", user="U0REP1")
    assert "is now yours" in claimed.text
    [offer] = _offers(org)
    assert offer.status == "accepted"
    with db(org) as s:
        assert s.exec(select(Routing)).one().status == "accepted"


def test_away_and_capped_reps_are_skipped_and_away_withdraws_open_offers(server) -> None:
    setup = ROUTED_SETUP.replace("max_leads_per_rep = 200", "max_leads_per_rep = 1")
    org = _org(server, setup)
    org.command("/away", "today", user="U0REP1")
    org.command("/lead", "new Away Co", user="U0MGR1")
    assert [o.user_id for o in _offers(org)] == ["U0REP2"]
    shown = org.command("/sales", "routing Enterprise", user="U0MGR1").text
    assert "<@U0REP1> — away until 2026-11-18" in shown
    # REP2 holds one open offer: at the cap, so the next lead waits for a manager
    reply = org.command("/lead", "new Capped Co", user="U0MGR1")
    assert "none of its reps is available" in reply.text
    # REP2 goes away now: the open offer is withdrawn at once; nobody is left
    org.command("/away", "today", user="U0REP2")
    assert [o.status for o in _offers(org)] == ["withdrawn"]
    dm = _dm_blocks(org, "U0REP2")[0]
    assert "no longer offered to you, as you are away" in _text(dm)


def test_existing_customers_are_not_created_twice(server) -> None:
    org = _org(server)
    org.command("/lead", "claim Known Co known.com", user="U0REP2")
    reply = org.command("/lead", "new Known Company known.com", user="U0REP1")
    assert "*Known Co* is already a customer of <@U0REP2> (Enterprise)" in reply.text
    assert _offers(org) == []
    dms = _dm_blocks(org, "U0REP2")
    assert len(dms) == 1 and "came in again from <@U0REP1>" in _text(dms[0])
    org.command("/lead", "new Known Co", user="U0REP1")
    assert len(_dm_blocks(org, "U0REP2")) == 1  # once a day per lead


def test_chinese_department_reads_its_offer_in_chinese(server) -> None:
    setup = ROUTED_SETUP.replace('default_department = "Enterprise"', 'default_department = "SMB"')
    org = _org(server, setup)
    reply = org.command("/lead", "new 示例科技", user="U0REP3")
    assert "进入 *SMB*：已分配给 <@U0REP3>" in reply.text
    [dm] = _dm_blocks(org, "U0REP3")
    assert "有一条新线索分配给你：示例科技" in _text(dm) and "接受" in _text(dm)
    [line] = org.fake.messages("C0SMB")
    assert "新线索 *示例科技*" in _text(line)


def test_bad_input_to_lead_new(server) -> None:
    org = _org(server)
    cases = {
        "new": "Usage: `/lead new &lt;company&gt;",
        "new Acme employees=many": "“many” is not a valid employees: type a whole number",
        "new Acme country=Germany": "“Germany” is not a valid country",
        "new Ltd": "Ltd",
    }
    for text, expected in cases.items():
        reply = org.command("/lead", text, user="U0REP1")
        assert reply.json()["response_type"] == "ephemeral", text
        assert expected in reply.text, (text, reply.text)
    outsider = org.command("/lead", "new Acme", user="U0NOBODY")
    assert "You are not in a department yet" in outsider.text
    with db(org) as s:
        assert s.exec(select(Lead)).all() == []
        assert s.exec(select(OwnershipEvent)).all() == []


def test_no_department_means_the_pool(server) -> None:
    org = _org(server, SETUP_TOML)
    reply = org.command("/lead", "new Drifting Co", user="U0REP1")
    assert "*Drifting Co* is in the pool" in reply.text
    assert _offers(org) == []
    pool = org.command("/lead", "pool", user="U0REP3").text
    assert "Drifting Co" in pool
    assert "现在归你了" in org.command("/lead", "claim Drifting Co", user="U0REP3").text
    with db(org) as s:
        assert s.exec(select(Routing)).one().status == "claimed"


def test_due_times_never_fall_outside_work_hours() -> None:
    berlin = SimpleNamespace(
        timezone="Europe/Berlin",
        work_hours="08:30-17:00",
        holidays=None,
        extra_holidays=None,
        extra_workdays=None,
    )
    start = datetime(2027, 3, 26, 15, 50, tzinfo=UTC)  # Friday 16:50, before the DST change
    due = workdays.add_working_minutes(berlin, start, 30)
    # 10 minutes on Friday, 20 on Monday 29 March (summer time: 08:30 is 06:30 UTC)
    assert due == datetime(2027, 3, 29, 6, 50, tzinfo=UTC)
    assert workdays.working_minutes(berlin, start, due + timedelta(hours=1)) == 90
