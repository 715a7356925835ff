"""The ``handoffs`` job (hourly; also ``salesbot run-job handoffs --at …``): won customers
whose handoff fell due go to the target department's rotation (DESIGN §10).

Each due handoff is offered in its own transaction, inside its lead's lock, and only while it
is still due (a ``/lead handoff`` at the same moment offers it once); one whose deal was
reopened or lost meanwhile is cancelled. The messages it queues (the offer's DM and channel
line) are sent by ``run_job``'s delivery right after, like every job's.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.services import handoffs
from jobs.report import JobReport


def handoffs_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    report = JobReport()
    with Session(engine, expire_on_commit=False) as session:
        for handoff_id in handoffs.due(session, now):
            offered, _posts = handoffs.offer_due(session, handoff_id, now)
            if offered:
                report.handoffs_offered += 1
    return report
