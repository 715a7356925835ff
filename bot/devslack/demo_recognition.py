"""Demo rows for targets, kudos and coaching, so `/target show`, `/kudos top`, `/coach history`
and the Home tab have something to show in ``salesbot demo``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.store.models import Department, Feedback, Kudos, Lead, OwnershipEvent, Target

#: (department, rep or "", metric, period, value: cents for revenue)
TARGETS = [
    ("Enterprise", "", "revenue", "month", 20_000_000),
    ("Enterprise", "", "wins", "month", 3),
    ("Enterprise", "", "activities", "week", 30),
    ("Enterprise", "U0REP1", "activities", "week", 15),
    ("Enterprise", "U0REP2", "activities", "week", 15),
    ("Enterprise", "U0REP2", "revenue", "quarter", 12_000_000),
    ("SMB", "", "new-leads", "month", 10),
    ("SMB", "U0REP3", "activities", "week", 12),
    ("Farmers", "", "activities", "week", 10),
]
#: (giver, recipient, message, value, days ago)
KUDOS = [
    ("U0MGR1", "U0REP2", "Closed Massive Dynamic a week early", "ownership", 0),
    ("U0REP1", "U0REP2", "Thanks for covering my Globex call", "teamwork", 2),
    ("U0REP2", "U0REP1", "Great Acme proposal deck", "craft", 3),
    ("U0MGR2", "U0REP3", "五个新客户，干得漂亮", "hustle", 0),
    ("U0REP4", "U0REP3", "谢谢你帮我准备演示", "teamwork", 4),
    ("U0MGR3", "U0REP5", "Hooli is in negotiation: well done", None, 2),
]


def seed_recognition(session: Session, now: datetime) -> None:
    """Targets for each department, a won deal, a week of kudos and one coaching note."""
    ids = {d.name: d.id for d in session.exec(select(Department))}
    for name, user, metric, period, value in TARGETS:
        if name in ids:
            session.add(
                Target(
                    department_id=ids[name],
                    user_id=user,
                    metric=metric,
                    period=period,
                    value=value,
                    set_by="U0ADMIN",
                    updated_at=now,
                )
            )
    if "Enterprise" in ids:
        won_at = now - timedelta(hours=20)
        lead = Lead(
            name="Massive Dynamic",
            name_key="massivedynamic",
            domain="massivedynamic.example",
            owner_id="U0REP2",
            department_id=ids["Enterprise"],
            stage="won",
            amount_cents=4_500_000,
            claimed_at=now - timedelta(days=20),
            last_activity_at=won_at,
            stage_changed_at=won_at,
        )
        session.add(lead)
        session.flush()
        session.add(
            OwnershipEvent(
                lead_id=lead.id,
                at=won_at,
                actor_id="U0REP2",
                action="won",
                from_stage="negotiation",
                to_stage="won",
            )
        )
    members = {
        "U0REP1": "Enterprise",
        "U0REP2": "Enterprise",
        "U0REP3": "SMB",
        "U0REP5": "Farmers",
    }
    for giver, recipient, message, value, days in KUDOS:
        session.add(
            Kudos(
                giver_id=giver,
                recipient_id=recipient,
                department_id=ids.get(members[recipient]),
                message=message,
                value=value,
                created_at=now - timedelta(days=days, minutes=10),
            )
        )
    session.add(
        Feedback(
            author_id="U0MGR1",
            recipient_id="U0REP1",
            message="Strong discovery on Acme. Confirm the budget holder before the demo.",
            created_at=now - timedelta(days=2),
        )
    )
