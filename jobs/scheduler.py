"""``salesbot worker``: the one scheduler process (web processes never schedule).

Jobs added at start have explicit ids and ``replace_existing``; ``coalesce`` and a generous
``misfire_grace_time`` mean a worker that was restarting still runs a missed job once.
Idempotency lives in the outbox key, not in the scheduler.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from bot.config import Settings
from bot.store.db import make_engine
from jobs.runner import run_job, worker_client

log = logging.getLogger("salesbot.worker")

OUTBOX_SECONDS = 15


def build_scheduler(settings: Settings) -> BlockingScheduler:
    engine = make_engine(settings.database_url)
    client = worker_client(settings)
    scheduler = BlockingScheduler(timezone="UTC")

    def deliver() -> None:
        report = run_job("deliver-outbox", engine=engine, client=client, now=datetime.now(UTC))
        if report.sent or report.retrying:
            log.info("outbox: %d sent, %d retrying", len(report.sent), len(report.retrying))

    scheduler.add_job(
        deliver,
        "interval",
        seconds=OUTBOX_SECONDS,
        id="deliver-outbox",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def run_worker(settings: Settings) -> None:
    scheduler = build_scheduler(settings)
    log.info("worker started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    scheduler.start()
