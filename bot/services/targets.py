"""Targets and progress against them.

A target belongs to a department (``user_id == ""``) or to one rep in it, for one metric over
one kind of period (week, month or quarter, in the department's time zone):

=============  ==============================================================================
metric         what counts, within the period
=============  ==============================================================================
revenue        amount of leads won (stage ``won``, ``stage_changed_at`` in the period), in cents,
               credited to whoever won them (the ``won`` event), even after a handoff
wins           number of those leads
activities     activities logged (``occurred_at`` in the period)
new-leads      claims (``claim`` events in the audit trail, ``at`` in the period)
=============  ==============================================================================

A department target counts everything of the department; a rep's target counts what that rep
did in it (won leads by ``owner_id``, activities by ``user_id``, claims by ``to_owner``).

Revenue targets are typed in whole currency units (``50000``, ``50k``, ``1.5m``, ``5万``) and
stored in cents, like every amount in the store. A value of ``0`` removes the target.

``progress`` computes every actual of a department in one round trip: a UNION ALL of one
GROUP BY query per metric, with one conditional SUM column per period kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, case, exists, func, literal, union_all
from sqlmodel import Session, select

from bot.money import parse_number, to_cents
from bot.periods import Period, period
from bot.services.departments import (
    department_of,
    find_department,
    is_admin,
    is_manager_of,
    require_manager_or_admin,
)
from bot.services.errors import InvalidInput, NotFound
from bot.store.models import Activity, Department, Lead, OwnershipEvent, Target

METRICS = ("revenue", "wins", "activities", "new-leads")
PERIOD_KINDS = ("week", "month", "quarter")
DEFAULT_PERIOD = "month"

#: What people type for each metric and period, in English and Chinese.
METRIC_ALIASES = {
    "revenue": "revenue",
    "won": "revenue",
    "amount": "revenue",
    "收入": "revenue",
    "营收": "revenue",
    "业绩": "revenue",
    "销售额": "revenue",
    "wins": "wins",
    "win": "wins",
    "deals": "wins",
    "赢单": "wins",
    "成交": "wins",
    "activities": "activities",
    "activity": "activities",
    "活动": "activities",
    "跟进": "activities",
    "跟进数": "activities",
    "活动数": "activities",
    "new-leads": "new-leads",
    "new_leads": "new-leads",
    "newleads": "new-leads",
    "leads": "new-leads",
    "claims": "new-leads",
    "新客户": "new-leads",
    "新线索": "new-leads",
    "赢单数": "wins",
}
PERIOD_ALIASES = {
    "week": "week",
    "weekly": "week",
    "周": "week",
    "每周": "week",
    "month": "month",
    "monthly": "month",
    "月": "month",
    "每月": "month",
    "quarter": "quarter",
    "quarterly": "quarter",
    "季度": "quarter",
    "每季度": "quarter",
}
#: No target above a trillion units (cents still fit a BIGINT many times over).
MAX_UNITS = 10**12


@dataclass(frozen=True)
class TargetProgress:
    """One target and how far along it is at ``now``.

    ``target`` and ``actual`` are cents for revenue, counts otherwise. ``percent`` is the
    actual as a whole percentage of the target (it may pass 100); ``expected_percent`` is the
    share of the period already elapsed, so ``behind`` means below the pace of the period.
    """

    metric: str
    period: str
    user_id: str
    target: int
    actual: int
    percent: int
    expected_percent: int = 0
    first_day: str = ""
    last_day: str = ""

    @property
    def fraction(self) -> float:
        return self.actual / self.target if self.target else 0.0

    @property
    def behind(self) -> bool:
        return self.percent < self.expected_percent


def normalise_metric(word: str) -> str | None:
    return METRIC_ALIASES.get(word.strip().lower())


def normalise_period(word: str) -> str | None:
    return PERIOD_ALIASES.get(word.strip().lower())


def parse_value(metric: str, text: str) -> int:
    """``50k`` → 50000 (cents for revenue: 5000000). Raises InvalidInput with an example."""
    number = parse_number(text)
    value = None
    if number is not None and number <= MAX_UNITS:
        if metric == "revenue":
            value = to_cents(number)
        elif number == number.to_integral_value():
            value = int(number)
    if value is None:
        raise InvalidInput("target.bad_value", metric=metric, value=text)
    return value


def elapsed_percent(window: Period, now: datetime) -> int:
    """How much of the period has passed at ``now``, as a whole percentage (0–100)."""
    total = (window.end - window.start).total_seconds()
    done = (min(max(now, window.start), window.end) - window.start).total_seconds()
    return int(done * 100 // total) if total > 0 else 100


# ── progress ─────────────────────────────────────────────────────────────────────────────────


def _in(column, window: Period, value=1):  # type: ignore[no-untyped-def]
    return func.coalesce(
        func.sum(case(((column >= window.start) & (column < window.end), value), else_=0)), 0
    )


def _actuals(
    session: Session,
    department_id: int,
    metrics: set[str],
    windows: dict[str, Period],
    user_id: str | None,
) -> dict[tuple[str, str | None], dict[str, int]]:
    """``{(metric, user): {period kind: value}}`` for one department, in one query."""
    kinds = list(windows)
    low = min(w.start for w in windows.values())
    high = max(w.end for w in windows.values())

    def columns(at, value=1):  # type: ignore[no-untyped-def]
        return [_in(at, windows[k], value).label(f"p_{k}") for k in kinds]

    parts = []
    if metrics & {"revenue", "wins"}:
        # A win counts for the owner and department it was won by (its ``won`` event, at the
        # lead's ``stage_changed_at``), even after a handoff moved the customer (DESIGN §10).
        event = OwnershipEvent.__table__.alias("won_event")
        won_by = func.coalesce(event.c.from_owner, Lead.owner_id)
        leads = Lead.__table__.outerjoin(
            event,
            (event.c.lead_id == Lead.id)
            & (event.c.action == "won")
            & (event.c.at == Lead.stage_changed_at),
        )
        won = [
            func.coalesce(event.c.from_department_id, Lead.department_id) == department_id,
            Lead.stage == "won",
            Lead.stage_changed_at >= low,
            Lead.stage_changed_at < high,
        ]
        if user_id:
            won.append(won_by == user_id)
        if "revenue" in metrics:
            amount = func.coalesce(Lead.amount_cents, 0)
            parts.append(
                select(
                    literal("revenue").label("metric"),
                    won_by.label("user_id"),
                    *columns(Lead.stage_changed_at, amount),
                )
                .select_from(leads)
                .where(*won)
                .group_by(won_by)
            )
        if "wins" in metrics:
            parts.append(
                select(
                    literal("wins").label("metric"),
                    won_by.label("user_id"),
                    *columns(Lead.stage_changed_at),
                )
                .select_from(leads)
                .where(*won)
                .group_by(won_by)
            )
    if "activities" in metrics:
        done = [
            Activity.department_id == department_id,
            Activity.occurred_at >= low,
            Activity.occurred_at < high,
        ]
        if user_id:
            done.append(Activity.user_id == user_id)
        parts.append(
            select(
                literal("activities").label("metric"),
                Activity.user_id.label("user_id"),
                *columns(Activity.occurred_at),
            )
            .where(*done)
            .group_by(Activity.user_id)
        )
    if "new-leads" in metrics:
        live = Lead.__table__.alias("live_lead")
        claims = [
            OwnershipEvent.action == "claim",
            OwnershipEvent.to_department_id == department_id,
            OwnershipEvent.at >= low,
            OwnershipEvent.at < high,
            # a lead merged or deleted since (a duplicate, a mistake) was no new lead
            exists().where(live.c.id == OwnershipEvent.lead_id, live.c.deleted_at.is_(None)),
        ]
        if user_id:
            claims.append(OwnershipEvent.to_owner == user_id)
        parts.append(
            select(
                literal("new-leads").label("metric"),
                OwnershipEvent.to_owner.label("user_id"),
                *columns(OwnershipEvent.at),
            )
            .where(*claims)
            .group_by(OwnershipEvent.to_owner)
        )
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    found: dict[tuple[str, str | None], dict[str, int]] = {}
    for row in session.connection().execute(query).mappings():
        found[(row["metric"], row["user_id"])] = {k: int(row[f"p_{k}"] or 0) for k in kinds}
    return found


#: A department's targets as plain rows: every digest and Home tab reads them, and most
#: departments have none, so the read is a prebuilt Core statement rather than ORM objects.
_TARGETS_OF = select(Target.user_id, Target.metric, Target.period, Target.value).where(
    Target.department_id == bindparam("d")
)


class TargetRow(NamedTuple):
    user_id: str
    metric: str
    period: str
    value: int


def progress(
    session: Session,
    department: Department,
    now: datetime,
    *,
    user_id: str | None = None,
    rows: list[TargetRow] | None = None,
) -> list[TargetProgress]:
    """The targets of ``department`` with their actuals for the periods containing ``now``.

    ``user_id=None``: every target of the department (its own first, then each rep's);
    ``user_id=""``: only the department's own targets; ``user_id="U…"``: only that rep's.
    ``rows``: the department's targets when the caller has read them already (a digest reads
    them with its other figures); else they are read here.
    """
    if rows is None:
        rows = [
            TargetRow(*row)
            for row in session.connection().execute(_TARGETS_OF, {"d": department.id})
        ]
    if user_id is not None:
        rows = [t for t in rows if t.user_id == user_id]
    targets = sorted(
        rows,
        key=lambda t: (
            t.user_id != "",
            t.user_id,
            METRICS.index(t.metric) if t.metric in METRICS else 99,
            PERIOD_KINDS.index(t.period) if t.period in PERIOD_KINDS else 99,
        ),
    )
    targets = [t for t in targets if t.metric in METRICS and t.period in PERIOD_KINDS]
    if not targets:
        return []
    windows = {k: period(k, now, department.timezone) for k in {t.period for t in targets}}
    only_user = user_id or None
    actuals = _actuals(session, department.id, {t.metric for t in targets}, windows, only_user)
    totals: dict[tuple[str, str], int] = {}
    for (metric, _user), values in actuals.items():
        for kind, value in values.items():
            totals[(metric, kind)] = totals.get((metric, kind), 0) + value
    result = []
    for t in targets:
        if t.user_id:
            actual = actuals.get((t.metric, t.user_id), {}).get(t.period, 0)
        else:
            actual = totals.get((t.metric, t.period), 0)
        window = windows[t.period]
        result.append(
            TargetProgress(
                metric=t.metric,
                period=t.period,
                user_id=t.user_id,
                target=t.value,
                actual=actual,
                percent=int(actual * 100 // t.value) if t.value > 0 else 0,
                expected_percent=elapsed_percent(window, now),
                first_day=window.first_day.isoformat(),
                last_day=window.last_day.isoformat(),
            )
        )
    return result


# ── /target set and /target show ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class TargetChange:
    department: Department
    user_id: str
    metric: str
    period: str
    value: int
    previous: int | None


def _scope(session: Session, scope: str | None, user_id: str | None) -> tuple[Department, str]:
    """(department, user) of a target: a rep's own department, or a department by name."""
    if user_id:
        department = department_of(session, user_id)
        if department is None:
            raise NotFound("target.not_in_department", user=user_id)
        return department, user_id
    if not scope:
        raise InvalidInput("target.set_usage")
    return find_department(session, scope), ""


def set_target(
    *,
    session: Session,
    actor: str,
    department_name: str | None = None,
    user_id: str | None = None,
    metric: str,
    value: str,
    period_kind: str = DEFAULT_PERIOD,
    now: datetime,
) -> TargetChange:
    """Create, change or (value 0) remove a target; managers of the department and admins."""
    canonical = normalise_metric(metric)
    if canonical is None:
        raise InvalidInput("target.bad_metric", value=metric, metrics=list(METRICS))
    kind = normalise_period(period_kind)
    if kind is None:
        raise InvalidInput("target.bad_period", value=period_kind, periods=list(PERIOD_KINDS))
    amount = parse_value(canonical, value)
    department, user = _scope(session, department_name, user_id)
    require_manager_or_admin(session, actor, department)
    existing = session.exec(
        select(Target).where(
            Target.department_id == department.id,
            Target.user_id == user,
            Target.metric == canonical,
            Target.period == kind,
        )
    ).first()
    previous = existing.value if existing else None
    if amount == 0:
        if existing is not None:
            session.delete(existing)
    elif existing is not None:
        existing.value, existing.set_by, existing.updated_at = amount, actor, now
        session.add(existing)
    else:
        session.add(
            Target(
                department_id=department.id,
                user_id=user,
                metric=canonical,
                period=kind,
                value=amount,
                set_by=actor,
                updated_at=now,
            )
        )
    session.commit()
    return TargetChange(department, user, canonical, kind, amount, previous)


@dataclass(frozen=True)
class TargetReport:
    department: Department
    #: the rep shown, or "" when the whole department is shown
    user_id: str
    items: list[TargetProgress]
    #: the viewer manages the department or is an admin: they see who is behind
    manager_view: bool
    behind: list[TargetProgress]


def show_targets(
    *,
    session: Session,
    viewer: str,
    department_name: str | None = None,
    user_id: str | None = None,
    now: datetime,
) -> TargetReport:
    """Targets with progress for a department (its own and its reps') or one rep."""
    if user_id:
        department, user = _scope(session, None, user_id)
    elif department_name:
        department, user = find_department(session, department_name), ""
    else:
        department = department_of(session, viewer)
        if department is None:
            raise InvalidInput("target.show_which")
        user = ""
    items = progress(session, department, now, user_id=user or None)
    manager_view = is_admin(session, viewer) or is_manager_of(session, viewer, department)
    behind = [p for p in items if p.behind] if manager_view else []
    return TargetReport(department, user, items, manager_view, behind)
