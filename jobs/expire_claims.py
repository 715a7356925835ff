"""The job ``expire-claims`` (DESIGN §5): warn owners before a claim expires and return
expired claims to the pool.

Per department, a lead whose protection ends within ``warn_days`` is due a warning; each owner
gets ONE DM per run listing all their due leads (across departments), each with Log and
Release buttons. A DM holds at most :data:`MAX_WARNED` leads with buttons (two blocks each,
within Slack's 50 blocks); the rest are counted in an "and N more" line that points to
``/lead mine``. The DM's outbox key is ``expire-warn:<owner>:<run instant>``: the leads it
lists are marked warned in the same transaction, so a retried or concurrent run neither
repeats the DM nor loses a lead (a run whose key already exists rolls its marks back, and
those leads are warned by the next run). The DM reads in the owner's locale and zone. A lead
past ``expires_at`` goes back to the pool, the audit trail
records it and the department channel is told. Won leads never expire. Each change and its
post are one transaction: the lead row is changed by a conditional UPDATE (a second worker, or
an activity logged at the same moment, makes it a no-op) and the post is an outbox row with a
unique key, so nothing is warned or announced twice. Run it hourly from the worker or by hand
with ``salesbot run-job expire-claims --at …``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import render
from bot.services.absence import absence_on, hold_until
from bot.services.departments import managers_of, reader_for
from bot.services.leads import LeadInfo
from bot.store.models import Department, Lead, OwnershipEvent
from jobs import outbox
from jobs.digests import departments
from jobs.report import JobReport


def expire_claims_job(
    engine: Engine, client: WebClient, now: datetime, department: str | int | None
) -> JobReport:
    report = JobReport()
    with Session(engine, expire_on_commit=False) as session:
        chosen = list(departments(session, department))
        _warn_owners(session, chosen, now, report)
        for dept in chosen:
            _expire(session, dept, now, report)
    return report


#: Leads listed with their buttons in one warning DM (2 blocks each, plus a header and a line).
MAX_WARNED = 20


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


def _warn_owners(
    session: Session, chosen: list[Department], now: datetime, report: JobReport
) -> None:
    """One DM per owner listing every lead of theirs due a warning in this run."""
    due: dict[str, list[LeadInfo]] = {}
    for dept in chosen:
        for lead in session.exec(
            _open_claims(dept)
            .where(
                col(Lead.expires_at) > now,
                col(Lead.expires_at) <= now + timedelta(days=dept.warn_days),
                col(Lead.warned_at).is_(None),
            )
            .order_by(col(Lead.expires_at), col(Lead.id))
        ).all():
            due.setdefault(lead.owner_id, []).append(LeadInfo(lead=lead, department=dept))
    for owner, items in sorted(due.items()):
        marked = []
        for item in sorted(items, key=lambda i: (i.lead.expires_at, i.lead.id)):
            done = session.execute(
                update(Lead)
                .where(
                    col(Lead.id) == item.lead.id,
                    Lead.owner_id == owner,
                    col(Lead.warned_at).is_(None),
                    col(Lead.expires_at) > now,
                    Lead.stage != "won",
                )
                .values(warned_at=now)
            )
            if done.rowcount == 1:
                marked.append(item)
        if not marked:
            session.rollback()
            continue
        dept = marked[0].department
        reader, away = _warning_reader(session, owner, dept, now)
        locale, zone = reader_for(session, reader, dept.locale, dept.timezone)
        if away is not None:
            message = render.message(
                "away.expiry_warning_cover",
                locale,
                owner=owner,
                absence=away,
                items=marked[:MAX_WARNED],
                total=len(marked),
                zone=zone,
            )
        elif len(marked) == 1:
            message = render.message(
                "lead.expiry_warning",
                locale,
                lead=marked[0].lead,
                department=dept.name,
                expires=marked[0].lead.expires_at,
                zone=zone,
            )
        else:
            message = render.message(
                "lead.expiry_warnings",
                locale,
                items=marked[:MAX_WARNED],
                total=len(marked),
                zone=zone,
            )
        _post(session, report, f"expire-warn:{owner}:{_stamp(now)}", reader, message.as_post(), now)


def _warning_reader(session: Session, owner: str, dept: Department, now: datetime):  # type: ignore[no-untyped-def]
    """Who gets an owner's expiry warning (§9): the owner; while they are away (today in the
    department's zone), their cover, else the department's first manager (by id), else the
    owner after all. Returns (reader, the absence or None)."""
    away = absence_on(session, owner, now.astimezone(ZoneInfo(dept.timezone)).date())
    if away is None:
        return owner, None
    if away.cover_id:
        return away.cover_id, away
    managers = [m for m in managers_of(session, dept) if m != owner]
    return (managers[0], away) if managers else (owner, None)


def _expire(session: Session, dept: Department, now: datetime, report: JobReport) -> None:
    due = session.exec(_open_claims(dept).where(col(Lead.expires_at) <= now)).all()
    for lead in due:
        owner, expired_at = lead.owner_id, lead.expires_at
        held = hold_until(session, owner, now, dept.timezone) if owner else None
        if held is not None:
            # the owner is away today (§9): the claim waits for them (conditional, as below)
            session.execute(
                update(Lead)
                .where(col(Lead.id) == lead.id, Lead.owner_id == owner, col(Lead.expires_at) <= now)
                .values(expires_at=held, warned_at=None, updated_at=now)
            )
            session.commit()
            continue
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
