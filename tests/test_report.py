"""``/sales report``, ``/sales digest`` and ``/sales agenda`` through the live server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from bot.store.db import make_engine
from bot.store.models import Activity, Department, Outbox
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
    assert "“yearly” is not a period here" in bad.text
    assert "today, yesterday, week, last-week, month, quarter" in bad.text
    nowhere = org.command("/sales", "report", user="U0ADMIN")
    assert "You are not in a department" in nowhere.text and "*Enterprise*" in nowhere.text
    unknown = org.command("/sales", "report Nope", user="U0REP1")
    assert "no department called “Nope”" in unknown.text
    usage = org.command("/sales", "report help", user="U0REP1")
    assert "/sales export [department] [today|yesterday|week|last-week|month|quarter|" in usage.text


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


def _seed_on(server: LiveServer, day: date, kind: str = "call") -> None:
    """One activity of U0REP1's at noon, Shanghai time (Enterprise's zone), on ``day``."""
    at = datetime.combine(day, time(12), tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    with Session(make_engine(server.db_url), expire_on_commit=False) as session:
        ent = session.exec(select(Department).where(Department.name == "Enterprise")).one()
        session.add(Activity(user_id="U0REP1", department_id=ent.id, kind=kind, occurred_at=at))
        session.commit()


def test_report_yesterday_quarter_and_a_span_of_days(org) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    yesterday = today - timedelta(days=1)
    _seed_on(org, yesterday, "visit")
    reply = org.command("/sales", "report yesterday", user="U0REP2")
    _valid(reply)
    assert "Enterprise · yesterday" in reply.text and "*1* activity (visit 1)" in reply.text
    quarter = org.command("/sales", "report Enterprise quarter", user="U0REP2")
    assert "Enterprise · this quarter" in quarter.text
    span = f"{yesterday.isoformat()}..{today.isoformat()}"
    ranged = org.command("/sales", f"report {span}", user="U0REP2")
    _valid(ranged)
    assert f"Enterprise · {yesterday.isoformat()} – {today.isoformat()}" in ranged.text
    assert "*1* activity (visit 1)" in ranged.text
    one_day = org.command("/sales", f"report Enterprise {today.isoformat()}", user="U0REP2")
    assert f"Enterprise · {today.isoformat()} – {today.isoformat()}" in one_day.text
    assert "*0* activities" in one_day.text


def test_a_period_word_is_never_taken_for_a_department(org) -> None:
    for command, word, choices in (
        ("report", "year", "today, yesterday, week, last-week, month, quarter"),
        ("export", "yearly", "today, yesterday, week, last-week, month, quarter"),
        ("digest", "monthly", "daily, weekly"),
    ):
        reply = org.command("/sales", f"{command} {word}", user="U0MGR1")
        assert f"“{word}” is not a period here. Use one of {choices}" in reply.text, reply.text
        assert f"e.g. `/sales {command} Enterprise" in reply.text
        assert "no department" not in reply.text
    assert "`YYYY-MM-DD..YYYY-MM-DD`" in org.command("/sales", "report year", user="U0REP1").text
    digest = org.command("/sales", "digest yesterday", user="U0MGR1")
    assert "“yesterday” is not a period here. Use one of daily, weekly" in digest.text
    chinese = org.command("/sales", "report 上月", user="U0REP3")
    assert "这里不能用“上月”。请使用 today、yesterday" in chinese.text
    assert "SMB · 昨天" in org.command("/sales", "report 昨天", user="U0REP3").text


def test_a_span_backwards_too_long_or_mistyped_says_what_to_type(org) -> None:
    backwards = org.command("/sales", "report 2026-11-15..2026-11-01", user="U0REP1")
    assert backwards.json()["response_type"] == "ephemeral"
    assert "“2026-11-15..2026-11-01” ends before it starts" in backwards.text
    assert "`/sales report 2026-11-01..2026-11-15`" in backwards.text
    long = org.command("/sales", "export Enterprise 2024-01-01..2025-06-30", user="U0MGR1")
    assert "covers 547 days; a span covers at most 366 days" in long.text
    assert "`/sales export 2024-01-01..2024-12-31`" in long.text
    typo = org.command("/sales", "report 2026-13-01..2026-13-05", user="U0REP1")
    assert "is not a span of days. Type the first and the last day as" in typo.text
    org.command("/sales", "dept create 2024-Team", user="U0ADMIN")
    team = org.command("/sales", "report 2024-Team", user="U0REP1")
    assert "2024-Team · today" in team.text, team.text
    zh = org.command("/sales", "report 2026-11-15..2026-11-01", user="U0REP3")
    assert "结束日期早于开始日期" in zh.text and "2026-11-01..2026-11-15" in zh.text
    with Session(make_engine(org.db_url)) as session:
        assert session.exec(select(Outbox)).all() == []


def test_export_today_and_a_span(org) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    reply = org.command("/sales", "export today", user="U0MGR1")
    assert f"Exporting *Enterprise* for today ({today.isoformat()} – {today.isoformat()})" in (
        reply.text
    )
    first = today - timedelta(days=40)
    span = org.command("/sales", f"export {first.isoformat()}..{today.isoformat()}", user="U0MGR1")
    assert f"Exporting *Enterprise* for {first.isoformat()} – {today.isoformat()}:" in span.text
    zh = org.command("/sales", f"export {first.isoformat()}..{today.isoformat()}", user="U0MGR2")
    assert f"正在导出 *SMB* {first.isoformat()} 至 {today.isoformat()} 的数据" in zh.text
