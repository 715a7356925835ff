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
from bot.store.models import Absence, Activity, Lead, Member, OwnershipEvent, TransferRequest
from tests.conftest import LiveServer, Reply
from tests.leads_support import click, db, responses
from tests.race_support import at_once, racing_server

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
    yield from racing_server(db_url, fake_slack, tmp_path, SETUP)


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


# --------------------------------------------------- both sides decide at once

#: Each round's clicks, all at once: (user, approve?). Round 0 only agrees, from both sides
#: (it must end approved); the others mix agreements and rejections from both sides.
DECISIONS = [
    [("U0MGR1", True), ("U0MGR2", True), ("U0MGR1", True), ("U0MGR2", True)],
    [("U0MGR1", True), ("U0MGR2", True), ("U0MGR1", False), ("U0MGR2", False)],
    [("U0MGR2", True), ("U0ADMIN", True), ("U0MGR2", False), ("U0MGR1", True)],
    [("U0MGR1", False), ("U0MGR2", True), ("U0MGR1", True), ("U0ADMIN", False)],
]


def test_both_sides_deciding_at_once_settle_the_request_once(racing) -> None:
    for n, clicks in enumerate(DECISIONS):
        name = f"Two{n}"
        racing.command("/lead", f"claim {name}", user="U0ENT1")
        asked = racing.command("/lead", f"transfer {name} <@U0SMB1|s1>", user="U0ENT1")
        assert "both sides must agree" in asked.text, asked.text
        with db(racing) as session:
            request = session.exec(
                select(TransferRequest).where(TransferRequest.status == "pending")
            ).one()
        tags = [f"two{n}-{i}" for i in range(len(clicks))]
        at_once(
            [
                partial(
                    click,
                    racing,
                    user,
                    "transfer_approve" if approve else "transfer_reject",
                    str(request.id),
                    tag,
                )
                for (user, approve), tag in zip(clicks, tags, strict=True)
            ]
        )
        texts = [text for tag in tags for text in (r["text"] for r in responses(racing, tag))]
        assert len(texts) == len(clicks), texts  # one answer to every click
        assert not [t for t in texts if t.startswith(FAILED)], texts
        with db(racing) as session:
            request = session.get(TransferRequest, request.id)
            lead = session.exec(select(Lead).where(Lead.name_key == name.lower())).one()
            moves = list(
                session.exec(
                    select(OwnershipEvent).where(
                        OwnershipEvent.lead_id == lead.id, OwnershipEvent.action == "transfer"
                    )
                )
            )
            smb = session.exec(select(Member).where(Member.user_id == "U0SMB1")).one()
        # One final outcome, and the lead, its audit trail and the replies all agree with it.
        assert request.status in ("approved", "rejected"), (request.status, texts)
        approved = [t for t in texts if t.startswith(":white_check_mark: Approved by")]
        rejected = [t for t in texts if " rejected moving " in t]
        if request.status == "approved":
            assert [(e.actor_id, e.to_owner, e.reason) for e in moves] == [
                (request.decided_by, "U0SMB1", "request")
            ]
            assert (lead.owner_id, lead.department_id) == ("U0SMB1", smb.department_id)
            assert approved == [
                f":white_check_mark: Approved by <@{request.decided_by}>: *{name}* now belongs "
                f"to <@U0SMB1> (SMB)."
            ], texts
            assert rejected == [], texts
        else:
            assert moves == []
            assert lead.owner_id == "U0ENT1"
            assert (request.decided_by, False) in clicks
            assert rejected == [
                f":x: <@{request.decided_by}> rejected moving *{name}* to <@U0SMB1>; it stays "
                "with <@U0ENT1>."
            ], texts
            assert approved == [], texts
        if n == 0:
            assert request.status == "approved"
        settled = approved + rejected
        others = [t for t in texts if t not in settled]
        # every other click either agreed for one side before, or learnt it was settled
        assert all(
            " agreed to move " in t or t.startswith(f"The transfer of *{name}* was already")
            for t in others
        ), texts
    with db(racing) as session:
        assert ownership_violations(session) == []


# ------------------------------------------------- the Add button of /log, at once


def _add_button(reply: Reply) -> str:
    blocks = reply.json()["blocks"]
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return next(e["value"] for e in elements if e["action_id"] == "log_new_lead")


def test_add_and_log_pressed_by_many_at_once_makes_one_lead(racing) -> None:
    """The Add button claims through the one claim path: of several reps adding the same new
    customer at once, one claims it; the others' activities are logged on that lead (their
    department's) or refused (another department's), and nothing is created twice."""
    users = ("U0ENT1", "U0ENT2", "U0ENT3", "U0SMB1", "U0SMB2")
    for n in range(3):
        name = f"Newco{n}"
        values = {
            user: _add_button(racing.command("/log", f"email {name}: sent the deck", user=user))
            for user in users
        }
        tags = [f"add{n}-{user}" for user in users]
        at_once(
            [
                partial(click, racing, user, "log_new_lead", values[user], tag)
                for user, tag in zip(users, tags, strict=True)
            ]
        )
        texts = {
            user: [r["text"] for r in responses(racing, tag)]
            for user, tag in zip(users, tags, strict=True)
        }
        assert all(len(t) == 1 for t in texts.values()), texts
        with db(racing) as session:
            (lead,) = session.exec(select(Lead).where(Lead.name_key == name.lower())).all()
            events = session.exec(
                select(OwnershipEvent).where(OwnershipEvent.lead_id == lead.id)
            ).all()
            activities = session.exec(select(Activity).where(Activity.lead_id == lead.id)).all()
            owner_department = lead.department_id
            departments = {m.user_id: m.department_id for m in session.exec(select(Member))}
        assert [(e.action, e.to_owner) for e in events] == [("claim", lead.owner_id)]
        assert [a.user_id for a in activities if a.created_lead] == [lead.owner_id]
        logged = {a.user_id for a in activities}
        for user, (text,) in texts.items():
            said = f":memo: Logged an email with *{name}*: “sent the deck”. "
            if user == lead.owner_id:
                assert text.startswith(said + "It stays yours until 2026-12-02."), text
                assert user in logged
            elif departments[user] == owner_department:
                assert text.startswith(said + f"It belongs to <@{lead.owner_id}> ("), text
                assert user in logged
            else:
                assert text.startswith(f"*{name}* belongs to <@{lead.owner_id}>"), text
                assert user not in logged
    with db(racing) as session:
        assert ownership_violations(session) == []
