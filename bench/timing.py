"""Timing two or more sides of a benchmark in the same run, in alternating order, so that every
side sees the same machine conditions (a side always timed first would pay for warm caches or
lose to them)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def alternating(sides: dict[str, Callable[[int], object]], rounds: int) -> dict[str, list[float]]:
    """Milliseconds of each side per round; round ``n`` calls every side with ``n``, starting
    from a different side each round (A B C, B C A, C A B …)."""
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    for n in range(rounds):
        shift = n % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            sides[name](n)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items()}


class CheckFailed(SystemExit):
    """A benchmark's own check (the two sides agree …) failed: it stops with exit status 1 and
    the reason. Unlike ``assert``, it holds under ``python -O``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"check failed: {reason}")


def check(condition: bool, reason: str) -> None:
    if not condition:
        raise CheckFailed(reason)
