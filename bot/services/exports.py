"""``/sales export``: a department's activities of a period and its leads, as rows.

Activities are read within the period's window (indexed); leads are the department's current
leads. Rows are plain tuples; the CSV files and their column names are made in jobs/exports.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.periods import Period, period
from bot.services.departments import require_manager_or_admin
from bot.services.reports import resolve_scope
from bot.store.models import Activity, Department, Lead

EXPORT_PERIODS = ("week", "month", "quarter")
#: A safety cap per file; a bigger export is cut here (the reply says how many rows there are).
MAX_ROWS = 200_000


@dataclass(frozen=True)
class ExportData:
    department: Department
    covered: Period
    activities: list[tuple[Any, ...]]
    leads: list[tuple[Any, ...]]


def export_for(session: Session, *, actor: str, words: list[str], now: datetime) -> ExportData:
    """The rows of ``/sales export [department] [week|month|quarter]`` (managers, admins)."""
    department, name = resolve_scope(
        session, actor=actor, words=words, choices=EXPORT_PERIODS, default="month"
    )
    require_manager_or_admin(session, actor, department)
    covered = period(name, now, department.timezone)
    activities = session.exec(
        select(Activity.occurred_at, Activity.user_id, Activity.kind, Lead.name, Activity.note)
        .outerjoin(Lead, Lead.id == Activity.lead_id)
        .where(
            Activity.department_id == department.id,
            Activity.occurred_at >= covered.start,
            Activity.occurred_at < covered.end,
        )
        .order_by(Activity.occurred_at, Activity.id)
        .limit(MAX_ROWS)
    ).all()
    leads = session.exec(
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
        )
        .where(Lead.department_id == department.id)
        .order_by(Lead.name)
        .limit(MAX_ROWS)
    ).all()
    return ExportData(department, covered, list(activities), list(leads))
