"""The Home tab through a real ``app_home_opened`` event and the fake Slack's views.publish."""

from __future__ import annotations

import json
from datetime import timedelta

from slack_sdk.models.views import View
from sqlmodel import Session

from bot import render
from bot.periods import period
from bot.services.home import home_view
from bot.services.setup import import_setup
from bot.store.models import Kudos, Target, utcnow
from tests.conftest import SETUP_TOML
from tests.targets_support import (
    activity,
    assert_valid_blocks,
    db,
    department,
    in_week,
    open_lead,
    won_lead,
)


def _open_home(server, user: str, event_id: str) -> tuple[str, list[dict]]:
    before = len(server.fake.calls_to("views.publish"))
    reply = server.event(
        {"type": "app_home_opened", "user": user, "channel": "D0", "tab": "home"},
        event_id=event_id,
    )
    assert reply.status == 200
    call = server.fake.wait_for("views.publish", before + 1)[-1]
    assert call.body["user_id"] == user
    view = call.body["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    View(**view).validate_json()
    assert_valid_blocks(view["blocks"])
    assert server.fake.home_view(user)["blocks"] == view["blocks"]
    texts = [
        b["text"]["text"] if b["type"] in ("section", "header") else json.dumps(b)
        for b in view["blocks"]
    ]
    return "\n".join(texts), view["blocks"]


def _seed(server) -> None:
    now = utcnow()
    with db(server) as s:
        ent = department(s, "Enterprise")
        at = in_week(s)
        later = open_lead(
            s,
            owner="U0REP1",
            department_id=ent.id,
            name="Globex",
            claimed=now - timedelta(days=1),
            expires=now + timedelta(days=13),
            stage="qualified",
        )
        soon = open_lead(
            s,
            owner="U0REP1",
            department_id=ent.id,
            name="Acme Corp",
            claimed=now - timedelta(days=12),
            expires=now + timedelta(days=1),
        )
        open_lead(
            s,
            owner="U0REP2",
            department_id=ent.id,
            name="Initech",
            claimed=now,
            expires=now + timedelta(days=2),
        )
        won_lead(s, owner="U0REP1", department_id=ent.id, amount_cents=1_000_000, at=at)
        activity(s, user="U0REP1", department_id=ent.id, at=at, kind="call", lead_id=soon.id)
        activity(
            s,
            user="U0REP1",
            department_id=ent.id,
            at=at + timedelta(minutes=5),
            kind="visit",
            lead_id=later.id,
        )
        activity(s, user="U0REP1", department_id=ent.id, at=at - timedelta(days=3), kind="demo")
        activity(s, user="U0REP2", department_id=ent.id, at=at, kind="email")
        s.add(
            Kudos(
                giver_id="U0MGR1",
                recipient_id="U0REP1",
                department_id=ent.id,
                message="great demo",
                value="craft",
                created_at=at,
            )
        )
        s.add(
            Kudos(
                giver_id="U0REP2",
                recipient_id="U0REP1",
                department_id=ent.id,
                message="old one",
                created_at=at - timedelta(days=8),
            )
        )
        s.add(
            Target(
                department_id=ent.id, user_id="U0REP1", metric="activities", period="week", value=4
            )
        )
        s.add(
            Target(
                department_id=ent.id,
                user_id="U0REP2",
                metric="activities",
                period="week",
                value=1000,
            )
        )
        s.commit()


def test_rep_sees_leads_activities_targets_and_kudos(org) -> None:
    _seed(org)
    text, _blocks = _open_home(org, "U0REP1", "Ev1")
    assert "You are a rep in *Enterprise*" in text
    assert "*Your leads* (2 open)" in text
    assert text.index("*Acme Corp* — new") < text.index("*Globex* — qualified")  # soonest first
    assert "Initech" not in text and "Won " not in text  # another rep's, and a closed lead
    assert ":warning: *Expiring soon:* *Acme Corp*" in text
    assert "*This week's activities:* 2 — call 1 · visit 1" in text
    assert "visit — Globex" in text and "call — Acme Corp" in text
    assert "<@U0REP1> · Activities this week: `█████░░░░░` 50% — 2 of 4" in text
    assert "<@U0REP2> · Activities" not in text  # a rep sees their own targets, not their peers'
    assert "*Kudos received:* 1 this week, 2 in all" in text
    assert "from <@U0MGR1>: “great demo” #craft" in text
    assert "team*" not in text


def test_manager_sees_department_totals(org) -> None:
    _seed(org)
    text, _ = _open_home(org, "U0MGR1", "Ev2")
    assert "*Enterprise — team*" in text
    with db(org) as s:
        ent = department(s, "Enterprise")
        won_at = in_week(s)  # the seed's win, at the start of this week: in this month too?
        in_month = won_at >= period("month", utcnow(), ent.timezone).start
    won = "1 ($10,000)" if in_month else "0 ($0)"
    assert f"Open leads 3 · activities this week 3 · won this month {won} · expiring soon 2" in text
    assert "• <@U0REP1>: 2 activities this week, 2 open leads" in text
    assert "• <@U0REP2>: 1 activity this week, 1 open lead" in text
    assert "<@U0REP2> · Activities this week" in text  # every rep's target


def test_chinese_department_and_no_department(org) -> None:
    text, _ = _open_home(org, "U0MGR2", "Ev3")
    assert "你是 *SMB* 的经理" in text and "*SMB — 团队*" in text
    text, _ = _open_home(org, "U0NEW", "Ev4")
    assert "You are not in a department yet" in text and "/sales dept add" in text


def test_other_tabs_publish_nothing(org) -> None:
    org.event({"type": "app_home_opened", "user": "U0REP1", "tab": "messages"}, event_id="Ev5")
    _open_home(org, "U0REP2", "Ev6")  # a later event is handled, so the first one was too
    assert [c.body["user_id"] for c in org.fake.calls_to("views.publish")] == ["U0REP2"]


def test_many_leads_stay_within_limits_in_both_locales(engine) -> None:
    now = utcnow()
    with Session(engine, expire_on_commit=False) as s:
        import_setup(session=s, text=SETUP_TOML)
        ent = department(s, "Enterprise")
        for n in range(40):
            open_lead(
                s,
                owner="U0MGR1",
                department_id=ent.id,
                name=f"Customer {n:02d} " + "x" * 150,
                claimed=now,
                expires=now + timedelta(days=n % 5),
            )
            s.add(
                Target(
                    department_id=ent.id,
                    user_id=f"U0R{n:03d}",
                    metric="wins",
                    period="month",
                    value=3,
                )
            )
        s.commit()
        home = home_view(session=s, user_id="U0MGR1", now=now)
    assert home.total_leads == 40 and len(home.leads) == 15
    for locale in render.LOCALES:
        message = render.message("home.view", locale, home=home)
        assert len(message.blocks) <= render.MAX_BLOCKS
        assert_valid_blocks(message.blocks)
        View(type="home", blocks=message.blocks).validate_json()
        shown = json.dumps(message.blocks, ensure_ascii=False)
        more = {"en": "…and 25 more: `/lead mine`", "zh-CN": "…还有 25 个：`/lead mine`"}[locale]
        assert more in shown and "/lead mine" in shown
