"""Exports: the command queues a plan, the worker writes (jobs/export_files.py) and uploads
the CSV files.

``/sales export`` checks who may export what and counts the rows (bot/services/exports.py),
then queues two outbox rows addressed to the caller, one per file, holding what to export
(department, period, language), never the file itself. When the worker delivers such a row it
streams the rows from the database into a temporary CSV file (at most
``MAX_ROWS``) and uploads it with ``files_upload_v2`` into the caller's DM with the app,
retried like every post. The command answers at once whatever the size, and no file bytes
sit in the database.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from bot import render
from bot.services.exports import MAX_ROWS, plan_export
from jobs import outbox


@dataclass(frozen=True)
class ExportSummary:
    department: str
    period: str
    first_day: date
    last_day: date
    activities: int
    leads: int
    #: rows per file at most
    cap: int = MAX_ROWS


def request_export(
    session: Session, *, actor: str, words: list[str], now: datetime, locale: str
) -> ExportSummary:
    """Queue the caller's export (two CSV files to their DM) and say what it holds."""
    plan = plan_export(session, actor=actor, words=words, now=now)
    department, covered = plan.department, plan.covered
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    for kind in ("activities", "leads"):
        title = html.unescape(
            render.text(
                "export.file_title",
                locale,
                department=department.name,
                kind=kind,
                first_day=covered.first_day,
                last_day=covered.last_day,
            )
        )
        outbox.enqueue(
            session,
            key=f"export:{actor}:{department.id}:{covered.name}:{kind}:{stamp}",
            channel=actor,
            payload={
                "export": {
                    "kind": kind,
                    "department_id": department.id,
                    "start": covered.start.isoformat(),
                    "end": covered.end.isoformat(),
                    "locale": locale,
                    "filename": f"{kind}-{covered.first_day.isoformat()}.csv",
                    "title": title,
                }
            },
            now=now,
        )
    return ExportSummary(
        department=department.name,
        period=covered.name,
        first_day=covered.first_day,
        last_day=covered.last_day,
        activities=plan.activities,
        leads=plan.leads,
    )
