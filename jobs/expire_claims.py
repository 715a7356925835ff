"""The job ``expire-claims`` (DESIGN §5): warn owners before a claim expires and return
expired claims to the pool.

Per department: a lead whose protection ends within ``warn_days`` gets one DM to its owner
with Log and Release buttons; a lead past ``expires_at`` goes back to the pool, the audit trail
records it and the department channel is told. Won leads never expire. Each change and its
post are one transaction: the lead row is changed by a conditional UPDATE (a second worker, or
an activity logged at the same moment, makes it a no-op) and the post is an outbox row with a
unique key, so nothing is warned or announced twice. Run it hourly from the worker or by hand
with ``salesbot run-job expire-claims --at …``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import render
from bot.store.models import Department, Lead, OwnershipEvent
from jobs import outbox
from jobs.digests import departments
from jobs.report import JobReport


def expire_claims_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    report = JobReport()
    with Session(engine, expire_on_commit=False) as session:
        for dept in departments(session, department):
            _warn(session, dept, now, report)
            _expire(session, dept, now, report)
    return report


def _open_claims(dept: Department):  # type: ignore[no-untyped-def]
    return select(Lead).where(
        Lead.department_id == dept.id,
        col(Lead.owner_id).is_not(None),
        Lead.stage != "won",
        col(Lead.expires_at).is_not(None),
    )


def _post(session: Session, report: JobReport, key: str, channel: str, payload: dict, now) -> bool:
    """Commit the pending change with its post; False (and nothing done) if the key exists."""
    added = outbox.enqueue(session, key=key, channel=channel, payload=payload, now=now)
    report.queued(key, added)
    return added


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M")


def _warn(session: Session, dept: Department, now: datetime, report: JobReport) -> None:
    due = session.exec(
        _open_claims(dept).where(
            col(Lead.expires_at) > now,
            col(Lead.expires_at) <= now + timedelta(days=dept.warn_days),
            col(Lead.warned_at).is_(None),
        )
    ).all()
    for lead in due:
        marked = session.execute(
            update(Lead)
            .where(col(Lead.id) == lead.id, col(Lead.warned_at).is_(None))
            .values(warned_at=now)
        )
        if marked.rowcount != 1:
            session.rollback()
            continue
        message = render.message(
            "lead.expiry_warning",
            dept.locale,
            lead=lead,
            department=dept.name,
            expires=lead.expires_at,
            zone=dept.timezone,
        )
        key = f"expire-warn:{lead.id}:{_stamp(lead.expires_at)}"
        _post(session, report, key, lead.owner_id, message.as_post(), now)


def _expire(session: Session, dept: Department, now: datetime, report: JobReport) -> None:
    due = session.exec(_open_claims(dept).where(col(Lead.expires_at) <= now)).all()
    for lead in due:
        owner, expired_at = lead.owner_id, lead.expires_at
        returned = session.execute(
            update(Lead)
            .where(
                col(Lead.id) == lead.id,
                Lead.owner_id == owner,
                col(Lead.expires_at) <= now,
                Lead.stage != "won",
            )
            .values(
                owner_id=None, department_id=None, expires_at=None, warned_at=None, updated_at=now
            )
        )
        if returned.rowcount != 1:
            session.rollback()
            continue
        session.add(
            OwnershipEvent(
                lead_id=lead.id,
                action="expire",
                at=now,
                from_owner=owner,
                from_department_id=dept.id,
                reason="no activity",
            )
        )
        key = f"expire:{lead.id}:{_stamp(expired_at)}"
        if dept.channel:
            message = render.message(
                "lead.expired_notice",
                dept.locale,
                lead=lead,
                owner=owner,
                department=dept.name,
                zone=dept.timezone,
            )
            _post(session, report, key, dept.channel, message.as_post(), now)
        else:
            session.commit()
            report.skip(dept.name, "no_channel")
