"""``/away`` through the real endpoint: setting, showing and clearing an absence, who may,
and the dates it reads (the clock is pinned at 2026-11-18 12:00 in Shanghai)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from bot.services.absence import is_away
from bot.store.models import Absence
from tests.targets_support import db


def _absences(server) -> list[Absence]:
    with db(server) as s:
        return list(s.exec(select(Absence).order_by(Absence.id)))


def test_rep_sets_an_absence_with_cover_and_note(org) -> None:
    reply = org.command(
        "/away", "2026-12-24 2026-12-31 cover <@U0REP2|bo> back on the 4th", user="U0REP1"
    )
    assert reply.json()["response_type"] == "ephemeral"
    assert "You are away 2026-12-24 to 2026-12-31, cover <@U0REP2> — back on the 4th." in reply.text
    [row] = _absences(org)
    assert (row.user_id, row.first_day, row.last_day) == (
        "U0REP1",
        date(2026, 12, 24),
        date(2026, 12, 31),
    )
    assert (row.cover_id, row.note, row.set_by) == ("U0REP2", "back on the 4th", "U0REP1")
    shown = org.command("/away", "", user="U0REP1")
    assert "• 2026-12-24 to 2026-12-31, cover <@U0REP2> — back on the 4th" in shown.text
    with db(org) as s:
        assert is_away(s, "U0REP1", date(2026, 12, 24))
        assert is_away(s, "U0REP1", date(2026, 12, 31))
        assert not is_away(s, "U0REP1", date(2027, 1, 1))
        assert not is_away(s, "U0REP2", date(2026, 12, 25))


def test_one_day_and_the_words_for_days(org) -> None:
    reply = org.command("/away", "tomorrow", user="U0REP1")
    assert "You are away 2026-11-19." in reply.text
    assert "Expiry warnings go to the manager while away." in reply.text
    reply = org.command("/away", "今天 明天", user="U0REP2")
    assert "You are away 2026-11-18 to 2026-11-19." in reply.text
    # MM-DD is the next such day: 12-28 to 01-03 spans the new year; 01-05 is next January.
    reply = org.command("/away", "12-28 01-03", user="U0MGR1")
    assert "You are away 2026-12-28 to 2027-01-03." in reply.text
    reply = org.command("/away", "01-05", user="U0ADMIN")
    assert "You are away 2027-01-05." in reply.text


def test_a_new_absence_replaces_the_one_it_overlaps_and_off_cancels(org) -> None:
    org.command("/away", "12-01 12-05", user="U0REP1")
    org.command("/away", "12-20 12-22", user="U0REP1")
    reply = org.command("/away", "12-04 12-08", user="U0REP1")
    assert "You are away 2026-12-04 to 2026-12-08." in reply.text
    assert "This replaces 2026-12-01–2026-12-05." in reply.text
    shown = org.command("/away", "", user="U0REP1").text
    assert "2026-12-04 to 2026-12-08" in shown and "2026-12-20 to 2026-12-22" in shown
    assert "2026-12-01" not in shown
    reply = org.command("/away", "off", user="U0REP1")
    assert (
        "Welcome back: your absence 2026-12-04–2026-12-08, 2026-12-20–2026-12-22 is cancelled."
        in reply.text
    )
    rows = _absences(org)
    assert len(rows) == 3 and all(r.cancelled_by == "U0REP1" for r in rows)
    assert "You have no absence set." in org.command("/away", "", user="U0REP1").text
    reply = org.command("/away", "off", user="U0REP1")
    assert "nothing to turn off" in reply.text and "`/away &lt;from&gt; [&lt;to&gt;]`" in reply.text


def test_manager_sets_it_for_a_rep_others_may_not(org) -> None:
    reply = org.command("/away", "<@U0REP1|ana> 12-24 12-26 cover <@U0REP2|bo>", user="U0MGR1")
    assert "<@U0REP1> is away 2026-12-24 to 2026-12-26, cover <@U0REP2>." in reply.text
    assert _absences(org)[0].set_by == "U0MGR1"
    for actor, refusal in (
        ("U0REP2", "Only <@U0REP1>, their manager or an admin"),
        ("U0MGR2", "只有 <@U0REP1> 本人、其经理或管理员"),  # SMB's manager reads Chinese
    ):
        reply = org.command("/away", "<@U0REP1|ana> off", user=actor)
        assert reply.json()["response_type"] == "ephemeral"
        assert refusal in reply.text, actor
        assert "<@U0MGR1>" in reply.text and "<@U0ADMIN>" in reply.text
    assert _absences(org)[0].cancelled_at is None
    shown = org.command("/away", "<@U0REP1|ana>", user="U0REP2")
    assert "<@U0REP1> is away:" in shown.text
    reply = org.command("/away", "<@U0REP1|ana> off", user="U0ADMIN")
    assert "<@U0REP1>'s absence 2026-12-24–2026-12-26 is cancelled." in reply.text


def test_bad_input_says_what_to_type_and_stores_nothing(org) -> None:
    cases = {
        "12-32": "“12-32” is not a day. Type a date as `2026-12-24`",
        "2026-02-30": "“2026-02-30” is not a day.",
        "2026-12-10 2026-12-01": "2026-12-01 is before 2026-12-10. Put the first day first",
        "2026-11-01 2026-11-10": "That absence ended on 2026-11-10",
        "2026-12-01 2028-12-01": "longer than 366 days",
        "12-24 cover": "Say who covers after `cover`",
        "12-24 cover <@U0REP1|ana>": "<@U0REP1> cannot cover for themselves.",
        "12-24 cover @ana": "@ana",
        "next week": "That is not how `/away` works. Type `/away 2026-12-24",
        "off now": "That is not how `/away` works.",
    }
    for text, expected in cases.items():
        reply = org.command("/away", text, user="U0REP1")
        assert reply.status == 200, text
        assert reply.json()["response_type"] == "ephemeral", text
        assert expected in reply.text, (text, reply.text)
    assert _absences(org) == []


def test_chinese_department_reads_chinese(org) -> None:
    reply = org.command("/away", "明天 cover <@U0MGR2|wang> 回老家", user="U0REP3")
    assert "已登记：你休假 2026-11-19，代理人 <@U0MGR2> — 回老家。" in reply.text
    shown = org.command("/away", "", user="U0REP3")
    assert "你的休假：" in shown.text
    assert "“下周”不是日期" not in shown.text
    bad = org.command("/away", "12-40", user="U0REP3")
    assert "“12-40”不是日期" in bad.text
    help_text = org.command("/away", "help", user="U0REP3").text
    assert "/away — 休假与代理" in help_text


def test_claims_are_extended_by_the_away_days_inside_their_protection(org) -> None:
    from datetime import UTC, datetime

    from tests.leads_support import lead_named

    org.command("/lead", "claim Acme", user="U0REP1")  # 14 days: to 2026-12-02 12:00 Shanghai
    claimed = lead_named(org, "acme").expires_at
    pinned_expiry = datetime(2026, 12, 2, 4, tzinfo=UTC)  # the server's clock runs on from it
    assert pinned_expiry <= claimed < pinned_expiry + timedelta(minutes=1)
    org.command("/away", "11-23 11-27", user="U0REP1")  # five days inside
    assert lead_named(org, "acme").expires_at == claimed + timedelta(days=5)
    # Replaced: only the four days the old absence did not already add.
    reply = org.command("/away", "11-25 12-01", user="U0REP1")
    assert "This replaces 2026-11-23–2026-11-27." in reply.text
    assert lead_named(org, "acme").expires_at == claimed + timedelta(days=9)
    # Days after the expiry day add nothing; the new expiry is what /lead who and mine show.
    org.command("/away", "2027-01-10 2027-01-20", user="U0REP1")
    assert lead_named(org, "acme").expires_at == claimed + timedelta(days=9)
    assert "2026-12-11" in org.command("/lead", "who Acme", user="U0REP2").text
    assert "2026-12-11" in org.command("/lead", "mine", user="U0REP1").text


def test_the_expiry_job_waits_for_an_away_owner(org) -> None:
    from datetime import UTC, datetime

    from tests.leads_support import lead_named
    from tests.test_expire_claims import _age, _run

    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/away", "today 11-20 cover <@U0REP2|bo>", user="U0REP1")
    now = datetime(2026, 11, 18, 6, tzinfo=UTC)
    _age(org, "acme", now - timedelta(hours=1))  # ran out while away
    _run(org, now)
    lead = lead_named(org, "acme")
    assert lead.owner_id == "U0REP1"
    assert lead.expires_at == datetime(2026, 11, 20, 16, tzinfo=UTC)  # 11-21 00:00 Shanghai
    _run(org, datetime(2026, 11, 21, 1, tzinfo=UTC))  # back, no activity: returns to the pool
    assert lead_named(org, "acme").owner_id is None


def test_expiry_warnings_go_to_the_cover_or_else_the_manager(org) -> None:
    from datetime import UTC, datetime

    from tests.test_expire_claims import _age, _dms, _run

    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/lead", "claim Globex", user="U0REP2")
    org.command("/away", "today 11-20 cover <@U0REP2|bo>", user="U0REP1")
    org.command("/away", "today", user="U0REP2")  # no cover: the manager reads it
    now = datetime(2026, 11, 18, 6, tzinfo=UTC)
    _age(org, "acme", now + timedelta(days=2))
    _age(org, "globex", now + timedelta(days=1))
    _run(org, now)
    (to_cover,) = _dms(org, "U0REP2")
    assert "<@U0REP1> is away: 1 of their claims expire soon" in to_cover["text"]
    assert "is away until 2026-11-20 and named you as cover" in to_cover["text"]
    assert "• *Acme* (Enterprise) expires 2026-11-20 14:00 (UTC+8)" in to_cover["text"]
    (to_manager,) = _dms(org, "U0MGR1")
    assert "<@U0REP2> is away until 2026-11-18 and named no cover" in to_manager["text"]
    assert "*Globex* (Enterprise)" in to_manager["text"]
    assert _dms(org, "U0REP1") == []


def test_a_chinese_cover_reads_the_warning_in_chinese(org) -> None:
    from datetime import UTC, datetime

    from tests.test_expire_claims import _age, _dms, _run

    org.command("/lead", "claim 华为", user="U0REP3")
    org.command("/away", "今天 明天", user="U0REP3")
    now = datetime(2026, 11, 18, 6, tzinfo=UTC)
    _age(org, "华为", now + timedelta(days=1))
    _run(org, now)
    (warning,) = _dms(org, "U0MGR2")
    assert "<@U0REP3> 休假中：其 1 条线索即将到期" in warning["text"]
    assert "休假至 2026-11-19，没有指定代理人，因此由你（其经理）接收提醒" in warning["text"]


def test_who_and_the_home_tab_say_away_until_and_cover(org) -> None:
    from tests.test_home import _open_home

    org.command("/lead", "claim Acme", user="U0REP1")
    org.command("/lead", "claim 华为", user="U0REP3")
    who = org.command("/lead", "who Acme", user="U0REP2").text
    assert "away until" not in who
    org.command("/away", "today 11-20 cover <@U0REP2|bo>", user="U0REP1")
    org.command("/away", "今天", user="U0REP3")
    who = org.command("/lead", "who Acme", user="U0REP2").text
    assert "· away until 2026-11-20, cover <@U0REP2>" in who
    who = org.command("/lead", "who 华为", user="U0MGR2").text
    assert "· 休假至 2026-11-18" in who and "代理人" not in who
    text, _ = _open_home(org, "U0REP1", "EvAway1")
    assert ":palm_tree: You are away until 2026-11-20, cover <@U0REP2>." in text
    text, _ = _open_home(org, "U0REP3", "EvAway2")
    assert ":palm_tree: 你休假至 2026-11-18。" in text
    text, _ = _open_home(org, "U0REP2", "EvAway3")
    assert "palm_tree" not in text


def test_digests_and_agendas_list_who_is_away(engine) -> None:
    from datetime import UTC, datetime

    from sqlmodel import Session

    from bot import render
    from jobs import posts
    from tests.digest_support import setup_org

    departments = setup_org(engine)
    tue_0900_shanghai = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(
            [  # Tuesday only; Thursday and Friday; the Monday of the meeting; cancelled
                Absence(
                    user_id="U0REP1",
                    first_day=date(2026, 11, 24),
                    last_day=date(2026, 11, 24),
                    cover_id="U0REP2",
                    set_by="U0REP1",
                ),
                Absence(
                    user_id="U0REP2",
                    first_day=date(2026, 11, 26),
                    last_day=date(2026, 11, 27),
                    note="trade fair",
                    set_by="U0MGR1",
                ),
                Absence(
                    user_id="U0MGR1",
                    first_day=date(2026, 11, 30),
                    last_day=date(2026, 11, 30),
                    set_by="U0MGR1",
                ),
                Absence(
                    user_id="U0REP1",
                    first_day=date(2026, 11, 25),
                    last_day=date(2026, 11, 25),
                    set_by="U0REP1",
                    cancelled_at=tue_0900_shanghai,
                    cancelled_by="U0REP1",
                ),
            ]
        )
        session.add(
            Absence(
                user_id="U0REP3",
                first_day=date(2026, 11, 23),
                last_day=date(2026, 11, 25),
                cover_id="U0MGR2",
                set_by="U0REP3",
            )
        )
        session.commit()
        for name, dept in departments.items():
            dept = session.get(type(dept), dept.id)
            daily = posts.daily_digest(session, dept, tue_0900_shanghai)
            weekly = posts.weekly_digest(session, dept, tue_0900_shanghai)
            agenda = posts.agenda(session, dept, tue_0900_shanghai)
            texts = [render.plain(p.message.text) for p in (daily, weekly, agenda)]
            if name != "Enterprise":  # Farmers reads Chinese, in New York (still Monday)
                assert all("<@U0REP1>" not in t for t in texts)
                assert (
                    "*今日休假* (1)\n• <@U0REP3> 2026-11-23 至 2026-11-25，代理人 <@U0MGR2>"
                    in daily.message.text
                )
                continue
            daily_text, weekly_text, agenda_text = (p.message.text for p in (daily, weekly, agenda))
    assert "*Away today* (1)\n• <@U0REP1> 2026-11-24, cover <@U0REP2>" in daily_text
    assert "U0REP2> 2026-11-26" not in daily_text
    assert "*Away in the coming week* (3)" in weekly_text
    assert "• <@U0REP2> 2026-11-26 to 2026-11-27 — trade fair" in weekly_text
    assert "2026-11-25" not in weekly_text
    assert "*Away on the meeting day* (1)\n• <@U0MGR1> 2026-11-30" in agenda_text
