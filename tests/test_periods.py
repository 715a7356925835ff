from datetime import UTC, datetime

import pytest

from bot.periods import period


def test_week_starts_monday_local_midnight():
    # Sunday 23:30 UTC is already Monday 07:30 in Shanghai.
    now = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    week = period("week", now, "Asia/Shanghai")
    assert week.first_day.isoformat() == "2026-11-23"
    assert week.start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert (week.end - week.start).days == 7
    assert now in week


def test_boundaries_follow_dst():
    # Berlin leaves summer time on 2026-10-25: that day has 25 hours.
    now = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    today = period("today", now, "Europe/Berlin")
    assert today.start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert today.end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    yesterday = period("yesterday", now, "Europe/Berlin")
    assert yesterday.end == today.start


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("month", "2026-12-01", "2026-12-31"),
        ("quarter", "2026-10-01", "2026-12-31"),
        ("last-week", "2026-12-07", "2026-12-13"),
    ],
)
def test_month_quarter_last_week(name, first, last):
    p = period(name, datetime(2026, 12, 15, 12, tzinfo=UTC), "America/New_York")
    assert (p.first_day.isoformat(), p.last_day.isoformat()) == (first, last)


def test_unknown_period():
    with pytest.raises(ValueError):
        period("fortnight", datetime(2026, 1, 1, tzinfo=UTC), "UTC")


def test_a_span_of_days_in_the_departments_zone():
    from bot.periods import span

    days = span("2026-11-01..2026-11-15", "Asia/Shanghai")
    assert (days.first_day.isoformat(), days.last_day.isoformat()) == ("2026-11-01", "2026-11-15")
    assert days.start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert days.end == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
    one = span("2026-2-3", "UTC")
    assert one.first_day == one.last_day and one.last_day.isoformat() == "2026-02-03"
    assert span("2024-01-01..2024-12-31", "UTC").last_day.isoformat() == "2024-12-31"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-11-15..2026-11-01", "backwards"),
        ("2024-01-01..2025-01-01", "too_long"),
        ("2026-02-30", "format"),
        ("2026-11-01...2026-11-02", "format"),
        ("2026/11/01..2026/11/02", "format"),
    ],
)
def test_a_span_that_cannot_be_used(text, reason):
    from bot.periods import BadSpan, span

    with pytest.raises(BadSpan) as bad:
        span(text, "UTC")
    assert bad.value.reason == reason
