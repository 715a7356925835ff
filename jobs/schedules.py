"""When each department's posts are due: cron triggers in the department's own IANA zone.

A department's ``daily_digest`` ("09:00", on working days: ``bot.workdays``), ``weekly_digest``
("fri 17:00") and ``meeting`` ("mon 10:00"; its agenda is posted ``AGENDA_LEAD`` before)
become APScheduler ``CronTrigger``\\ s with an explicit timezone, so a DST change moves the
UTC instant and never skips or repeats a local 09:00. The worker, the catch-up at start and
the ``/sales digest`` preview all ask this module, so they agree on when the next post is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot import workdays
from bot.schedule import WEEKDAYS, parse_time, parse_weekly
from bot.store.models import Department

AGENDA_LEAD = timedelta(minutes=60)
SCHEDULED_JOBS = ("daily-digest", "weekly-digest", "agenda")


def spec_of(job: str, department: Department) -> str | None:
    """The department's setting behind ``job`` (None when that post is off)."""
    value = {
        "daily-digest": department.daily_digest,
        "weekly-digest": department.weekly_digest,
        "agenda": department.meeting,
    }[job]
    return value or None


class LocalCronTrigger(CronTrigger):
    """A ``CronTrigger`` whose fire times only move forward.

    At the end of summer time APScheduler 3.11's cron trigger can answer the repeated local
    hour's instant again and again (agronholm/apscheduler#1021), and the scheduler's catch-up
    loop then never ends. Here an answer that is not after the previous fire time (or, with
    none, before ``now``) is asked again from an hour later. A repeated local hour may still
    fire twice; the outbox key (one post per local day or week) makes that one post.
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire = super().get_next_fire_time(previous_fire_time, now)
        probe = now if previous_fire_time is None else previous_fire_time
        # compare instants: an interzone comparison of a folded local time is not reliable
        floor, may_equal = probe.timestamp(), previous_fire_time is None
        for _ in range(48):
            if fire is None:
                return None
            at = fire.timestamp()
            if at > floor or (may_equal and at == floor):
                return fire
            probe += timedelta(hours=1)
            fire = super().get_next_fire_time(None, probe)
        return None


class WorkingDayTrigger(LocalCronTrigger):
    """A daily or weekly trigger that fires only when the day it serves is a working day of
    the department (``bot.workdays.is_working_day``): the daily digest's own day, or the
    meeting's day for an agenda posted ``offset`` before it. A daily digest fires every day of
    the week and is filtered here, so an official make-up working Saturday (China's 调休)
    gets its digest and a public holiday gets none."""

    def __init__(self, *, calendar: Calendar, offset: timedelta, **fields: object) -> None:
        super().__init__(**fields)
        self.calendar, self.offset = calendar, offset

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire = super().get_next_fire_time(previous_fire_time, now)
        for _ in range(workdays.LOOKBACK_DAYS * 2):
            if fire is None:
                return None
            served = (fire + self.offset).astimezone(self.timezone).date()
            if workdays.is_working_day(self.calendar, served):
                return fire
            fire = super().get_next_fire_time(fire, fire + timedelta(seconds=1))
        return None


@dataclass(frozen=True)
class Calendar:
    """A snapshot of a department's holiday settings, for a trigger that outlives its row."""

    holidays: str | None
    extra_holidays: str | None
    extra_workdays: str | None

    @classmethod
    def of(cls, department: Department) -> Calendar:
        return cls(department.holidays, department.extra_holidays, department.extra_workdays)


def _cron(
    days: str,
    at: time,
    tz: str,
    department: Department | None = None,
    offset: timedelta = timedelta(0),
) -> CronTrigger:
    fields = {"day_of_week": days, "hour": at.hour, "minute": at.minute, "timezone": ZoneInfo(tz)}
    if department is None:
        return LocalCronTrigger(**fields)
    return WorkingDayTrigger(calendar=Calendar.of(department), offset=offset, **fields)


def trigger_for(job: str, department: Department) -> CronTrigger | None:
    """The trigger of ``job`` for ``department``; None when it is off or its setting is bad."""
    spec = spec_of(job, department)
    if spec is None:
        return None
    try:
        if job == "daily-digest":
            # every day, then only working days (a make-up Saturday included)
            return _cron("mon-sun", parse_time(spec), department.timezone, department)
        day, at = parse_weekly(spec)
        if job == "agenda":  # no agenda for a meeting on a holiday
            day, at = _before(day, at, AGENDA_LEAD)
            return _cron(WEEKDAYS[day], at, department.timezone, department, AGENDA_LEAD)
        return _cron(WEEKDAYS[day], at, department.timezone)
    except (ValueError, ZoneInfoNotFoundError):
        return None


def meeting_trigger(department: Department) -> CronTrigger | None:
    if not department.meeting:
        return None
    try:
        day, at = parse_weekly(department.meeting)
        return _cron(WEEKDAYS[day], at, department.timezone)
    except (ValueError, ZoneInfoNotFoundError):
        return None


def _before(day: int, at: time, lead: timedelta) -> tuple[int, time]:
    """The weekday and time ``lead`` before ``day`` at ``at`` (may fall on the day before)."""
    week = 7 * 24 * 60
    minutes = (day * 24 * 60 + at.hour * 60 + at.minute - int(lead.total_seconds() // 60)) % week
    return minutes // (24 * 60), time(minutes % (24 * 60) // 60, minutes % 60)


def next_run(job: str, department: Department, now: datetime) -> datetime | None:
    """The first scheduled time of ``job`` at or after ``now``."""
    trigger = trigger_for(job, department)
    return trigger.get_next_fire_time(None, now) if trigger else None


def missed_run(
    job: str, department: Department, now: datetime, grace: timedelta
) -> datetime | None:
    """The scheduled time of ``job`` within ``grace`` before ``now``, if there is one: what a
    worker that was down at that moment still owes."""
    trigger = trigger_for(job, department)
    if trigger is None:
        return None
    fire = trigger.get_next_fire_time(None, now - grace)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def next_meeting(department: Department, now: datetime) -> datetime | None:
    """The department's next meeting at or after ``now``."""
    trigger = meeting_trigger(department)
    return trigger.get_next_fire_time(None, now) if trigger else None


def zone(department: Department) -> ZoneInfo:
    return ZoneInfo(department.timezone)
