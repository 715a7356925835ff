"""What users read about leads: history one entry per line, every date in the reader's
department zone, stage amounts, a reopened win, another rep's leads, refusal wording, the
grouped expiry DM and the pool's search and pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot import render
from bot.devslack.signing import button_payload
from bot.services.leads import HistoryLine, LeadInfo, StageChange
from bot.services.names import name_key
from bot.store.models import Lead, OwnershipEvent
from tests.conftest import LiveServer, import_setup_text, run_salesbot
from tests.leads_support import db, lead_named, responses

#: Two departments a day apart at midnight: Shanghai is UTC+8, New York UTC-5 in December.
SETUP = """
timezone = "Asia/Shanghai"
locale = "en"
admins = ["U0ADMIN"]

[[department]]
name = "Enterprise"
channel = "C0ENT"
timezone = "Asia/Shanghai"
managers = ["U0MGR1"]
reps = ["U0REP1", "U0REP2"]
claim_days = 14
warn_days = 3

[[department]]
name = "East"
channel = "C0EAST"
timezone = "America/New_York"
managers = ["U0MGR2"]
reps = ["U0REP3"]
"""

#: 16:04 UTC on 15 December: already 16 December 00:04 in Shanghai, 11:04 in New York.
EXPIRES = datetime(2026, 12, 15, 16, 4, tzinfo=UTC)


def _setup(server: LiveServer) -> LiveServer:
    import_setup_text(server.db_url, SETUP)
    return server


def _set(server: LiveServer, key: str, **values) -> None:  # type: ignore[no-untyped-def]
    with db(server) as session:
        lead = session.exec(select(Lead).where(Lead.name_key == key)).one()
        for name, value in values.items():
            setattr(lead, name, value)
        session.add(lead)
        session.commit()


def _section_texts(reply) -> list[str]:  # type: ignore[no-untyped-def]
    return [b["text"]["text"] for b in reply.json()["blocks"] if b["type"] == "section"]


def _home(server: LiveServer, user: str, event_id: str) -> str:
    before = len(server.fake.calls_to("views.publish"))
    server.event(
        {"type": "app_home_opened", "user": user, "channel": "D0", "tab": "home"},
        event_id=event_id,
    )
    view = server.fake.wait_for("views.publish", before + 1)[-1].body["view"]
    return "\n".join(
        b["text"]["text"] if b["type"] in ("section", "header") else json.dumps(b)
        for b in view["blocks"]
    )


# ── 1. history ──────────────────────────────────────────────────────────────────────────────


def test_history_shows_one_entry_per_line(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Globex", user="U0REP1")
    org.command("/lead", "stage Globex proposal", user="U0REP1")
    org.command("/lead", "release Globex", user="U0MGR1")
    reply = org.command("/lead", "history Globex", user="U0REP2")
    (body,) = _section_texts(reply)
    lines = body.split("\n")
    assert len(lines) == 3
    assert lines[0].endswith("· claimed by <@U0REP1> (Enterprise)")
    assert lines[1].endswith("· <@U0REP1>: new → proposal")
    assert lines[2].endswith("· released by <@U0MGR1> from <@U0REP1> (Enterprise)")
    for line in lines:
        assert line.startswith("2026-") and "(UTC+8) · " in line

    zh = render.message("lead.history", "zh-CN", lead=lead_named(org, "globex"), lines=[])
    assert "还没有变更记录" in zh.text


def test_chinese_history_shows_one_entry_per_line() -> None:
    lines = [
        HistoryLine(
            OwnershipEvent(lead_id=1, at=EXPIRES, action="claim", to_owner="U0REP1"), None, "企业部"
        ),
        HistoryLine(
            OwnershipEvent(
                lead_id=1, at=EXPIRES, action="release", actor_id="U0MGR1", from_owner="U0REP1"
            ),
            "企业部",
            None,
        ),
    ]
    lead = Lead(id=1, name="Acme", name_key="acme")
    zh = render.message("lead.history", "zh-CN", lead=lead, lines=lines, zone="Asia/Shanghai")
    (body,) = [b["text"]["text"] for b in zh.blocks if b["type"] == "section"]
    assert body.split("\n") == [
        "2026-12-16 00:04 (UTC+8) · <@U0REP1>（企业部）认领",
        "2026-12-16 00:04 (UTC+8) · <@U0MGR1> 从 <@U0REP1>（企业部）释放",
    ]


# ── 2. dates in the reader's zone ───────────────────────────────────────────────────────────


def test_filters_render_in_the_zone_of_the_message() -> None:
    data = dict(lead=Lead(id=1, name="Acme", name_key="acme"), department="Enterprise")
    shanghai = render.message(
        "lead.expiry_warning", "en", zone="Asia/Shanghai", expires=EXPIRES, **data
    )
    new_york = render.message(
        "lead.expiry_warning", "en", zone="America/New_York", expires=EXPIRES, **data
    )
    assert "expires 2026-12-16 00:04 (UTC+8)." in shanghai.text
    assert "expires 2026-12-15 11:04 (UTC-5)." in new_york.text
    # no zone given and no reader: UTC, and the day filter agrees with the moment
    plain = render.message("lead.already_yours", "en", lead="Acme", department="E", expires=EXPIRES)
    assert "protected until 2026-12-15." in plain.text
    zh = render.message(
        "lead.already_yours",
        "zh-CN",
        lead="Acme",
        department="E",
        expires=EXPIRES,
        zone="Asia/Shanghai",
    )
    assert "保护期至 2026-12-16" in zh.text


def test_every_reply_shows_the_readers_department_day(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Acme acme.com", user="U0REP1")
    _set(org, "acme", expires_at=EXPIRES, claimed_at=datetime(2026, 11, 17, 20, 0, tzinfo=UTC))

    # Shanghai: the claim runs out in the first minutes of 16 December
    mine = org.command("/lead", "mine", user="U0REP1")
    assert "· expires 2026-12-16" in mine.text
    home = _home(org, "U0REP1", "Ev-home-1")
    assert "expires 2026-12-16" in home
    yours = org.command("/lead", "claim Acme", user="U0REP1")
    assert "protected until 2026-12-16." in yours.text
    who = org.command("/lead", "who acme.com", user="U0REP2")
    assert "· expires 2026-12-16" in who.text and "Since 2026-11-18" in who.text

    # a user in no department reads the company's zone (Shanghai here)
    who = org.command("/lead", "who acme.com", user="U0NOBODY")
    assert "· expires 2026-12-16" in who.text

    # New York: the same instant is the morning of 15 December, claimed on the 17th
    who = org.command("/lead", "who acme.com", user="U0REP3")
    assert "· expires 2026-12-15" in who.text and "Since 2026-11-17" in who.text
    refused = org.command("/lead", "claim Acme", user="U0REP3")
    assert "since 2026-11-17" in refused.text
    history = org.command("/lead", "history Acme", user="U0REP3")
    assert "(UTC-5) · claimed by <@U0REP1>" in history.text
    assert "(UTC+8)" not in history.text


# ── 3. the stage amount ─────────────────────────────────────────────────────────────────────


def test_stage_amount_is_shown_wherever_the_lead_is(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Acme", user="U0REP1")
    reply = org.command("/lead", "stage Acme negotiation 120k", user="U0REP1")
    assert reply.json()["text"] == (
        "*Acme* (<@U0REP1>, Enterprise): new → *negotiation* — amount $120,000."
    )
    who = org.command("/lead", "who Acme", user="U0REP3")
    assert "· negotiation $120,000 · expires" in who.text
    mine = org.command("/lead", "mine", user="U0REP1")
    assert "· negotiation $120,000 · expires" in mine.text
    assert "*Acme* — negotiation $120,000 · expires" in _home(org, "U0REP1", "Ev-home-2")
    # without an amount, nothing is invented
    org.command("/lead", "claim Initech", user="U0REP1")
    reply = org.command("/lead", "stage Initech proposal", user="U0REP1")
    assert reply.json()["text"] == "*Initech* (<@U0REP1>, Enterprise): new → *proposal*"


# ── 4. reopening a win ──────────────────────────────────────────────────────────────────────


def test_reopening_a_win_says_it_no_longer_counts(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/lead", "won Acme 50k", user="U0REP1")
    reply = org.command("/lead", "stage Acme proposal", user="U0REP1")
    assert reply.json()["text"] == (
        "*Acme* (<@U0REP1>, Enterprise): won → *proposal* — amount $50,000."
        " The win of $50,000 no longer counts towards targets."
    )
    zh = render.message(
        "lead.stage_set",
        "zh-CN",
        change=StageChange(
            lead=LeadInfo(lead=lead_named(org, "acme"), department=None),
            from_stage="won",
            to_stage="proposal",
            won_cents=5_000_000,
        ),
    )
    assert "此前 US$50,000 的赢单不再计入目标。" in zh.text


# ── 5. someone else's leads ─────────────────────────────────────────────────────────────────


def test_mine_with_a_mention_shows_that_persons_leads(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/lead", "claim Initech", user="U0REP2")
    reply = org.command("/lead", "mine <@U0REP1|bob>", user="U0REP3")
    assert reply.json()["blocks"][0]["text"]["text"] == "Their leads"
    assert "*Leads of <@U0REP1>* (1)" in reply.text
    assert "*Acme* — <@U0REP1>, Enterprise · new · expires" in reply.text
    assert "Initech" not in reply.text
    # one's own mention is one's own list
    reply = org.command("/lead", "mine <@U0REP2>", user="U0REP2")
    assert reply.json()["blocks"][0]["text"]["text"] == "Your leads"
    assert "*Initech*" in reply.text
    reply = org.command("/lead", "mine <@U0MGR2>", user="U0REP1")
    assert "<@U0MGR2> holds no leads." in reply.text
    reply = org.command("/lead", "mine bob", user="U0REP1")
    assert reply.json()["text"] == (
        "“bob” is not a person. Type `/lead mine` for your own leads, or mention someone"
        " to see theirs: `/lead mine @maria`."
    )


# ── 6. what a refused claimant can do ───────────────────────────────────────────────────────


def test_claim_refusal_says_what_the_caller_can_do(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Acme", user="U0REP1")
    _set(org, "acme", claimed_at=datetime(2026, 11, 17, 20, 0, tzinfo=UTC))
    # another department: /log would be refused, so it is not offered
    reply = org.command("/lead", "claim Acme", user="U0REP3")
    assert reply.json()["text"] == (
        "*Acme* is already claimed by <@U0REP1> (Enterprise) since 2026-11-17. Talk to"
        " <@U0REP1>, or ask <@U0MGR1> (manager of Enterprise) to move it to you:"
        " `/lead transfer Acme U0REP3`."
    )
    # that command, run by that manager, does move it
    moved = org.command("/lead", "transfer Acme U0REP3", user="U0MGR1")
    assert "moved from <@U0REP1> (Enterprise) to <@U0REP3> (East)" in moved.text
    # a teammate of the owner may still log the contact
    reply = org.command("/lead", "claim Acme", user="U0REP1")
    assert "Talk to <@U0REP3>, or ask <@U0MGR2> (manager of East)" in reply.text
    org.command("/lead", "transfer Acme U0REP1", user="U0ADMIN")
    reply = org.command("/lead", "claim Acme", user="U0REP2")
    assert (
        "Talk to <@U0REP1> (you can still `/log` your contact with them; the lead stays"
        " theirs), or ask <@U0MGR1> (manager of Enterprise) to move it to you:"
        " `/lead transfer Acme U0REP2`." in reply.text
    )
    # the owner's manager can do it at once
    reply = org.command("/lead", "claim Acme", user="U0MGR1")
    assert "You can move it to yourself: `/lead transfer Acme U0MGR1`." in reply.text
    assert "Log your contact" not in reply.text


def test_similar_name_warning_when_the_caller_owns_both(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Acme Widgets", user="U0REP1")
    reply = org.command("/lead", "claim Acme Widget Co", user="U0REP1")
    assert "Similar name: *Acme Widgets* — <@U0REP1>, Enterprise" in reply.text
    assert (
        "If that is the same customer, you hold both: release the duplicate with"
        " `/lead release Acme Widget Co`." in reply.text
    )
    assert "talk to <@U0REP1>" not in reply.text
    # someone else's similar lead: talk to them
    reply = org.command("/lead", "claim Acme Widgetz", user="U0REP3")
    assert "`/lead release Acme Widgetz` and talk to <@U0REP1>" in reply.text


# ── 7. one expiry DM per owner per run; who released a lead ─────────────────────────────────


def _run_expire(server: LiveServer, at: datetime) -> None:
    env = {
        "DATABASE_URL": server.db_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": server.fake.url,
    }
    done = run_salesbot("run-job", "expire-claims", "--at", at.isoformat(), env=env)
    assert done.returncode == 0, done.stderr


def _dms(server: LiveServer, channel: str) -> list[dict]:
    return [
        c.body for c in server.fake.calls_to("chat.postMessage") if c.body["channel"] == channel
    ]


def test_one_expiry_dm_per_owner_lists_all_their_leads(server) -> None:
    org = _setup(server)
    names = [f"Company{n:02d}" for n in range(25)]
    for name in names:
        org.command("/lead", f"claim {name}", user="U0REP1")
    org.command("/lead", "claim Hooli", user="U0REP2")
    org.command("/lead", "claim Initech", user="U0REP3")
    org.command("/lead", "claim Vandelay", user="U0REP3")
    now = datetime.now(UTC)
    with db(org) as session:
        for n, lead in enumerate(session.exec(select(Lead).order_by(Lead.name_key)).all()):
            lead.expires_at = EXPIRES + timedelta(minutes=n)
            session.add(lead)
        session.commit()
    run_at = EXPIRES - timedelta(days=1)
    assert run_at > now
    _run_expire(org, run_at)
    _run_expire(org, run_at)  # the same run again: nothing new
    _run_expire(org, run_at + timedelta(hours=1))  # the next run: everything is warned

    (dm,) = _dms(org, "U0REP1")
    blocks = dm["blocks"]
    assert len(blocks) <= 50
    assert blocks[0]["text"]["text"] == "25 of your claims expire soon"
    listed = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    assert listed[0] == "*Company00* (Enterprise) expires 2026-12-16 00:04 (UTC+8)"
    assert len(listed) == 20
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [e["text"]["text"] for e in buttons[:2]] == ["Log activity", "Release"]
    assert len(buttons) == 40
    assert blocks[-1]["elements"][0]["text"] == (
        "…and 5 more: `/lead mine` lists them all, soonest expiry first."
    )
    with db(org) as session:
        assert all(lead.warned_at is not None for lead in session.exec(select(Lead)).all())

    # one lead: the single warning as before; New York reads its own clock
    (single,) = _dms(org, "U0REP2")
    assert "Your claim on *Hooli* (Enterprise) expires 2026-12-16" in single["text"]
    (east,) = _dms(org, "U0REP3")
    assert east["blocks"][0]["text"]["text"] == "2 of your claims expire soon"
    assert "*Initech* (East) expires 2026-12-15 11:" in east["text"]
    assert "(UTC-5)" in east["text"]

    # Release on a DM of several leads leaves the list in place for the other buttons
    payload = button_payload(
        user="U0REP3",
        action_id="lead_release",
        value=str(lead_named(org, "initech").id),
        response_url=org.fake.response_url("release-one"),
    )
    payload["message"] = {"blocks": east["blocks"]}
    org.action(payload)
    (answer,) = responses(org, "release-one")
    assert answer["replace_original"] is False and "*Initech* is back in the pool" in answer["text"]


def test_owner_is_told_who_released_their_lead(server) -> None:
    org = _setup(server)
    org.command("/lead", "claim Acme", user="U0REP1")
    reply = org.command("/lead", "release Acme", user="U0MGR1")
    assert "*Acme* is back in the pool" in reply.text
    (dm,) = _dms(org, "U0REP1")
    assert dm["text"] == (
        "<@U0MGR1> released *Acme* (Enterprise), which you held; it is back in the pool."
        " Ask <@U0MGR1> if you did not expect this."
    )
    # an owner releasing their own lead gets no DM
    org.command("/lead", "claim Initech", user="U0REP1")
    org.command("/lead", "release Initech", user="U0REP1")
    assert len(_dms(org, "U0REP1")) == 1


# ── 8. the pool: counted in leads, searched by name, paged ──────────────────────────────────


def _fill_pool(server: LiveServer, count: int) -> None:
    with db(server) as session:
        for n in range(count):
            name = f"Pool Lead {n:02d}"
            session.add(
                Lead(
                    name=name,
                    name_key=name_key(name),
                    domain=f"pool{n:02d}.com",
                    updated_at=EXPIRES + timedelta(minutes=n),  # 29 is the most recent
                )
            )
        session.add(Lead(name="Acme Holdings", name_key="acmeholdings", domain="acme.cn"))
        session.add(Lead(name="Globex", name_key="globex", domain="acme-partner.com"))
        session.commit()


def test_pool_pages_count_leads_and_search_by_name(server) -> None:
    org = _setup(server)
    _fill_pool(org, 30)
    org.command("/lead", "claim Acme Widgets", user="U0REP1")  # owned: never in the pool

    reply = org.command("/lead", "pool", user="U0REP3")
    blocks = reply.json()["blocks"]
    assert len(blocks) <= 50
    assert blocks[0]["text"]["text"] == "The pool — 32 unowned leads"
    names = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(names) == 20 and names[0] == "*Pool Lead 29* (pool29.com) · new"
    claims = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(claims) == 20
    assert blocks[-1]["elements"][0]["text"] == (
        "Page 1 of 2 · next: `/lead pool page 2` · search by name: `/lead pool acme`"
    )
    assert "more" not in reply.json()["text"]

    reply = org.command("/lead", "pool page 2", user="U0REP3")
    names = [b["text"]["text"] for b in reply.json()["blocks"] if b["type"] == "section"]
    assert len(names) == 12 and names[0] == "*Pool Lead 09* (pool09.com) · new"
    assert reply.json()["blocks"][-1]["elements"][0]["text"] == (
        "Page 2 of 2 · search by name: `/lead pool acme`"
    )

    reply = org.command("/lead", "pool ACME Corp.", user="U0REP3")
    blocks = reply.json()["blocks"]
    assert blocks[0]["text"]["text"] == "The pool — 2 unowned leads matching “ACME Corp.”"
    names = sorted(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert names == ["*Acme Holdings* (acme.cn) · new", "*Globex* (acme-partner.com) · new"]

    reply = org.command("/lead", "pool acme.cn", user="U0REP3")
    assert "1 unowned lead matching “acme.cn”" in reply.text and "*Acme Holdings*" in reply.text

    reply = org.command("/lead", "pool lead 2 page 1", user="U0REP3")
    assert "10 unowned leads matching “lead 2”" in reply.text

    reply = org.command("/lead", "pool initech", user="U0REP3")
    assert reply.json()["text"].endswith(
        "No unowned lead matches “initech”. `/lead pool` lists them all; a company nobody has"
        " yet you can claim by name: `/lead claim initech`."
    )
    reply = org.command("/lead", "pool page two", user="U0REP3")
    assert reply.json()["text"] == (
        "“page two” is not a page. Type `/lead pool page 2` for the second page, or"
        " `/lead pool acme page 2` within a search."
    )
    help_text = org.command("/lead", "help", user="U0REP3").text
    assert "`/lead pool [name] [page N]`" in help_text


def test_a_cut_list_counts_the_leads_it_hides() -> None:
    """A list longer than Slack's 50 blocks says how many *leads* it left out, and never
    keeps a lead without its Claim button."""
    leads = [Lead(id=n, name=f"Lead {n}", name_key=f"lead{n}", stage="new") for n in range(40)]
    message = render.message("lead.pool", "en", leads=leads, total=40)
    blocks = message.blocks
    assert len(blocks) == 50
    shown = [b for b in blocks if b["type"] == "section"]
    assert len(shown) == 24 and blocks[-2]["type"] == "actions"
    assert blocks[-1]["elements"][0]["text"] == "…and 16 more"
