"""``/sales export``: a department's activities of a period and its leads, as rows.

The command only plans the export (:func:`plan_export`: who may, which department and period,
how many rows); the worker reads the rows (:func:`activity_rows`, :func:`lead_rows`), streamed
from the database a batch at a time, and writes the files (jobs/exports.py). Activities are
read within the period's window (indexed); leads are the department's current leads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, select

from bot.periods import Period
from bot.services.departments import require_manager_or_admin
from bot.services.reports import covered as covered_period
from bot.services.reports import resolve_scope
from bot.store.models import Activity, Department, Lead, OwnershipEvent

EXPORT_PERIODS = ("today", "yesterday", "week", "last-week", "month", "quarter")
#: A cap per file; a bigger export holds the first rows, and the reply says so.
MAX_ROWS = 200_000
#: Rows fetched from the database at a time while a file is written.
BATCH = 2_000


@dataclass(frozen=True)
class ExportPlan:
    department: Department
    covered: Period
    activities: int
    leads: int


def _in_period(department_id: int, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    return (
        Activity.department_id == department_id,
        Activity.occurred_at >= start,
        Activity.occurred_at < end,
    )


def plan_export(session: Session, *, actor: str, words: list[str], now: datetime) -> ExportPlan:
    """What ``/sales export [department] [period]`` will send (managers, admins). Periods:
    ``EXPORT_PERIODS`` or a span of days ``YYYY-MM-DD..YYYY-MM-DD``."""
    department, name = resolve_scope(
        session,
        actor=actor,
        words=words,
        choices=EXPORT_PERIODS,
        default="month",
        spans=True,
        command="export",
    )
    require_manager_or_admin(session, actor, department)
    covered = covered_period(name, now, department.timezone, "export")
    activities = session.exec(
        select(func.count())
        .select_from(Activity)
        .where(*_in_period(department.id, covered.start, covered.end))
    ).one()
    leads = session.exec(
        select(func.count()).select_from(_LEADS_AND_WINS).where(_lead_scope(department.id))
    ).one()
    return ExportPlan(department, covered, int(activities), int(leads))


def activity_rows(
    session: Session, department_id: int, start: datetime, end: datetime
) -> Iterator[tuple[Any, ...]]:
    """(occurred_at, rep, kind, lead name, note) of the department's activities in
    [start, end), oldest first, at most :data:`MAX_ROWS`."""
    yield from session.exec(
        select(Activity.occurred_at, Activity.user_id, Activity.kind, Lead.name, Activity.note)
        .outerjoin(Lead, Lead.id == Activity.lead_id)
        .where(*_in_period(department_id, start, end))
        .order_by(Activity.occurred_at, Activity.id)
        .limit(MAX_ROWS)
        .execution_options(yield_per=BATCH)
    )


#: The ``won`` event of a won lead's current win: whom and which department it is credited to.
_WON = OwnershipEvent.__table__.alias("won_event")
_WON_DEPARTMENT = Department.__table__.alias("won_department")
_LEADS_AND_WINS = Lead.__table__.outerjoin(
    _WON,
    and_(
        _WON.c.lead_id == Lead.id,
        _WON.c.action == "won",
        _WON.c.at == Lead.stage_changed_at,
        Lead.stage == "won",
    ),
)


def _lead_scope(department_id: int):  # type: ignore[no-untyped-def]
    """The department's leads, and the customers it won that were handed off since (the win
    stays the department's, DESIGN §10)."""
    return or_(Lead.department_id == department_id, _WON.c.from_department_id == department_id)


def lead_rows(session: Session, department_id: int) -> Iterator[tuple[Any, ...]]:
    """The department's leads by name, at most :data:`MAX_ROWS`, and those it won and handed
    off; the last two columns say who won each won lead, and in which department."""
    yield from session.exec(
        select(
            Lead.name,
            Lead.domain,
            Lead.owner_id,
            Lead.stage,
            Lead.amount_cents,
            Lead.claimed_at,
            Lead.last_activity_at,
            Lead.expires_at,
            Lead.stage_changed_at,
            func.coalesce(_WON.c.from_owner, case((Lead.stage == "won", Lead.owner_id))),
            _WON_DEPARTMENT.c.name,
        )
        .select_from(_LEADS_AND_WINS)
        .outerjoin(_WON_DEPARTMENT, _WON_DEPARTMENT.c.id == _WON.c.from_department_id)
        .where(_lead_scope(department_id))
        .order_by(Lead.name)
        .limit(MAX_ROWS)
        .execution_options(yield_per=BATCH)
    )
