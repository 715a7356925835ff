"""Working days: the one answer to "is this a working day here" for a department.

A working day is a weekday that is not a public holiday of the department's calendar
(``holidays = "CN"``, or ``"US-CA"`` with a subdivision, from the ``holidays`` package) nor
one of its ``extra_holidays``; or a day that is a working day all the same: one of its
``extra_workdays``, or an official make-up working day on a weekend (China's 调休, such as
Saturday 2026-10-10). A department without a calendar works Monday to Friday.

The days are the department's local days (its ``timezone``), so a DST change never moves a
holiday. The package's calendar is built once per (calendar, year) and cached; the
department's own extra days are read from its row each time, so a change from Slack counts at
once. An extra working day wins over an extra holiday listed for the same date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

#: How far back the previous working day is looked for (a long break is a few weeks at most).
LOOKBACK_DAYS = 60

#: At most this many extra days per list: a year of them, plus a few.
MAX_EXTRA_DAYS = 400

_SPEC = re.compile(r"^([A-Za-z]{2,3})(?:-([A-Za-z0-9]{1,4}))?$")


class HasCalendar(Protocol):
    holidays: str | None
    extra_holidays: str | None
    extra_workdays: str | None


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"US-CA"`` → ("US", "CA"); raises ValueError for a calendar the package lacks."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(spec)
    country, subdiv = match.group(1).upper(), match.group(2)
    supported = holiday_calendars.list_supported_countries()
    if country not in supported:
        raise ValueError(spec)
    if subdiv is not None:
        subdivisions = {s.upper(): s for s in supported[country]}
        if subdiv.upper() not in subdivisions:
            raise ValueError(spec)
        subdiv = subdivisions[subdiv.upper()]
    return country, subdiv


def parse_calendar(text: str) -> str | None:
    """The value to store for ``holidays``: ``"CN"``, ``"US-CA"``; ``off``/empty → None."""
    clean = text.strip()
    if clean.lower() in ("", "off", "none"):
        return None
    country, subdiv = split_spec(clean)
    return f"{country}-{subdiv}" if subdiv else country


def parse_dates(value: Any) -> str | None:
    """``extra_holidays`` / ``extra_workdays``: ISO dates as a list (setup file) or separated
    by commas or spaces (Slack) → sorted, de-duplicated, stored as ``"2026-12-24,2026-12-31"``;
    ``off``/empty → None. Raises ValueError naming nothing: the caller says what to type."""
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
    else:
        text = str(value).strip()
        if text.lower() in ("off", "none"):
            return None
        items = re.split(r"[\s,，]+", text.strip("[]"))
    days = set()
    for item in items:
        item = item.strip().strip("\"'")
        if not item:
            continue
        days.add(date.fromisoformat(item) if len(item) == 10 else _bad(item))
    if len(days) > MAX_EXTRA_DAYS:
        raise ValueError(f"{len(days)} dates")
    return ",".join(day.isoformat() for day in sorted(days)) or None


def _bad(item: str) -> date:
    raise ValueError(item)


def dates_of(stored: str | None) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in (stored or "").split(",") if d)


@cache
def _calendar(spec: str, year: int) -> holiday_calendars.HolidayBase:
    country, subdiv = split_spec(spec)
    return holiday_calendars.country_holidays(country, subdiv=subdiv, years=year)


def is_working_day(department: HasCalendar, day: date) -> bool:
    """Is ``day`` (a local date of the department) a working day there."""
    if day in dates_of(department.extra_workdays):
        return True
    if day in dates_of(department.extra_holidays):
        return False
    if department.holidays:
        try:
            return bool(_calendar(department.holidays, day.year).is_working_day(day))
        except (ValueError, NotImplementedError, KeyError):
            pass  # a calendar the package no longer knows: weekdays, as without one
    return day.weekday() < 5


def previous_working_day(department: HasCalendar, day: date) -> date:
    """The last working day before ``day`` (``day`` minus one when none is found)."""
    for back in range(1, LOOKBACK_DAYS + 1):
        if is_working_day(department, day - timedelta(days=back)):
            return day - timedelta(days=back)
    return day - timedelta(days=1)


@dataclass(frozen=True)
class Day:
    """A day whose working status differs from plain Monday–Friday, for ``/sales dept show``."""

    day: date
    working: bool  #: True: a working day on a weekend (official make-up day or extra)
    name: str | None  #: the public holiday's name in the reader's language, if it is one
    extra: bool  #: listed by the department itself (``extra_holidays`` / ``extra_workdays``)


def _named(spec: str, year: int, locale: str) -> holiday_calendars.HolidayBase:
    language = locale.replace("-", "_")
    calendar = _calendar(spec, year)
    if language in (calendar.supported_languages or ()):
        return _calendar_in(spec, year, language)
    return calendar


@cache
def _calendar_in(spec: str, year: int, language: str) -> holiday_calendars.HolidayBase:
    country, subdiv = split_spec(spec)
    return holiday_calendars.country_holidays(country, subdiv=subdiv, years=year, language=language)


def upcoming(
    department: HasCalendar, start: date, *, days: int = 90, locale: str = "en"
) -> list[Day]:
    """The days from ``start`` on (``days`` of them) that are not what Monday–Friday alone
    would make them: public holidays and extra days off on weekdays, and working weekend days.
    A holiday that falls on a weekend changes nothing and is not listed."""
    found = []
    extra = dates_of(department.extra_holidays) | dates_of(department.extra_workdays)
    for offset in range(days):
        day = start + timedelta(days=offset)
        working = is_working_day(department, day)
        if working == (day.weekday() < 5):
            continue
        name = None
        if not working and department.holidays and day not in extra:
            try:
                name = _named(department.holidays, day.year, locale).get(day)
            except (ValueError, NotImplementedError, KeyError):
                name = None
        found.append(Day(day=day, working=working, name=name, extra=day in extra))
    return found


# ------------------------------------------------------------------ working time

#: ``work_hours`` when a department has none: the routing clock's default (DESIGN §8)
WORK_HOURS = "09:00-18:00"
_HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*[-–~]\s*([01]?\d|2[0-4]):([0-5]\d)$")
#: How far ahead a due time is looked for; a department with no working day in a year has
#: its offers timed in plain minutes.
LOOKAHEAD_DAYS = 370


class HasWorkingTime(HasCalendar, Protocol):
    timezone: str
    work_hours: str


def parse_work_hours(text: str) -> str:
    """``"09:00-18:00"`` → the value to store (``"09:00-18:00"``); the end after the start.
    Raises ValueError."""
    match = _HOURS.match(text.strip())
    if not match:
        raise ValueError(text)
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if end <= start or end > 24 * 60:
        raise ValueError(text)
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _minutes_of_day(spec: str | None) -> tuple[int, int]:
    try:
        clean = parse_work_hours(spec or WORK_HOURS)
    except ValueError:
        clean = WORK_HOURS
    start, end = clean.split("-")
    return (
        int(start[:2]) * 60 + int(start[3:]),
        int(end[:2]) * 60 + int(end[3:]),
    )


def _windows(department: HasWorkingTime, after: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The department's working windows (aware UTC pairs) from the local day of ``after``
    on, each a working day's ``work_hours``, for :data:`LOOKAHEAD_DAYS`."""
    zone = ZoneInfo(department.timezone or "UTC")
    first, last = _minutes_of_day(department.work_hours)
    day = after.astimezone(zone).date()
    for _ in range(LOOKAHEAD_DAYS):
        if is_working_day(department, day):
            midnight = datetime.combine(day, time(0), tzinfo=zone)
            # Local wall times through the zone (a DST day keeps its 09:00 and 18:00).
            opens = (midnight + timedelta(minutes=first)).replace(tzinfo=None)
            closes = (midnight + timedelta(minutes=last)).replace(tzinfo=None)
            yield (
                opens.replace(tzinfo=zone).astimezone(UTC),
                closes.replace(tzinfo=zone).astimezone(UTC),
            )
        day += timedelta(days=1)


def add_working_minutes(department: HasWorkingTime, start: datetime, minutes: int) -> datetime:
    """The instant ``minutes`` of the department's working time after ``start``: counted only
    within ``work_hours`` on its working days (an offer made on Friday evening falls due on
    Monday morning). Plain minutes when the department has no working time within a year."""
    left = timedelta(minutes=minutes)
    for opens, closes in _windows(department, start):
        if closes <= start:
            continue
        begin = max(opens, start)
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    return start + timedelta(minutes=minutes)


def working_minutes(department: HasWorkingTime, start: datetime, end: datetime) -> int:
    """Whole minutes of the department's working time between ``start`` and ``end`` (speed
    to lead)."""
    if end <= start:
        return 0
    total = timedelta()
    for opens, closes in _windows(department, start):
        if opens >= end:
            break
        begin, finish = max(opens, start), min(closes, end)
        if finish > begin:
            total += finish - begin
    return int(total.total_seconds() // 60)
