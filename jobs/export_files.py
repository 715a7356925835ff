"""Export files: the CSV a queued export asks for, written from the database to a file.

The worker's outbox calls :func:`write_export` when it delivers an export row (jobs/exports.py
queues them): the rows are streamed from the database a batch at a time (at most
``MAX_ROWS``), every cell made safe for spreadsheets, into a UTF-8 file with a BOM.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import render
from bot.services.exports import activity_rows, lead_rows
from bot.store.models import Department


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


def _write_csv(stream: IO[str], header: str, rows: Iterable[list[Any]]) -> None:
    """Every export's CSV: a UTF-8 BOM (spreadsheets then read UTF-8), the header, then the
    rows with every cell made safe."""
    stream.write("\ufeff")
    writer = csv.writer(stream)
    writer.writerow(html.unescape(header).split(","))
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)


def _csv(header: str, rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    _write_csv(buffer, header, rows)
    return buffer.getvalue().encode("utf-8")


def _no_names(user_id: str | None) -> str:
    return ""


def _activity_lines(
    rows: Iterable[tuple[Any, ...]], tz: ZoneInfo, names: Callable[[str | None], str] = _no_names
) -> Iterable[list[Any]]:
    for at, user, kind, lead, note in rows:
        yield [
            _cell(at, tz),
            at.astimezone(tz).date().isoformat(),
            user,
            names(user),
            kind,
            lead or "",
            note or "",
        ]


def _lead_lines(
    rows: Iterable[tuple[Any, ...]], tz: ZoneInfo, names: Callable[[str | None], str] = _no_names
) -> Iterable[list[Any]]:
    for name, domain, owner, stage, amount, *times in rows:
        yield [
            name,
            _cell(domain, tz),
            _cell(owner, tz),
            names(owner),
            stage,
            "" if amount is None else f"{amount / 100:.2f}",
            *(_cell(v, tz) for v in times),
        ]


def write_export(
    engine: Engine,
    spec: dict[str, Any],
    path: Path,
    names: Callable[[str | None], str] = _no_names,
) -> None:
    """Write the CSV file an export row asks for (see :func:`request_export`) to ``path``,
    streaming its rows from the database; ``names`` gives each person's real name, written
    beside their Slack id (jobs/people.py)."""
    with Session(engine) as session, open(path, "w", encoding="utf-8", newline="") as stream:
        department = session.get(Department, spec["department_id"])
        tz = ZoneInfo(department.timezone if department else "UTC")
        if spec["kind"] == "activities":
            start, end = (datetime.fromisoformat(spec[k]) for k in ("start", "end"))
            found = activity_rows(session, spec["department_id"], start, end)
            rows = _activity_lines(found, tz, names)
            header = render.text("export.activity_columns", spec["locale"])
        else:
            rows = _lead_lines(lead_rows(session, spec["department_id"]), tz, names)
            header = render.text("export.lead_columns", spec["locale"])
        _write_csv(stream, header, rows)
