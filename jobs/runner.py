"""Running one job now: ``salesbot run-job``, the worker's scheduler and the shell's ``:run``.

``deliver-outbox`` is built; digests, agendas and claim expiry are not part of this version
yet and say so plainly instead of pretending to run.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot import render
from bot.config import Settings
from bot.slack_client import make_client
from bot.store.db import make_engine
from jobs import outbox

BUILT = ("deliver-outbox",)


class JobNotAvailable(Exception):
    """The job exists in the design but not in this version."""


def worker_client(settings: Settings) -> WebClient:
    """No retries inside a call: the outbox reschedules failed posts itself."""
    return make_client(settings, retries=False)


def run_job(
    job: str, *, engine: Engine, client: WebClient, now: datetime, department: str | None = None
) -> outbox.DeliveryReport:
    if job == "deliver-outbox":
        return outbox.deliver_due(engine, client, now=now)
    raise JobNotAvailable(job)


def parse_at(value: str | None) -> datetime:
    """``--at`` as an aware datetime (naive means UTC); now when absent."""
    if value is None:
        return datetime.now(UTC)
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_job_cli(settings: Settings, job: str, *, department: str | None, at: str | None) -> int:
    try:
        now = parse_at(at)
    except ValueError:
        print(render.text("cli.bad_at", None, value=at), file=sys.stderr)
        return 2
    try:
        report = run_job(
            job,
            engine=make_engine(settings.database_url),
            client=worker_client(settings),
            now=now,
            department=department,
        )
    except JobNotAvailable:
        print(render.text("cli.job_not_yet", None, job=job), file=sys.stderr)
        return 2
    print(
        render.text(
            "cli.job_done", None, job=job, sent=len(report.sent), retrying=len(report.retrying)
        )
    )
    return 0
