"""Export files: CSV built from bot/services/exports.py rows, sent by DM through the outbox.

The slash command only queues the two files (activities, leads) as outbox rows addressed to
the caller; the worker uploads them with ``files_upload_v2`` into the caller's DM with the
app, retried like every post, so the command answers at once whatever the size.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import render
from bot.services.exports import ExportData, export_for
from jobs import outbox


@dataclass(frozen=True)
class ExportSummary:
    department: str
    period: str
    first_day: date
    last_day: date
    activities: int
    leads: int


def _cell(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat(timespec="seconds")
    return "" if value is None else value


#: A cell starting with one of these is a formula to a spreadsheet (OWASP's CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a string that would start a formula gets a
    leading apostrophe (OWASP); numbers and everything else are kept."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(header: str, rows: list[list[Any]]) -> bytes:
    """Every export's CSV: a UTF-8 BOM, the header, then the rows with every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(html.unescape(header).split(","))
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: spreadsheets read UTF-8


def activity_csv(data: ExportData, locale: str) -> bytes:
    tz = ZoneInfo(data.department.timezone)
    rows = [
        [_cell(at, tz), at.astimezone(tz).date().isoformat(), user, kind, lead or "", note or ""]
        for at, user, kind, lead, note in data.activities
    ]
    return _csv(render.text("export.activity_columns", locale), rows)


def lead_csv(data: ExportData, locale: str) -> bytes:
    tz = ZoneInfo(data.department.timezone)
    rows = [
        [
            name,
            _cell(domain, tz),
            _cell(owner, tz),
            stage,
            "" if amount is None else f"{amount / 100:.2f}",
            *(_cell(v, tz) for v in times),
        ]
        for name, domain, owner, stage, amount, *times in data.leads
    ]
    return _csv(render.text("export.lead_columns", locale), rows)


def request_export(
    session: Session, *, actor: str, words: list[str], now: datetime, locale: str
) -> ExportSummary:
    """Queue the caller's export (two CSV files to their DM) and say what it holds."""
    data = export_for(session, actor=actor, words=words, now=now)
    department, covered = data.department, data.covered
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    for kind, content in (
        ("activities", activity_csv(data, locale)),
        ("leads", lead_csv(data, locale)),
    ):
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
            payload=outbox.file_payload(
                content=content,
                filename=f"{kind}-{covered.first_day.isoformat()}.csv",
                title=title,
            ),
            now=now,
        )
    return ExportSummary(
        department=department.name,
        period=covered.name,
        first_day=covered.first_day,
        last_day=covered.last_day,
        activities=len(data.activities),
        leads=len(data.leads),
    )
