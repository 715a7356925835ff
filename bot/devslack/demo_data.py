"""The demo company: three departments, their people, leads and two weeks of activities.

Departments and people go through the same setup import an admin uses; leads and activities
are written straight into the store.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from bot.devslack.demo_recognition import seed_recognition
from bot.services.names import name_key
from bot.services.setup import import_setup
from bot.store.models import (
    Activity,
    ClaimConflict,
    Department,
    Handoff,
    Lead,
    OwnershipEvent,
    TransferRequest,
    utcnow,
)

ADMIN = "U0ADMIN"

SETUP = """
timezone = "Asia/Shanghai"
locale = "en"
admins = ["U0ADMIN"]
# new leads (/lead new, the intake API) with no territory go to Enterprise's rotation
default_department = "Enterprise"

[[department]]
name = "Enterprise"
channel = "C0ENT"
managers = ["U0MGR1"]
reps = ["U0REP1", "U0REP2"]
daily_digest = "09:00"
weekly_digest = "fri 17:00"
meeting = "mon 10:00"
claim_days = 14
warn_days = 3
handoff_to = "Farmers"
handoff_after_days = 7

[[department]]
name = "SMB"
channel = "C0SMB"
locale = "zh-CN"
managers = ["U0MGR2"]
reps = ["U0REP3", "U0REP4"]
claim_days = 7
warn_days = 2

[[department]]
name = "Farmers"
channel = "C0FARM"
timezone = "Europe/Berlin"
managers = ["U0MGR3"]
reps = ["U0REP5"]
"""

LEADS = [
    ("Acme Corp", "acme", "acme.com", "U0REP1", 1, "proposal"),
    ("Globex Ltd", "globex", "globex.com", "U0REP2", 1, "qualified"),
    ("Initech", "initech", None, "U0REP3", 2, "contacted"),
    ("Umbrella Co", "umbrella", "umbrella.example", "U0REP4", 2, "new"),
    ("Hooli", "hooli", "hooli.com", "U0REP5", 3, "negotiation"),
    # A near-duplicate pair across departments: each claim was allowed, with a warning.
    ("Soylent Foods", "soylentfoods", None, "U0REP1", 1, "contacted"),
    ("Soylent Food Co", "soylentfood", None, "U0REP3", 2, "new"),
    ("Stark Industries", "starkindustries", None, None, None, "new"),
    ("Wayne Enterprises", "wayneenterprises", None, None, None, "new"),
]
KINDS = ("call", "visit", "demo", "email", "meeting", "proposal", "other")
#: claimed six days ago in SMB (7-day protection) and never worked: about to expire, so
#: ``:run expire-claims`` warns its owner, and ``:time +2d`` then returns it to the pool.
ABOUT_TO_EXPIRE = "umbrella"


def seed(session: Session) -> dict[str, Any]:
    """Fill an empty database; returns counts for the intro line."""
    result = import_setup(session=session, text=SETUP)
    now = utcnow()
    rng = random.Random(7)
    leads: list[Lead] = []
    for name, key, domain, owner, department_id, stage in LEADS:
        claimed = now - timedelta(days=6 if key == ABOUT_TO_EXPIRE else rng.randint(3, 12))
        lead = Lead(
            name=name,
            name_key=key,
            domain=domain,
            owner_id=owner,
            department_id=department_id,
            stage=stage,
            claimed_at=claimed if owner else None,
            last_activity_at=claimed if owner else None,
            expires_at=claimed + timedelta(days=14) if owner else None,
            stage_changed_at=claimed,
        )
        session.add(lead)
        session.flush()
        if owner:
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
        leads.append(lead)
    activities = 0
    owned = [lead for lead in leads if lead.owner_id and lead.name_key != ABOUT_TO_EXPIRE]
    for day in range(14):
        for lead in owned:
            if rng.random() < 0.55:
                when = now - timedelta(days=day, hours=rng.randint(0, 8))
                session.add(
                    Activity(
                        user_id=lead.owner_id,
                        department_id=lead.department_id,
                        lead_id=lead.id,
                        kind=rng.choice(KINDS),
                        note=None,
                        occurred_at=when,
                        created_at=when,
                    )
                )
                activities += 1
                lead.last_activity_at = max(lead.last_activity_at or when, when)
    claim_days = {d.id: d.claim_days for d in session.exec(select(Department))}
    for lead in leads:
        if lead.owner_id and lead.department_id:
            since = max(lead.claimed_at, lead.last_activity_at or lead.claimed_at)
            lead.expires_at = since + timedelta(days=claim_days[lead.department_id])
            session.add(lead)
    seed_recognition(session, now)
    seed_rhythm(session, leads, now)
    seed_handoffs(session, now)
    session.commit()
    return {
        "departments": len(result.created) + len(result.updated),
        "members": result.members,
        "leads": len(leads),
        "activities": activities,
    }


def seed_rhythm(session: Session, leads: list[Lead], now: datetime) -> None:
    """What digests and agendas report beyond activities, wins and kudos: a stage move
    yesterday, a refused cross-department claim and a transfer waiting for approval."""
    by_name = {lead.name: lead for lead in leads}
    acme, globex = by_name["Acme Corp"], by_name["Globex Ltd"]
    acme.stage_changed_at = now - timedelta(days=1)
    session.add_all(
        [
            OwnershipEvent(
                lead_id=acme.id,
                at=now - timedelta(days=1),
                actor_id="U0REP1",
                action="stage",
                from_stage="qualified",
                to_stage="proposal",
            ),
            ClaimConflict(
                lead_id=acme.id,
                user_id="U0REP3",
                department_id=2,
                owner_department_id=1,
                at=now - timedelta(days=2),
            ),
            TransferRequest(
                lead_id=globex.id,
                from_user="U0REP2",
                to_user="U0REP1",
                requested_by="U0REP2",
                created_at=now - timedelta(days=1),
            ),
        ]
    )


#: Enterprise hands its won customers to Farmers 7 days after the win (DESIGN §10).
HANDOFF_NOTE = {
    "key_contacts": "Art Vandelay (CEO), art@vandelay.example; Kel Varnsen (buyer)",
    "commitments": "Free onboarding workshop in the first month; price fixed for a year",
    "risks": "Their CFO compares us with a cheaper local supplier",
    "next_step": "Quarterly review call in the second week",
}


def seed_handoffs(session: Session, now: datetime) -> None:
    """Two won Enterprise customers: Vandelay Industries, handed off to Farmers two days ago
    with its note (``/lead history``, the agenda), and Initrode, won yesterday, whose note is
    written and whose handoff falls due in six days (``/lead handoff Initrode`` hands it over
    now; ``:time +6d`` then ``:run handoffs`` offers it to Farmers)."""
    won_at, handed_at = now - timedelta(days=9), now - timedelta(days=2)
    vandelay = Lead(
        name="Vandelay Industries",
        name_key=name_key("Vandelay Industries"),
        domain="vandelay.example",
        owner_id="U0REP5",
        department_id=3,
        stage="won",
        amount_cents=8_500_000,
        claimed_at=handed_at,
        last_activity_at=handed_at,
        stage_changed_at=won_at,
    )
    initrode = Lead(
        name="Initrode",
        name_key=name_key("Initrode"),
        owner_id="U0REP1",
        department_id=1,
        stage="won",
        amount_cents=3_200_000,
        claimed_at=now - timedelta(days=20),
        last_activity_at=now - timedelta(days=1),
        stage_changed_at=now - timedelta(days=1),
    )
    session.add_all([vandelay, initrode])
    session.flush()
    for lead, owner, won in (
        (vandelay, "U0REP2", won_at),
        (initrode, "U0REP1", now - timedelta(days=1)),
    ):
        claimed = won - timedelta(days=20)
        session.add_all(
            [
                OwnershipEvent(
                    lead_id=lead.id,
                    at=claimed,
                    actor_id=owner,
                    action="claim",
                    to_owner=owner,
                    to_department_id=1,
                    to_stage="new",
                ),
                OwnershipEvent(
                    lead_id=lead.id,
                    at=won,
                    actor_id=owner,
                    action="won",
                    from_owner=owner,
                    from_department_id=1,
                    from_stage="negotiation",
                    to_stage="won",
                ),
            ]
        )
    session.add(
        OwnershipEvent(
            lead_id=vandelay.id,
            at=handed_at,
            actor_id="U0REP5",
            action="handoff",
            from_owner="U0REP2",
            from_department_id=1,
            to_owner="U0REP5",
            to_department_id=3,
        )
    )
    session.add_all(
        [
            Handoff(
                lead_id=vandelay.id,
                from_department_id=1,
                from_owner="U0REP2",
                to_department_id=3,
                won_at=won_at,
                due_at=handed_at,
                note=HANDOFF_NOTE,
                status="done",
                done_at=handed_at,
                to_owner="U0REP5",
                created_at=won_at,
            ),
            Handoff(
                lead_id=initrode.id,
                from_department_id=1,
                from_owner="U0REP1",
                to_department_id=3,
                won_at=now - timedelta(days=1),
                due_at=now + timedelta(days=6),
                note={"key_contacts": "Bill Lumbergh, VP", "next_step": "Send the invoice"},
                status="due",
                created_at=now - timedelta(days=1),
            ),
        ]
    )
