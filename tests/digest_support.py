"""Seeding helpers for the digest, report, worker and export tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import load_settings
from bot.services.setup import import_setup
from bot.store.models import (
    Activity,
    ClaimConflict,
    Department,
    Kudos,
    Lead,
    OwnershipEvent,
    TransferRequest,
)
from jobs.runner import worker_client

SETUP = """
timezone = "Asia/Shanghai"
locale = "en"
admins = ["U0ADMIN"]

[[department]]
name = "Enterprise"
channel = "C0ENT"
timezone = "Asia/Shanghai"
managers = ["U0MGR1"]
reps = ["U0REP1", "U0REP2"]
daily_digest = "09:00"
weekly_digest = "fri 17:00"
meeting = "mon 10:00"

[[department]]
name = "Farmers"
channel = "C0FARM"
timezone = "America/New_York"
locale = "zh-CN"
managers = ["U0MGR2"]
reps = ["U0REP3"]
daily_digest = "09:00"
weekly_digest = "fri 17:00"
meeting = "mon 10:00"
"""


def setup_org(engine: Engine, text: str = SETUP) -> dict[str, Department]:
    with Session(engine, expire_on_commit=False) as session:
        import_setup(session=session, text=text)
        session.commit()
        return {d.name: d for d in session.exec(select(Department))}


def client_for(fake):  # type: ignore[no-untyped-def]
    return worker_client(load_settings(slack_api_url=fake.url, slack_bot_token="xoxb-test"))


def add_lead(
    session: Session,
    name: str,
    *,
    owner: str | None,
    department: Department | None,
    stage: str = "new",
    claimed_at: datetime | None = None,
    stage_changed_at: datetime | None = None,
    last_activity_at: datetime | None = None,
    expires_at: datetime | None = None,
    amount_cents: int | None = None,
) -> Lead:
    lead = Lead(
        name=name,
        name_key=name.lower().replace(" ", ""),
        owner_id=owner,
        department_id=department.id if department else None,
        stage=stage,
        claimed_at=claimed_at,
        stage_changed_at=stage_changed_at or claimed_at,
        last_activity_at=last_activity_at or claimed_at,
        expires_at=expires_at,
        amount_cents=amount_cents,
    )
    session.add(lead)
    session.flush()
    return lead


def seed_day(session: Session, department: Department, day_start: datetime) -> dict[str, Lead]:
    """A day of everything a daily digest reports, starting at ``day_start`` (UTC instant of
    local midnight), plus a few standing leads."""
    at = day_start + timedelta(hours=10)
    acme = add_lead(
        session,
        "Acme Corp",
        owner="U0REP1",
        department=department,
        claimed_at=at,
        stage="proposal",
        expires_at=day_start + timedelta(days=2),
    )
    globex = add_lead(
        session,
        "Globex",
        owner="U0REP2",
        department=department,
        stage="won",
        claimed_at=at - timedelta(days=20),
        amount_cents=1_250_000,
    )
    stuck = add_lead(
        session,
        "Initech",
        owner="U0REP2",
        department=department,
        stage="negotiation",
        claimed_at=at - timedelta(days=30),
        stage_changed_at=at - timedelta(days=10),
        last_activity_at=at - timedelta(days=9),
        expires_at=at + timedelta(days=5),
    )
    add_lead(session, "Pool Co", owner=None, department=None)
    session.add(
        OwnershipEvent(
            lead_id=acme.id,
            at=at,
            actor_id="U0REP1",
            action="claim",
            to_owner="U0REP1",
            to_department_id=department.id,
        )
    )
    session.add(
        OwnershipEvent(
            lead_id=acme.id,
            at=at + timedelta(hours=1),
            actor_id="U0REP1",
            action="stage",
            from_stage="qualified",
            to_stage="proposal",
        )
    )
    session.add(
        OwnershipEvent(
            lead_id=globex.id,
            at=at + timedelta(hours=2),
            actor_id="U0REP2",
            action="won",
            from_stage="negotiation",
            to_stage="won",
        )
    )
    for n, (user, kind) in enumerate(
        [("U0REP1", "call"), ("U0REP1", "call"), ("U0REP1", "visit"), ("U0REP2", "demo")]
    ):
        session.add(
            Activity(
                user_id=user,
                department_id=department.id,
                lead_id=acme.id,
                kind=kind,
                occurred_at=at + timedelta(minutes=n),
            )
        )
    session.add(
        Kudos(
            giver_id="U0MGR1",
            recipient_id="U0REP2",
            department_id=department.id,
            message="closed Globex",
            value="grit",
            created_at=at,
        )
    )
    session.add(
        ClaimConflict(
            lead_id=acme.id,
            user_id="U0REP3",
            department_id=department.id + 1,
            owner_department_id=department.id,
            at=at,
        )
    )
    session.add(
        TransferRequest(
            lead_id=stuck.id,
            from_user="U0REP2",
            to_user="U0REP1",
            requested_by="U0REP2",
            created_at=at,
        )
    )
    session.commit()
    return {"acme": acme, "globex": globex, "stuck": stuck}


def bulk_activities(
    session: Session, department: Department, start: datetime, count: int, reps: int
) -> None:
    """``count`` activities spread over ``reps`` reps within an hour of ``start``."""
    rows = [
        {
            "user_id": f"U0BULK{n % reps:03d}",
            "department_id": department.id,
            "kind": ("call", "visit", "email")[n % 3],
            "occurred_at": start + timedelta(seconds=n),
            "created_at": start + timedelta(seconds=n),
        }
        for n in range(count)
    ]
    session.execute(insert(Activity), rows)
    session.commit()
