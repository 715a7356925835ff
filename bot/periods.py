"""Reporting periods in a department's own time zone.

A period is a half-open window ``[start, end)`` of aware UTC datetimes, computed from the
local calendar of the department (its IANA zone), so "this week" starts on Monday 00:00
local time whatever the server's zone, and a DST change never shifts a boundary by an hour.
Weeks start on Monday (ISO 8601); quarters are calendar quarters.

Besides the named periods, a report or an export may cover a span of days typed as
``YYYY-MM-DD..YYYY-MM-DD`` (both days included; a single ``YYYY-MM-DD`` is that one day), at
most :data:`MAX_SPAN_DAYS` days long: a year, leap day included, is the longest span anyone
asks a chat bot for, and it keeps an export's files a sensible size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIODS = ("today", "yesterday", "week", "last-week", "month", "quarter")
#: The longest span of days a report or an export covers.
MAX_SPAN_DAYS = 366
#: The name of a period given as a span of days.
SPAN = "span"
_SPAN = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})(?:\.\.(\d{4}-\d{1,2}-\d{1,2}))?$")
_SPAN_LIKE = re.compile(r"^\d{4}-|\.\.|^\d{1,2}[-/]\d{1,2}")


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


class BadSpan(ValueError):
    """A span of days that cannot be used; ``reason`` is ``format``, ``backwards`` or
    ``too_long`` (the template explains each)."""

    def __init__(self, reason: str, given: str, first: date | None = None, days: int = 0):
        super().__init__(f"{reason}: {given}")
        self.reason, self.given, self.first, self.days = reason, given, first, days


def looks_like_span(word: str) -> bool:
    """Whether ``word`` was meant as a date or a span of dates (even a mistyped one)."""
    return bool(_SPAN_LIKE.search(word))


def span(word: str, tz: str) -> Period:
    """The days ``YYYY-MM-DD..YYYY-MM-DD`` (or one ``YYYY-MM-DD``) in zone ``tz``, both ends
    included. Raises :class:`BadSpan` for a malformed, backwards or too long span."""
    match = _SPAN.match(word.strip())
    if match is None:
        raise BadSpan("format", word)
    try:
        first = date.fromisoformat(_padded(match[1]))
        last = date.fromisoformat(_padded(match[2] or match[1]))
    except ValueError:
        raise BadSpan("format", word) from None
    if last < first:
        raise BadSpan("backwards", word, first=last, days=(first - last).days + 1)
    days = (last - first).days + 1
    if days > MAX_SPAN_DAYS:
        raise BadSpan("too_long", word, first=first, days=days)
    return window(first, last + timedelta(days=1), tz, SPAN)


def _padded(text: str) -> str:
    year, month, day = text.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"
