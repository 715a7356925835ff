"""The ``offers`` job (every minute): offers nobody answered in time move on to the next rep.

An offer times out ``accept_minutes`` of working time after it was made (its ``due_at``,
bot.workdays); an offer to a rep who is away today is withdrawn. Each is settled by one
conditional UPDATE, so an Accept arriving at the same moment either wins (and this finds the
offer settled) or loses (and is told the offer moved on). The messages it queues are sent by
``run_job``'s delivery right after, like every job's.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.services import routing
from jobs.report import JobReport


def offers_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    report = JobReport()
    with Session(engine, expire_on_commit=False) as session:
        for offer, status in routing.due_offers(session, now):
            if routing.move_on(session, offer, status, now):  # settled meanwhile: nothing
                report.offers_moved += 1
    return report
