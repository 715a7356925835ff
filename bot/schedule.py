"""Parsing of schedule settings: ``"09:00"`` (daily, workdays) and ``"fri 17:00"`` (weekly)."""

from __future__ import annotations

import re
from datetime import time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)$")


def parse_time(value: str) -> time:
    """``"09:00"`` → 09:00; raises ValueError on anything else."""
    match = _TIME.match(value.strip())
    if match is None:
        raise ValueError(value)
    return time(int(match["h"]), int(match["m"]))


def parse_weekly(value: str) -> tuple[int, time]:
    """``"fri 17:00"`` → (4, 17:00), Monday being 0; full day names are accepted too."""
    parts = value.strip().lower().split()
    if len(parts) != 2 or parts[0][:3] not in WEEKDAYS:
        raise ValueError(value)
    day = parts[0]
    if len(day) > 3 and not any(day == full for full in _FULL_DAYS):
        raise ValueError(value)
    return WEEKDAYS.index(day[:3]), parse_time(parts[1])


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
