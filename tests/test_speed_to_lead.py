"""Speed to lead (DESIGN §8) in the daily digest (median, slowest), the weekly digest (per
rep) and the agenda (leads still waiting beyond ``accept_minutes`` of working time), on both
databases and in both languages. Routings are seeded with fixed dates; working hours are the
default 09:00–18:00 on weekdays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from bot import render
from bot.services import reports
from bot.store.models import Department, Offer, Routing
from jobs import posts
from tests.digest_support import add_lead, setup_org

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
#: Tuesday 24 Nov 2026, 09:00 in Shanghai: the daily digest covers Monday 23 Nov
TUE_0900 = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
#: Friday 27 Nov 2026, 17:00 in Shanghai: the weekly digest covers Mon 23 – Fri 27 Nov
FRI_1700 = datetime(2026, 11, 27, 17, 0, tzinfo=SHANGHAI)
#: Monday 30 Nov 2026, 09:00 in Shanghai: the agenda of the 10:00 meeting is built
MON_0900 = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)


def _department(session: Session, name: str) -> Department:
    return session.exec(select(Department).where(Department.name == name)).one()


def _routing(
    session: Session,
    department: Department | None,
    name: str,
    *,
    started: datetime,
    settled: datetime | None = None,
    owner: str | None = None,
    minutes: int | None = None,
    status: str = "accepted",
    kind: str = "new",
    source: str = "web-form",
) -> Routing:
    lead = add_lead(session, name, owner=owner, department=department if owner else None)
    routing = Routing(
        lead_id=lead.id,
        department_id=department.id if department else None,
        kind=kind,
        source=source,
        status=status,
        started_at=started.astimezone(UTC),
        settled_at=settled.astimezone(UTC) if settled else None,
        owner_id=owner,
        working_minutes=minutes,
    )
    session.add(routing)
    session.flush()
    return routing


def _seed_week(session: Session, ent: Department) -> None:
    """Monday 23 Nov: three routed leads taken after 5, 20 and 40 working minutes (the last
    came in on Friday 17:50 and was assigned on Monday 09:30), and what does not count."""
    mon = datetime(2026, 11, 23, tzinfo=SHANGHAI)
    _routing(
        session,
        ent,
        "Acme",
        started=mon.replace(hour=9),
        settled=mon.replace(hour=9, minute=5),
        owner="U0REP1",
        minutes=5,
    )
    _routing(
        session,
        ent,
        "Globex",
        started=mon.replace(hour=10),
        settled=mon.replace(hour=10, minute=20),
        owner="U0REP2",
        minutes=20,
        status="claimed",
    )
    _routing(
        session,
        ent,
        "Initech",
        started=datetime(2026, 11, 20, 17, 50, tzinfo=SHANGHAI),
        settled=mon.replace(hour=9, minute=30),
        owner="U0REP1",
        minutes=40,
        status="assigned",
    )
    # not counted on Monday: withdrawn (no owner), a handoff, settled on Tuesday
    _routing(
        session,
        ent,
        "Gone Co",
        started=mon.replace(hour=11),
        settled=mon.replace(hour=11, minute=30),
        minutes=30,
        status="cancelled",
    )
    _routing(
        session,
        ent,
        "Handed Co",
        started=mon.replace(hour=11),
        settled=mon.replace(hour=17),
        owner="U0REP2",
        minutes=360,
        kind="handoff",
    )
    _routing(
        session,
        ent,
        "Tuesday Co",
        started=mon.replace(hour=17),
        settled=datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI),
        owner="U0REP2",
        minutes=120,
    )


def _valid(message: render.Message) -> None:
    for block in message.blocks:
        Block.parse(block).validate_json()


def test_daily_digest_shows_median_and_slowest_of_the_day(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        _seed_week(session, ent)
        session.commit()
        text = posts.daily_digest(session, ent, TUE_0900).message.text
        _valid(posts.daily_digest(session, ent, TUE_0900).message)
    assert (
        "*Speed to lead* — 3 routed leads taken · median 20 working minutes · "
        "slowest: *Initech* (<@U0REP1>, 40 working minutes)"
    ) in text
    assert "Gone Co" not in text and "Handed Co" not in text and "Tuesday Co" not in text


def test_weekly_digest_shows_each_reps_count_and_median(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        _seed_week(session, ent)
        session.commit()
        text = posts.weekly_digest(session, ent, FRI_1700).message.text
    # Monday's three and Tuesday's one; Handed Co is a handoff, Gone Co had no owner
    assert "*Speed to lead* — 4 routed leads taken · median 30 working minutes" in text
    # most leads first; an even count's median is the middle two's mean, halves up
    assert "• <@U0REP1> — 2 leads · median 23 working minutes" in text
    assert "• <@U0REP2> — 2 leads · median 70 working minutes" in text
    assert text.index("<@U0REP1> — 2 leads") < text.index("<@U0REP2> — 2 leads")
    assert "slowest" not in text


def test_agenda_lists_leads_still_waiting_beyond_the_accept_time(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        # 60 working minutes (Friday 17:00–18:00), waiting for a manager
        _routing(
            session,
            ent,
            "Hooli",
            started=datetime(2026, 11, 27, 17, 0, tzinfo=SHANGHAI),
            status="waiting",
            source="slack:U0MGR1",
        )
        # 30 working minutes, offered to a rep now
        umbrella = _routing(
            session,
            ent,
            "Umbrella",
            started=datetime(2026, 11, 27, 17, 30, tzinfo=SHANGHAI),
            status="offering",
        )
        session.add(
            Offer(
                routing_id=umbrella.id,
                user_id="U0REP1",
                offered_at=MON_0900.astimezone(UTC),
                due_at=(MON_0900 + timedelta(minutes=15)).astimezone(UTC),
            )
        )
        # half an hour ago on the clock, but before working hours: 0 working minutes
        _routing(
            session,
            ent,
            "Pied Piper",
            started=datetime(2026, 11, 30, 8, 30, tzinfo=SHANGHAI),
            status="offering",
        )
        # settled leads never wait
        _routing(
            session,
            ent,
            "Done Co",
            started=datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI),
            settled=datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI),
            owner="U0REP2",
            minutes=540,
        )
        session.commit()
        post = posts.agenda(session, ent, MON_0900)
    assert post is not None
    text = post.message.text
    _valid(post.message)
    assert (
        "*New leads still waiting* (2) — nobody took them within 15 working minutes\n"
        "• *Hooli* from <@U0MGR1> — 60 working minutes since it came in · waiting for a "
        "manager: `/lead assign Hooli @rep`\n"
        "• *Umbrella* from web-form — 30 working minutes since it came in · offered to <@U0REP1>"
    ) in text
    assert "Pied Piper" not in text and "Done Co" not in text


def test_nothing_to_show_shows_nothing(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        farmers = _department(session, "Farmers")
        texts = [
            posts.daily_digest(session, ent, TUE_0900).message.text,
            posts.weekly_digest(session, ent, FRI_1700).message.text,
            posts.agenda(session, ent, MON_0900).message.text,
            posts.daily_digest(session, farmers, TUE_0900).message.text,
            posts.agenda(session, farmers, MON_0900).message.text,
        ]
    for text in texts:
        assert "Speed to lead" not in text and "still waiting" not in text
        assert "线索响应速度" not in text and "仍在等待" not in text


def test_in_chinese(engine) -> None:
    setup_org(engine)
    with Session(engine, expire_on_commit=False) as session:
        farmers = _department(session, "Farmers")  # New York, zh-CN
        mon = datetime(2026, 11, 23, tzinfo=NEW_YORK)
        for name, minutes, owner in (("华为", 3, "U0REP3"), ("腾讯", 12, "U0REP3")):
            _routing(
                session,
                farmers,
                name,
                started=mon.replace(hour=10),
                settled=mon.replace(hour=10, minute=minutes),
                owner=owner,
                minutes=minutes,
            )
        _routing(
            session,
            farmers,
            "小米",
            started=datetime(2026, 11, 27, 16, 0, tzinfo=NEW_YORK),
            status="waiting",
            source="官网表单",
        )
        session.commit()
        daily = posts.daily_digest(session, farmers, datetime(2026, 11, 24, 9, tzinfo=NEW_YORK))
        weekly = posts.weekly_digest(session, farmers, datetime(2026, 11, 27, 17, tzinfo=NEW_YORK))
        agenda = posts.agenda(session, farmers, datetime(2026, 11, 30, 9, tzinfo=NEW_YORK))
    assert (
        "*线索响应速度* — 接手 2 条分配线索 · 中位数 8 分钟工作时间 · "
        "最慢：*腾讯*（<@U0REP3>，12 分钟工作时间）"
    ) in daily.message.text
    assert "• <@U0REP3> — 2 条 · 中位数 8 分钟" in weekly.message.text
    assert agenda is not None
    assert (
        "*仍在等待的新线索*（1）— 超过 15 分钟工作时间无人接手\n"
        "• *小米*（来源：官网表单）— 进入后已 120 分钟工作时间 · "
        "等待经理分配：`/lead assign 小米 @销售`"
    ) in agenda.message.text


def test_median_of_counted_values() -> None:
    assert reports._median({7: 1}) == 7
    assert reports._median({5: 1, 40: 1}) == 23
    assert reports._median({1: 3, 100: 1}) == 1
    assert reports._median({2: 2, 4: 2}) == 3
    assert reports.speed_to_lead([]) is None
