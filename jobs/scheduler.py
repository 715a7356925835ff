"""``salesbot worker``: the one scheduler process (web processes never schedule).

One APScheduler scheduler holds, with explicit ids and ``replace_existing``:

* ``daily-digest:<department id>``, ``weekly-digest:<id>``, ``agenda:<id>``: cron triggers in
  the department's own IANA zone (jobs/schedules.py), ``coalesce`` and a one-hour
  ``misfire_grace_time``, so a late run happens once and a DST change neither skips nor
  doubles a post;
* ``deliver-outbox`` every 15 seconds, and every other periodic job of the registry;
* ``sync`` every minute: it re-reads the departments and adds, replaces or removes their jobs,
  so a schedule changed from Slack (``/sales dept set``) or by ``salesbot setup`` applies
  without a restart.

Catch-up: when a department's job is added (at start, or after a schedule change) and its
latest scheduled time lies within the grace period, the job runs at once for that time — a
worker started at 09:20 still posts the 09:00 digest. Idempotency lives in the outbox key,
not in the scheduler: a catch-up, a second worker or a manual ``run-job`` for the same period
finds the key taken and posts nothing more.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from prometheus_client import start_http_server
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import metrics
from bot.config import Settings
from bot.store.db import make_engine
from bot.store.models import Department
from jobs import schedules
from jobs.runner import JOBS, run_job, worker_client

log = logging.getLogger("salesbot.worker")

#: A worker down for less than this at a scheduled time still posts (once) when it is back.
GRACE = timedelta(hours=1)
SYNC_SECONDS = 60
#: Registry jobs that run on an interval, for every department at once (seconds).
INTERVALS = {
    "deliver-outbox": 15,
    "offers": 60,
    "expire-claims": 15 * 60,
    "prune-events": 60 * 60,
    "handoffs": 60 * 60,
}


@dataclass(frozen=True)
class Planned:
    job: str
    department_id: int
    timezone: str
    spec: str
    #: the holiday settings the trigger skips by: a change from Slack replaces the job
    calendar: schedules.Calendar | None = None


class Worker:
    """The scheduler and the jobs it keeps in step with the departments table."""

    def __init__(self, engine: Engine, client: WebClient, scheduler: BaseScheduler) -> None:
        self.engine, self.client, self.scheduler = engine, client, scheduler
        self._planned: dict[str, Planned] = {}
        self._lock = threading.Lock()

    # ── the jobs ─────────────────────────────────────────────────────────────────────────
    def run_department_job(self, job: str, department_id: int) -> None:
        """A scheduled post, run for the scheduled time it belongs to (not a few ms later)."""
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            department = session.get(Department, department_id)
            if department is None:
                return
            due = schedules.missed_run(job, department, now, GRACE)
        if due is None:
            log.debug("%s for department %s: nothing due at %s", job, department_id, now)
            return
        report = run_job(
            job, engine=self.engine, client=self.client, now=due, department=department_id
        )
        log.info(
            "%s for department %s at %s: queued %s, already %s, sent %d, retrying %d",
            job,
            department_id,
            due.isoformat(),
            report.enqueued,
            report.already,
            len(report.sent),
            len(report.retrying),
        )

    def run_periodic(self, job: str) -> None:
        report = run_job(job, engine=self.engine, client=self.client, now=datetime.now(UTC))
        if report.sent or report.retrying or report.enqueued:
            log.info("%s: %d sent, %d retrying", job, len(report.sent), len(report.retrying))

    # ── keeping the schedule in step ─────────────────────────────────────────────────────
    def plan(self) -> dict[str, Planned]:
        """The department jobs the table asks for, by job id."""
        wanted: dict[str, Planned] = {}
        with Session(self.engine) as session:
            for department in session.exec(select(Department).order_by(Department.id)):
                for job in schedules.SCHEDULED_JOBS:
                    spec = schedules.spec_of(job, department)
                    if spec is None or schedules.trigger_for(job, department) is None:
                        continue
                    assert department.id is not None
                    wanted[f"{job}:{department.id}"] = Planned(
                        job,
                        department.id,
                        department.timezone,
                        spec,
                        schedules.Calendar.of(department),
                    )
        return wanted

    def sync(self) -> list[str]:
        """Add, replace and remove department jobs to match the table; catch up on what a
        newly added job missed. Returns the ids that changed."""
        with self._lock:
            wanted = self.plan()
            changed = [i for i, p in wanted.items() if self._planned.get(i) != p]
            for job_id in set(self._planned) - set(wanted):
                if self.scheduler.get_job(job_id) is not None:
                    self.scheduler.remove_job(job_id)
                self._planned.pop(job_id)
                log.info("removed %s", job_id)
            for job_id in changed:
                planned = wanted[job_id]
                with Session(self.engine) as session:
                    department = session.get(Department, planned.department_id)
                    trigger = schedules.trigger_for(planned.job, department) if department else None
                if trigger is None:
                    continue
                self.scheduler.add_job(
                    self.run_department_job,
                    trigger=trigger,
                    args=(planned.job, planned.department_id),
                    id=job_id,
                    name=f"{planned.job} {planned.spec} {planned.timezone}",
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=int(GRACE.total_seconds()),
                )
                self._planned[job_id] = planned
                log.info("scheduled %s: %s (%s)", job_id, planned.spec, planned.timezone)
        for job_id in changed:
            planned = wanted[job_id]
            self.run_department_job(planned.job, planned.department_id)  # catch-up, if due
        return changed

    def install(self) -> None:
        """Add the periodic jobs and the department jobs (with their catch-up)."""
        for job, seconds in INTERVALS.items():
            if job not in JOBS:
                continue
            self.scheduler.add_job(
                self.run_periodic,
                "interval",
                seconds=seconds,
                args=(job,),
                id=job,
                name=job,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(GRACE.total_seconds()),
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.add_job(
            self.sync,
            "interval",
            seconds=SYNC_SECONDS,
            id="sync",
            name="sync departments and schedules",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(GRACE.total_seconds()),
        )
        self.sync()


def build_worker(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    client: WebClient | None = None,
    background: bool = False,
) -> Worker:
    """A worker on ``settings`` (or the given engine and client); ``background`` runs the
    scheduler on a thread (tests, the shell) instead of blocking."""
    if engine is None or client is None:
        assert settings is not None
        engine = engine or make_engine(settings.database_url)
        client = client or worker_client(settings)
    scheduler_class = BackgroundScheduler if background else BlockingScheduler
    return Worker(engine, client, scheduler_class(timezone="UTC"))


def run_worker(settings: Settings) -> None:
    worker = build_worker(settings)
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, registry=metrics.registry(worker.engine))
        log.info("metrics on port %s", settings.metrics_port)
    worker.install()
    log.info("worker started: %s", ", ".join(job.id for job in worker.scheduler.get_jobs()))
    worker.scheduler.start()
