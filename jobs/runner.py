"""``salesbot run-job``: scheduled jobs are not part of this version yet; say so plainly."""

from __future__ import annotations

import sys

from bot import render
from bot.config import Settings


def run_job_cli(settings: Settings, job: str, *, department: str | None, at: str | None) -> int:
    print(render.text("cli.job_not_yet", None, job=job), file=sys.stderr)
    return 2
