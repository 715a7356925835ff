"""Running one job now: ``salesbot run-job``, the worker's scheduler and the shell's ``:run``.

``JOBS`` is the registry: a job name → a function ``(engine, client, now, department) ->
JobReport``, where ``department`` is None (every department), a department id (the worker)
or a name (``--department``). Adding a job is one line here. Every job but
``deliver-outbox`` only puts posts in the outbox; ``run_job`` then delivers what is due, so a
job run by hand posts at once and, like the worker, exactly once per period.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot import metrics, render
from bot.config import Settings
from bot.money import currency_of
from bot.services.errors import ServiceError
from bot.slack_client import make_client
from bot.store.db import make_engine
from bot.store.models import ProcessedEvent
from jobs import digests, expire_claims, handoffs, offers, outbox
from jobs.report import JobReport

Job = Callable[[Engine, WebClient, datetime, "str | int | None"], JobReport]


def deliver_outbox_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    delivered = outbox.deliver_due(engine, client, now=now)
    return JobReport(sent=delivered.sent, retrying=delivered.retrying)


#: How long a Slack event id is remembered: Slack re-sends an event within minutes (three
#: retries, the last about five minutes after the first attempt); a day is ample.
EVENT_RETENTION = timedelta(days=1)


def prune_events_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    """Forget the ids of events received longer ago than :data:`EVENT_RETENTION`."""
    with Session(engine) as session:
        removed = session.execute(
            delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < now - EVENT_RETENTION)
        )
        session.commit()
    return JobReport(pruned=removed.rowcount)


JOBS: dict[str, Job] = {
    "daily-digest": digests.daily_digest_job,
    "weekly-digest": digests.weekly_digest_job,
    "agenda": digests.agenda_job,
    "expire-claims": expire_claims.expire_claims_job,
    "deliver-outbox": deliver_outbox_job,
    "prune-events": prune_events_job,
    "offers": offers.offers_job,
    "handoffs": handoffs.handoffs_job,
}


class JobNotAvailable(Exception):
    """The job exists in the design but not in this version."""


def worker_client(settings: Settings) -> WebClient:
    """No retries inside a call: the outbox reschedules failed posts itself."""
    return make_client(settings, retries=False)


def run_job(
    job: str,
    *,
    engine: Engine,
    client: WebClient,
    now: datetime,
    department: str | int | None = None,
    deliver: bool = True,
) -> JobReport:
    """Run ``job`` as if the clock read ``now``, then deliver what is due (unless told not to)."""
    function = JOBS.get(job)
    if function is None:
        raise JobNotAvailable(job)
    with Session(engine) as session:
        currency_of(session)  # every amount this run renders is in the company's currency
    try:
        report = function(engine, client, now, department)
    except Exception:
        metrics.JOB_RUNS.labels(job, "error").inc()
        raise
    metrics.JOB_RUNS.labels(job, "ok").inc()
    if deliver and job != "deliver-outbox":
        delivered = outbox.deliver_due(engine, client, now=now)
        report.sent += delivered.sent
        report.retrying += delivered.retrying
    return report


def parse_at(value: str | None) -> datetime:
    """``--at`` as an aware datetime (naive means UTC); now when absent."""
    if value is None:
        return datetime.now(UTC)
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def describe(job: str, report: JobReport) -> str:
    return render.plain(render.text("cli.job_report", None, job=job, report=report))


def run_job_cli(settings: Settings, job: str, *, department: str | None, at: str | None) -> int:
    try:
        now = parse_at(at)
    except ValueError:
        print(render.plain(render.text("cli.bad_at", None, value=at)), file=sys.stderr)
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
        message = render.text("cli.job_not_yet", None, job=job, available=list(JOBS))
        print(render.plain(message), file=sys.stderr)
        return 2
    except ServiceError as error:
        print(render.plain(render.text(error.template_path, None, **error.data)), file=sys.stderr)
        return 2
    print(describe(job, report))
    return 0
