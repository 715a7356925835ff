"""What the Home tab shows one person, read straight from the store.

Everything is a handful of grouped queries, whatever the number of leads or activities: the
caller's open leads (soonest expiry first) and the count of the rest, their activities this
week by kind and the latest few, target progress, kudos received, claims about to expire, and
for a manager (or an admin in a department) their department's totals per rep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from bot.periods import period
from bot.services import leads as lead_rules
from bot.services import targets
from bot.services.absence import absence_on
from bot.services.departments import department_of, get_member, is_admin, workspace_setting
from bot.store.models import Absence, Activity, Department, Kudos, Lead, Member, OwnershipEvent

CLOSED = ("won", "lost")
MAX_LEADS = 15
MAX_RECENT = 5
MAX_KUDOS = 3


@dataclass(frozen=True)
class HomeLead:
    name: str
    stage: str
    #: the local date the claim expires, or None (won leads, leads without expiry)
    expires_on: str | None
    days_left: int | None
    expiring: bool
    #: the instant the claim expires (templates show it with ``|day``, as every message does)
    expires_at: datetime | None = None
    #: the deal's amount from ``/lead stage … <amount>`` or ``/lead won``, if one was given
    amount_cents: int | None = None


@dataclass(frozen=True)
class RecentActivity:
    kind: str
    lead: str | None
    at: datetime


@dataclass(frozen=True)
class KudosReceived:
    giver_id: str
    message: str
    value: str | None


@dataclass(frozen=True)
class RepTotals:
    user_id: str
    role: str
    activities: int
    open_leads: int


@dataclass(frozen=True)
class TeamTotals:
    open_leads: int
    activities: int
    wins: int
    revenue_cents: int
    expiring: int
    reps: list[RepTotals]


@dataclass(frozen=True)
class HomeView:
    user_id: str
    member: Member | None
    department: Department | None
    timezone: str
    leads: list[HomeLead]
    total_leads: int
    expiring: list[HomeLead]
    activity_counts: dict[str, int]
    recent: list[RecentActivity]
    targets: list[targets.TargetProgress]
    manager_view: bool
    kudos_week: int
    kudos_total: int
    kudos: list[KudosReceived] = field(default_factory=list)
    team: TeamTotals | None = None
    #: transfer requests waiting for this person's approval, and the ones they asked for
    transfers: lead_rules.PendingTransfers = field(
        default_factory=lambda: lead_rules.PendingTransfers([], [])
    )
    #: the person's absence today (§9: "away until …, cover …"), in their department's zone
    away: Absence | None = None

    @property
    def activities_week(self) -> int:
        return sum(self.activity_counts.values())


def _days_left(expires: datetime, now: datetime) -> int:
    return max(0, (expires - now) // timedelta(days=1))


def home_view(*, session: Session, user_id: str, now: datetime) -> HomeView:
    member = get_member(session, user_id)
    department = department_of(session, user_id)
    zone = department.timezone if department else workspace_setting(session, "timezone", "UTC")
    tz = ZoneInfo(zone)
    warn = timedelta(days=department.warn_days if department else 3)
    week = period("week", now, zone)

    mine = (Lead.owner_id == user_id, Lead.stage.not_in(CLOSED))
    rows = session.exec(
        select(Lead)
        .where(*mine)
        .order_by(Lead.expires_at.is_(None), Lead.expires_at, Lead.name)
        .limit(MAX_LEADS)
    ).all()
    total_leads = session.exec(select(func.count()).select_from(Lead).where(*mine)).one()
    leads = [
        HomeLead(
            name=lead.name,
            stage=lead.stage,
            expires_on=lead.expires_at.astimezone(tz).date().isoformat()
            if lead.expires_at
            else None,
            days_left=_days_left(lead.expires_at, now) if lead.expires_at else None,
            expiring=bool(lead.expires_at and lead.expires_at <= now + warn),
            expires_at=lead.expires_at,
            amount_cents=lead.amount_cents,
        )
        for lead in rows
    ]
    expiring = [lead for lead in leads if lead.expiring]

    this_week = (
        Activity.user_id == user_id,
        Activity.occurred_at >= week.start,
        Activity.occurred_at < week.end,
    )
    counts = dict(
        session.exec(
            select(Activity.kind, func.count()).where(*this_week).group_by(Activity.kind)
        ).all()
    )
    recent = [
        RecentActivity(kind, name, at.astimezone(tz))
        for kind, name, at in session.exec(
            select(Activity.kind, Lead.name, Activity.occurred_at)
            .join(Lead, Lead.id == Activity.lead_id, isouter=True)
            .where(*this_week)
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
            .limit(MAX_RECENT)
        ).all()
    ]

    manager_view = bool(
        department and ((member and member.role == "manager") or is_admin(session, user_id))
    )
    progress: list[targets.TargetProgress] = []
    if department is not None:
        progress = targets.progress(session, department, now)
        if not manager_view:
            progress = [p for p in progress if p.user_id in ("", user_id)]

    received = Kudos.recipient_id == user_id
    kudos_week = session.exec(
        select(func.count())
        .select_from(Kudos)
        .where(received, Kudos.created_at >= week.start, Kudos.created_at < week.end)
    ).one()
    kudos_total = session.exec(select(func.count()).select_from(Kudos).where(received)).one()
    latest = session.exec(
        select(Kudos).where(received).order_by(Kudos.created_at.desc()).limit(MAX_KUDOS)
    ).all()

    return HomeView(
        user_id=user_id,
        member=member,
        department=department,
        timezone=zone,
        leads=leads,
        total_leads=int(total_leads),
        expiring=expiring,
        activity_counts={k: int(n) for k, n in counts.items()},
        recent=recent,
        targets=progress,
        manager_view=manager_view,
        kudos_week=int(kudos_week),
        kudos_total=int(kudos_total),
        kudos=[KudosReceived(k.giver_id, k.message, k.value) for k in latest],
        team=_team(session, department, now, warn) if manager_view and department else None,
        transfers=lead_rules.pending_transfers_for(session, user_id),
        away=absence_on(session, user_id, now.astimezone(tz).date()),
    )


def _team(session: Session, department: Department, now: datetime, warn: timedelta) -> TeamTotals:
    week = period("week", now, department.timezone)
    month = period("month", now, department.timezone)
    activities = dict(
        session.exec(
            select(Activity.user_id, func.count())
            .where(
                Activity.department_id == department.id,
                Activity.occurred_at >= week.start,
                Activity.occurred_at < week.end,
            )
            .group_by(Activity.user_id)
        ).all()
    )
    open_in_department = (Lead.department_id == department.id, Lead.stage.not_in(CLOSED))
    open_leads = dict(
        session.exec(
            select(Lead.owner_id, func.count()).where(*open_in_department).group_by(Lead.owner_id)
        ).all()
    )
    # wins stay the department's that won them after a handoff (the won event, DESIGN §10)
    event = OwnershipEvent.__table__.alias("won_event")
    wins, revenue = session.exec(
        select(func.count(), func.coalesce(func.sum(Lead.amount_cents), 0))
        .select_from(Lead)
        .outerjoin(
            event,
            (event.c.lead_id == Lead.id)
            & (event.c.action == "won")
            & (event.c.at == Lead.stage_changed_at),
        )
        .where(
            func.coalesce(event.c.from_department_id, Lead.department_id) == department.id,
            Lead.stage == "won",
            Lead.stage_changed_at >= month.start,
            Lead.stage_changed_at < month.end,
        )
    ).one()
    expiring = session.exec(
        select(func.count())
        .select_from(Lead)
        .where(*open_in_department, Lead.expires_at.is_not(None), Lead.expires_at <= now + warn)
    ).one()
    members = session.exec(
        select(Member.user_id, Member.role)
        .where(Member.department_id == department.id)
        .order_by(Member.role.desc(), Member.user_id)
    ).all()
    return TeamTotals(
        open_leads=int(sum(open_leads.values())),
        activities=int(sum(activities.values())),
        wins=int(wins),
        revenue_cents=int(revenue),
        expiring=int(expiring),
        reps=[
            RepTotals(
                user, role or "rep", int(activities.get(user, 0)), int(open_leads.get(user, 0))
            )
            for user, role in members
        ],
    )
