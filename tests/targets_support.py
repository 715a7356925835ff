"""Rows for target, kudos and Home tab tests, written straight into the store.

Times are placed inside the current period of the department's zone, so a test never depends
on which day of the week or month it runs.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from bot.periods import period
from bot.store.db import make_engine
from bot.store.models import Activity, Department, Lead, OwnershipEvent, utcnow

_names = itertools.count(1)


def db(server) -> Session:  # type: ignore[no-untyped-def]
    return Session(make_engine(server.db_url), expire_on_commit=False)


def department(session: Session, name: str) -> Department:
    return session.exec(select(Department).where(Department.name == name)).one()


def in_week(
    session: Session, name: str = "Enterprise", offset: timedelta = timedelta()
) -> datetime:
    """A moment inside this week of the department: its start plus one second."""
    dept = department(session, name)
    return period("week", utcnow(), dept.timezone).start + timedelta(seconds=1) + offset


def in_all_periods(session: Session, name: str = "Enterprise") -> datetime:
    """A moment inside the current week, month and quarter of the department."""
    dept = department(session, name)
    now = utcnow()
    start = max(period(k, now, dept.timezone).start for k in ("week", "month", "quarter"))
    return start + timedelta(seconds=1)


def won_lead(
    session: Session, *, owner: str, department_id: int, amount_cents: int, at: datetime
) -> Lead:
    n = next(_names)
    lead = Lead(
        name=f"Won {n}",
        name_key=f"won{n}x{owner.lower()}{department_id}",
        owner_id=owner,
        department_id=department_id,
        stage="won",
        amount_cents=amount_cents,
        claimed_at=at - timedelta(days=30),
        stage_changed_at=at,
    )
    session.add(lead)
    session.flush()
    session.add(
        OwnershipEvent(lead_id=lead.id, at=at, actor_id=owner, action="won", to_stage="won")
    )
    session.commit()
    return lead


def open_lead(
    session: Session,
    *,
    owner: str,
    department_id: int,
    name: str,
    claimed: datetime,
    expires: datetime | None,
    stage: str = "new",
) -> Lead:
    key = "".join(ch for ch in name.lower() if ch.isalnum()) + str(next(_names))
    lead = Lead(
        name=name,
        name_key=key,
        owner_id=owner,
        department_id=department_id,
        stage=stage,
        claimed_at=claimed,
        last_activity_at=claimed,
        expires_at=expires,
        stage_changed_at=claimed,
    )
    session.add(lead)
    session.flush()
    session.add(
        OwnershipEvent(
            lead_id=lead.id,
            at=claimed,
            actor_id=owner,
            action="claim",
            to_owner=owner,
            to_department_id=department_id,
            to_stage="new",
        )
    )
    session.commit()
    return lead


def activity(
    session: Session,
    *,
    user: str,
    department_id: int,
    at: datetime,
    kind: str = "call",
    lead_id: int | None = None,
) -> None:
    session.add(
        Activity(
            user_id=user,
            department_id=department_id,
            lead_id=lead_id,
            kind=kind,
            occurred_at=at,
            created_at=at,
        )
    )
    session.commit()


def assert_valid_blocks(blocks: list[dict]) -> None:
    assert blocks
    for block in blocks:
        Block.parse(block).validate_json()
