"""``salesbot worker``: the scheduler process is not part of this version yet; say so plainly."""

from __future__ import annotations

import sys

from bot import render
from bot.config import Settings


def run_worker(settings: Settings) -> None:
    print(render.text("cli.job_not_yet", None, job="worker"), file=sys.stderr)
    raise SystemExit(2)
