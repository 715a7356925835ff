"""Public holidays and working days (DESIGN.md §9): China's 2026 and 2027 calendars with their
make-up working days (调休), the United States, a department's own extra days; daily digests
and agendas on working days only. Every date is fixed, never today's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session, select

from bot.services.errors import InvalidInput
from bot.services.setup import import_setup
from bot.store.db import make_engine
from bot.store.models import Activity, Department
from bot.workdays import is_working_day, parse_dates, previous_working_day
from jobs import posts, schedules
from jobs.runner import run_job
from jobs.scheduler import build_worker
from tests.conftest import SETUP_TOML, LiveServer
from tests.digest_support import SETUP, client_for, setup_org

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


class Calendar:
    def __init__(self, holidays=None, extra_holidays=None, extra_workdays=None) -> None:
        self.holidays = holidays
        self.extra_holidays = extra_holidays
        self.extra_workdays = extra_workdays


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 1), False),  # Thursday, National Day
        (date(2026, 10, 7), False),  # Wednesday, a day off moved from a Saturday
        (date(2026, 10, 8), True),  # Thursday, back at work
        (date(2026, 10, 10), True),  # Saturday, official make-up working day (调休)
        (date(2026, 9, 20), True),  # Sunday, official make-up working day (调休)
        (date(2026, 10, 11), False),  # an ordinary Sunday
        (date(2027, 1, 1), False),  # New Year's Day 2027
        (date(2027, 2, 5), False),  # Spring Festival's Eve 2027
        (date(2027, 2, 8), False),  # Spring Festival 2027
        (date(2027, 2, 11), True),
    ],
)
def test_china_calendar(day: date, working: bool) -> None:
    assert is_working_day(Calendar("CN"), day) is working


def test_united_states_and_california() -> None:
    us, ca = Calendar("US"), Calendar("US-CA")
    assert not is_working_day(us, date(2026, 11, 26))  # Thanksgiving
    assert is_working_day(us, date(2026, 11, 27))
    assert not is_working_day(ca, date(2026, 11, 27))  # the day after, in California
    assert not is_working_day(us, date(2026, 12, 25))


def test_extra_days_and_no_calendar() -> None:
    plain = Calendar()
    assert is_working_day(plain, date(2026, 10, 1))  # no calendar: Monday–Friday
    assert not is_working_day(plain, date(2026, 10, 10))
    own = Calendar("CN", extra_holidays="2026-12-24,2026-12-31", extra_workdays="2026-12-26")
    assert not is_working_day(own, date(2026, 12, 24))
    assert is_working_day(own, date(2026, 12, 26))  # a Saturday the department works
    assert previous_working_day(Calendar("CN"), date(2026, 10, 8)) == date(2026, 9, 30)
    assert parse_dates([date(2026, 12, 31), "2026-12-24", "2026-12-31"]) == "2026-12-24,2026-12-31"
    assert parse_dates("off") is None
    too_many = ",".join((date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(401))
    with pytest.raises(ValueError):
        parse_dates(too_many)
    with pytest.raises(ValueError):
        parse_dates("2026-02-30")
    assert previous_working_day(Calendar("CN"), date(2026, 10, 12)) == date(2026, 10, 10)


HOLIDAY_SETUP = SETUP.replace(
    'timezone = "Asia/Shanghai"\nmanagers', 'timezone = "Asia/Shanghai"\nholidays = "CN"\nmanagers'
).replace(
    'timezone = "America/New_York"\n',
    'timezone = "America/New_York"\nholidays = "US"\nextra_holidays = [2026-11-27]\n',
)


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


def _department(session: Session, name: str) -> Department:
    return session.exec(select(Department).where(Department.name == name)).one()


def test_setup_file_sets_the_calendar(engine) -> None:
    departments = setup_org(engine, HOLIDAY_SETUP)
    assert departments["Enterprise"].holidays == "CN"
    assert departments["Farmers"].holidays == "US"
    assert departments["Farmers"].extra_holidays == "2026-11-27"


@pytest.mark.parametrize(
    ("line", "key"),
    [('holidays = "Atlantis"', "holidays"), ('extra_workdays = ["12/26"]', "extra_workdays")],
)
def test_setup_file_refuses_a_bad_calendar_with_its_line(engine, line: str, key: str) -> None:
    text = SETUP_TOML.replace("max_leads_per_rep = 200\n", f"max_leads_per_rep = 200\n{line}\n")
    with Session(engine) as session, pytest.raises(InvalidInput) as caught:
        import_setup(session=session, text=text)
    assert caught.value.template == "setup_bad_value"
    assert caught.value.data["key"] == key and caught.value.data["line"] == 17


def test_daily_digests_on_working_days_cover_the_whole_break(engine, fake_slack) -> None:
    setup_org(engine, HOLIDAY_SETUP)
    client = client_for(fake_slack)
    with Session(engine, expire_on_commit=False) as session:
        ent = _department(session, "Enterprise")
        for day in (date(2026, 9, 30), date(2026, 10, 3), date(2026, 10, 7)):
            session.add(
                Activity(
                    user_id="U0REP1",
                    department_id=ent.id,
                    kind="call",
                    occurred_at=_at(day, 15, SHANGHAI),
                )
            )
        session.commit()
    national_day = _at(date(2026, 10, 1), 9, SHANGHAI)
    report = run_job(
        "daily-digest", engine=engine, client=client, now=national_day, department="Enterprise"
    )
    assert ("Enterprise", "not_working_day") in report.skipped
    assert fake_slack.calls_to("chat.postMessage") == []
    # the first working day after the National Day week covers the whole break
    back = _at(date(2026, 10, 8), 9, SHANGHAI)
    report = run_job(
        "daily-digest", engine=engine, client=client, now=back, department="Enterprise"
    )
    assert report.sent == [f"daily-digest:{ent.id}:2026-10-08"]
    text = fake_slack.calls_to("chat.postMessage")[-1].body["text"]
    assert "Wed 30 Sep – Wed 7 Oct · 3 activities" in text
    # the make-up Saturday gets its digest; Monday's covers Saturday and Sunday
    saturday = _at(date(2026, 10, 10), 9, SHANGHAI)
    report = run_job(
        "daily-digest", engine=engine, client=client, now=saturday, department="Enterprise"
    )
    assert report.sent == [f"daily-digest:{ent.id}:2026-10-10"]
    monday = _at(date(2026, 10, 12), 9, SHANGHAI)
    report = run_job(
        "daily-digest", engine=engine, client=client, now=monday, department="Enterprise"
    )
    text = fake_slack.calls_to("chat.postMessage")[-1].body["text"]
    assert "Sat 10 Oct – Sun 11 Oct" in text
    # again on the same day: the outbox key makes it one post
    report = run_job(
        "daily-digest", engine=engine, client=client, now=monday, department="Enterprise"
    )
    assert report.sent == []


def test_schedule_skips_holidays_and_keeps_local_time_across_dst(engine) -> None:
    departments = setup_org(engine, HOLIDAY_SETUP)
    ent, farm = departments["Enterprise"], departments["Farmers"]
    eve = _at(date(2026, 9, 30), 10, SHANGHAI)
    assert schedules.next_run("daily-digest", ent, eve) == _at(date(2026, 10, 8), 9, SHANGHAI)
    friday = _at(date(2026, 9, 25), 10, SHANGHAI)  # Mid-Autumn Festival
    assert schedules.next_run("daily-digest", ent, friday - timedelta(hours=2)) == _at(
        date(2026, 9, 28), 9, SHANGHAI
    )  # Friday 25 Sep is the Mid-Autumn Festival: next is Monday 28 Sep
    # New York leaves summer time on Sunday 1 Nov 2026; Thanksgiving and the extra Friday off
    before_dst = _at(date(2026, 10, 30), 10, NEW_YORK)
    after = schedules.next_run("daily-digest", farm, before_dst)
    assert after == _at(date(2026, 11, 2), 9, NEW_YORK) and after.hour == 9
    wednesday = _at(date(2026, 11, 25), 10, NEW_YORK)
    assert schedules.next_run("daily-digest", farm, wednesday) == _at(
        date(2026, 11, 30), 9, NEW_YORK
    )


def test_no_agenda_for_a_meeting_on_a_holiday_and_the_next_covers_both(engine, fake_slack) -> None:
    departments = setup_org(engine, HOLIDAY_SETUP)
    ent = departments["Enterprise"]
    client = client_for(fake_slack)
    # Monday 5 Oct 2026 is a holiday: its agenda (09:00) is not posted
    holiday_agenda = _at(date(2026, 10, 5), 9, SHANGHAI)
    report = run_job(
        "agenda", engine=engine, client=client, now=holiday_agenda, department="Enterprise"
    )
    assert report.sent == [] and ("Enterprise", "not_working_day") in report.skipped
    assert schedules.next_run("agenda", ent, _at(date(2026, 9, 29), 9, SHANGHAI)) == _at(
        date(2026, 10, 12), 9, SHANGHAI
    )
    with Session(engine) as session:
        post = posts.agenda(
            session, _department(session, "Enterprise"), _at(date(2026, 10, 12), 9, SHANGHAI)
        )
        assert post is not None and post.key == f"agenda:{ent.id}:2026-10-12"
    from bot.services import reports

    with Session(engine) as session:
        dept = _department(session, "Enterprise")
        meeting = datetime(2026, 10, 12, 10, tzinfo=SHANGHAI)
        data = reports.agenda(session, dept, _at(date(2026, 10, 12), 9, SHANGHAI), meeting)
        assert data.since == datetime(2026, 9, 28, 10, tzinfo=SHANGHAI)  # both meetings' span


def _db(server: LiveServer) -> Session:
    return Session(make_engine(server.db_url), expire_on_commit=False)


def test_slack_sets_and_shows_the_calendar(org) -> None:
    reply = org.command("/sales", "dept set Enterprise holidays us", user="U0ADMIN")
    assert "holidays is now US" in reply.text
    reply = org.command("/sales", "dept set Enterprise holidays Atlantis", user="U0ADMIN")
    assert "“Atlantis” is not a valid holidays" in reply.text and "US-CA" in reply.text
    reply = org.command(
        "/sales", "dept set Enterprise extra_holidays 2026-12-31, 2026-12-24", user="U0ADMIN"
    )
    assert "extra_holidays is now 2026-12-24,2026-12-31" in reply.text
    reply = org.command("/sales", "dept set Enterprise extra_workdays 12/26", user="U0ADMIN")
    assert "“12/26” is not a valid extra_workdays" in reply.text and "YYYY-MM-DD" in reply.text
    with _db(org) as session:
        dept = _department(session, "Enterprise")
    assert (dept.holidays, dept.extra_holidays, dept.extra_workdays) == (
        "US",
        "2026-12-24,2026-12-31",
        None,
    )
    reply = org.command("/sales", "dept show Enterprise", user="U0REP1")
    assert "Working days: Monday–Friday, except the public holidays of US (and any" in reply.text
    assert "extra days off: 2026-12-24, 2026-12-31" in reply.text
    thanksgiving = "• Thu 26 Nov 2026 — day off: Thanksgiving Day\n• Thu 24 Dec 2026 — day off\n"
    assert thanksgiving in reply.text
    saturdays = ",".join((date(2027, 1, 2) + timedelta(weeks=n)).isoformat() for n in range(12))
    reply = org.command("/sales", f"dept set Enterprise extra_workdays {saturdays}", user="U0ADMIN")
    assert "extra_workdays is now 2027-01-02," in reply.text
    reply = org.command("/sales", "dept show Enterprise", user="U0REP1")
    assert "extra working days: 2027-01-02, 2027-01-09," in reply.text
    assert "2027-03-06 …and 2 more" in reply.text
    assert "Sat 02 Jan 2027 — working day\n" in reply.text  # the department's own
    assert "Mon 18 Jan 2027 — day off: Martin Luther King Jr. Day\n" in reply.text


def test_show_in_chinese_with_make_up_days(org) -> None:
    reply = org.command("/sales", "dept set SMB holidays CN", user="U0ADMIN")
    assert "holidays is now CN" in reply.text or "CN" in reply.text
    reply = org.command("/sales", "dept show SMB", user="U0REP3")  # SMB reads zh-CN
    assert "工作日：周一至周五，CN 法定节假日除外" in reply.text
    assert "• 2027-01-01 周五 — 休息：元旦\n• 2027-02-05" in reply.text
    assert "2027-02-08 周一 — 休息：春节" in reply.text


def test_the_worker_follows_a_calendar_change_without_a_restart(engine, fake_slack) -> None:
    departments = setup_org(engine)
    ent_id = departments["Enterprise"].id
    at = datetime(2026, 9, 30, 3, 0, tzinfo=UTC)  # Wed 30 Sep 2026, 11:00 in Shanghai
    with time_machine.travel(at, tick=False):
        worker = build_worker(engine=engine, client=client_for(fake_slack), background=True)
        worker.install()
        worker.scheduler.start(paused=True)
        job_id = f"daily-digest:{ent_id}"
        # no calendar: Thursday 1 Oct is an ordinary working day
        first = worker.scheduler.get_job(job_id).trigger.get_next_fire_time(None, at)
        assert first == datetime(2026, 10, 1, 9, tzinfo=SHANGHAI)
        with Session(engine) as session:  # as `/sales dept set Enterprise holidays CN`
            department = session.get(Department, ent_id)
            department.holidays = "CN"
            session.add(department)
            session.commit()
        assert job_id in worker.sync()
        after = worker.scheduler.get_job(job_id).trigger.get_next_fire_time(None, at)
        assert after == datetime(2026, 10, 8, 9, tzinfo=SHANGHAI)
        worker.scheduler.shutdown()
