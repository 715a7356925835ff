"""More races against a ``salesbot serve`` of several processes (two on SQLite, three on
PostgreSQL): absences set and cleared at once, members moved or removed while their leads are
claimed and transferred, and both sides of a cross-department transfer deciding at once.

As in tests/test_ownership_races.py, each test checks the database afterwards, not only the
replies (:mod:`bot.services.audit`), and that no request failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.services.audit import absence_overlaps, ownership_violations
from bot.store.models import Absence, Lead, Member
from tests.conftest import LiveServer, Reply, import_setup_text
from tests.leads_support import db
from tests.test_ownership_races import at_once

SETUP = """
admins = ["U0ADMIN"]

[[department]]
name = "Enterprise"
managers = ["U0MGR1"]
reps = ["U0ENT1", "U0ENT2", "U0ENT3"]

[[department]]
name = "SMB"
managers = ["U0MGR2"]
reps = ["U0SMB1", "U0SMB2"]
"""
FAILED = ("Something went wrong", "database is busy")


@pytest.fixture
def racing(db_url: str, fake_slack, tmp_path: Path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The live server with several web processes (two on SQLite, three on PostgreSQL)."""
    workers = 2 if db_url.startswith("sqlite") else 3
    live = LiveServer(
        db_url=db_url, fake=fake_slack, log_path=tmp_path / "serve.log", workers=workers
    )
    import_setup_text(db_url, SETUP)
    yield live
    live.stop()


def _texts(replies: list[Reply]) -> list[str]:
    texts = [reply.json()["text"] for reply in replies]
    assert not [t for t in texts if t.startswith(FAILED)], texts
    return texts


# ----------------------------------------------------------------------------- /away


def test_overlapping_absences_set_at_once_leave_no_two_active_overlapping(racing) -> None:
    away = partial(racing.command, "/away")
    created = 0
    for n in range(3):
        month = 12 + n  # December, then January and February next year
        month = (month - 1) % 12 + 1
        day = f"{month:02d}"
        replies = at_once(
            [
                partial(away, f"{day}-01 {day}-10", user="U0ENT1"),
                partial(away, f"{day}-05 {day}-15 cover <@U0ENT2|e2>", user="U0ENT1"),
                partial(away, f"<@U0ENT1|e1> {day}-08 {day}-20", user="U0MGR1"),
                partial(away, f"<@U0ENT1|e1> {day}-12", user="U0ADMIN"),
                partial(away, f"{day}-19 {day}-25", user="U0ENT1"),
                partial(away, "off", user="U0ENT1"),
                partial(away, f"<@U0ENT1|e1> {day}-03 {day}-04", user="U0MGR1"),
            ]
        )
        texts = _texts(replies)
        set_now = sum("is away 20" in t or "You are away 20" in t for t in texts)
        assert set_now == 6, texts  # every one of them is a valid absence: each is recorded
        created += set_now
        with db(racing) as session:
            rows = list(session.exec(select(Absence).where(Absence.user_id == "U0ENT1")))
            assert len(rows) == created, [(r.first_day, r.last_day) for r in rows]
            assert absence_overlaps(session) == []
            for row in rows:  # a cancelled absence says who cancelled it
                assert (row.cancelled_at is None) == (row.cancelled_by is None)
    shown = away("", user="U0ENT1").text
    with db(racing) as session:
        active = session.exec(
            select(Absence).where(Absence.user_id == "U0ENT1", col(Absence.cancelled_at).is_(None))
        ).all()
    for absence in active:  # what /away shows is what the database holds
        assert f"{absence.first_day}" in shown, shown


def test_the_absence_check_finds_two_that_overlap(engine) -> None:
    """The check can fail: two active absences of one person sharing a day."""
    now = datetime(2026, 11, 18, tzinfo=UTC)
    with Session(engine) as session:
        for first, last, cancelled in (
            (date(2026, 12, 1), date(2026, 12, 5), None),
            (date(2026, 12, 5), date(2026, 12, 9), None),
            (date(2026, 12, 2), date(2026, 12, 3), now),
            (date(2026, 12, 10), date(2026, 12, 11), None),
        ):
            session.add(
                Absence(
                    user_id="U1",
                    first_day=first,
                    last_day=last,
                    set_by="U1",
                    created_at=now,
                    cancelled_at=cancelled,
                    cancelled_by="U1" if cancelled else None,
                )
            )
        session.commit()
        found = absence_overlaps(session)
    assert len(found) == 1, found
    assert "U1" in found[0] and "2026-12-01" in found[0] and "2026-12-05" in found[0], found


# ------------------------------------------------------- members moved or removed


def _owners_in_their_departments(server: LiveServer) -> None:
    """Ownership invariants hold, and no lead is owned by someone outside its department."""
    with db(server) as session:
        assert ownership_violations(session) == []
        members = {m.user_id: m.department_id for m in session.exec(select(Member))}
        for lead in session.exec(select(Lead).where(col(Lead.owner_id).is_not(None))):
            assert members[lead.owner_id] == lead.department_id, lead


@pytest.mark.parametrize("leads_to", ["leads keep", "leads to pool", "leads to <@U0ENT3|e3>"])
def test_a_move_racing_claims_and_transfers_of_the_members_leads(racing, leads_to) -> None:
    lead, sales = partial(racing.command, "/lead"), partial(racing.command, "/sales")
    for n in range(3):
        for name in ("A", "B", "C"):
            assert "is now yours" in lead(f"claim Mv{n} {name}", user="U0ENT1").text
        assert "is now yours" in lead(f"claim Mv{n} D", user="U0ENT2").text
        texts = _texts(
            at_once(
                [
                    partial(sales, f"dept move <@U0ENT1|e1> SMB {leads_to}", user="U0ADMIN"),
                    partial(lead, f"claim Mv{n} A", user="U0ENT3"),
                    partial(lead, f"transfer Mv{n} B <@U0ENT2|e2>", user="U0MGR1"),
                    partial(lead, f"transfer Mv{n} D <@U0ENT1|e1>", user="U0MGR1"),
                    partial(lead, f"release Mv{n} C", user="U0ENT1"),
                    partial(lead, f"claim Mv{n} E", user="U0ENT1"),
                    partial(lead, f"transfer Mv{n} A <@U0SMB1|s1>", user="U0ADMIN"),
                ]
            )
        )
        assert texts[0].startswith("Moved <@U0ENT1> from *Enterprise* to *SMB*"), texts
        _owners_in_their_departments(racing)
        back = sales("dept move <@U0ENT1|e1> Enterprise leads keep", user="U0ADMIN").text
        assert back.startswith("Moved <@U0ENT1> from *SMB* to *Enterprise*"), back
        _owners_in_their_departments(racing)


@pytest.mark.parametrize("leads_to", ["pool", "<@U0ENT2|e2>"])
def test_a_removal_racing_claims_and_transfers_of_the_members_leads(racing, leads_to) -> None:
    lead, sales = partial(racing.command, "/lead"), partial(racing.command, "/sales")
    for n in range(3):
        for name in ("A", "B", "C"):
            assert "is now yours" in lead(f"claim Rm{n} {name}", user="U0ENT3").text
        assert "is now yours" in lead(f"claim Rm{n} D", user="U0ENT2").text
        texts = _texts(
            at_once(
                [
                    partial(
                        sales,
                        f"dept remove Enterprise <@U0ENT3|e3> leads to {leads_to}",
                        user="U0MGR1",
                    ),
                    partial(lead, f"claim Rm{n} A", user="U0ENT1"),
                    partial(lead, f"transfer Rm{n} B <@U0ENT1|e1>", user="U0MGR1"),
                    partial(lead, f"transfer Rm{n} D <@U0ENT3|e3>", user="U0MGR1"),
                    partial(lead, f"release Rm{n} C", user="U0ENT3"),
                    partial(lead, f"claim Rm{n} E", user="U0ENT3"),
                    partial(lead, f"transfer Rm{n} A <@U0SMB1|s1>", user="U0ADMIN"),
                ]
            )
        )
        assert texts[0].startswith("Removed <@U0ENT3> from *Enterprise*"), texts
        _owners_in_their_departments(racing)
        with db(racing) as session:
            assert not session.exec(select(Lead).where(Lead.owner_id == "U0ENT3")).all()
        back = sales("dept add Enterprise <@U0ENT3|e3>", user="U0MGR1").text
        assert "<@U0ENT3>" in back, back
