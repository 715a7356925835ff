"""Reporting periods in a department's own time zone.

A period is a half-open window ``[start, end)`` of aware UTC datetimes, computed from the
local calendar of the department (its IANA zone), so "this week" starts on Monday 00:00
local time whatever the server's zone, and a DST change never shifts a boundary by an hour.
Weeks start on Monday (ISO 8601); quarters are calendar quarters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIODS = ("today", "yesterday", "week", "last-week", "month", "quarter")


@dataclass(frozen=True)
class Period:
    name: str
    start: datetime
    end: datetime
    first_day: date
    last_day: date

    def __contains__(self, when: datetime) -> bool:
        return self.start <= when < self.end


def local_date(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    """Local midnight of ``day`` as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def window(first_day: date, days_after_last: date, tz: str, name: str) -> Period:
    return Period(
        name=name,
        start=day_start(first_day, tz),
        end=day_start(days_after_last, tz),
        first_day=first_day,
        last_day=days_after_last - timedelta(days=1),
    )


def period(name: str, now: datetime, tz: str) -> Period:
    """The period ``name`` (one of ``PERIODS``) that contains ``now`` (or, for
    ``yesterday`` and ``last-week``, the one just before it). Raises ValueError otherwise."""
    today = local_date(now, tz)
    if name == "today":
        return window(today, today + timedelta(days=1), tz, name)
    if name == "yesterday":
        return window(today - timedelta(days=1), today, tz, name)
    if name in ("week", "last-week"):
        monday = today - timedelta(days=today.weekday())
        if name == "last-week":
            monday -= timedelta(days=7)
        return window(monday, monday + timedelta(days=7), tz, name)
    if name == "month":
        first = today.replace(day=1)
        return window(first, _add_months(first, 1), tz, name)
    if name == "quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return window(first, _add_months(first, 3), tz, name)
    raise ValueError(name)


def _add_months(first: date, months: int) -> date:
    month = first.month - 1 + months
    return date(first.year + month // 12, month % 12 + 1, 1)
