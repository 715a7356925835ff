"""Checks of the ownership rules over the whole store, for tests, ``bench/race.py`` and an
admin who wants to know that the database holds what salesbot promises.

Each violation is one line naming the lead: a lead with an owner but no department or the other
way round; an owner who is not a member of the lead's department; an audit trail that, read in
its order, does not replay to the lead's owner (a change that started from an owner the one
before it did not leave, or a claim of a lead that was owned). :func:`absence_overlaps` checks
that nobody has two active absences on the same day.
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from bot.store.models import Absence, Lead, Member, OwnershipEvent

#: Actions that end an ownership, and those that leave it as it is.
_ENDS = ("release", "expire", "lost")
_KEEPS = ("stage", "won")
#: Actions that give a lead in the pool its owner (a claim, an accepted offer, a manager's
#: assignment), and those that move it from one owner to another.
_TAKES = ("claim", "accept", "assign")
_MOVES = ("transfer", "handoff")


def ownership_violations(session: Session) -> list[str]:
    members = {m.user_id: m.department_id for m in session.exec(select(Member))}
    trails: dict[int, list[OwnershipEvent]] = defaultdict(list)
    for event in session.exec(select(OwnershipEvent).order_by(col(OwnershipEvent.id))):
        trails[event.lead_id].append(event)
    found: list[str] = []
    for lead in session.exec(select(Lead).order_by(col(Lead.id))):
        where = f"lead {lead.id} ({lead.name})"
        if (lead.owner_id is None) != (lead.department_id is None):
            found.append(f"{where}: owner {lead.owner_id} with department {lead.department_id}")
        if lead.owner_id is not None and members.get(lead.owner_id) != lead.department_id:
            found.append(
                f"{where}: owner {lead.owner_id} is in department "
                f"{members.get(lead.owner_id)}, the lead in {lead.department_id}"
            )
        owner = department = None
        for event in trails[lead.id]:
            start = (event.from_owner, event.from_department_id)
            if event.action in _TAKES and owner is not None:
                found.append(f"{where}: event {event.id} claims it from {owner}")
            elif event.action in (*_ENDS, *_MOVES) and start != (owner, department):
                found.append(f"{where}: event {event.id} {event.action} starts from {start}")
            elif event.action in _KEEPS and owner is None:
                found.append(f"{where}: event {event.id} {event.action} while in the pool")
            if event.action in (*_TAKES, *_MOVES):
                owner, department = event.to_owner, event.to_department_id
            elif event.action in _ENDS:
                owner = department = None
        if (owner, department) != (lead.owner_id, lead.department_id):
            found.append(f"{where}: the audit trail ends at {owner}, the lead has {lead.owner_id}")
    return found


def absence_overlaps(session: Session) -> list[str]:
    """Each pair of active (not cancelled) absences of one person sharing a day, one line
    naming the person and both spans: ``/away`` keeps one absence at a time (a new one
    replaces every one it overlaps), so there should be none."""
    found: list[str] = []
    last: dict[str, Absence] = {}
    for absence in session.exec(
        select(Absence)
        .where(col(Absence.cancelled_at).is_(None))
        .order_by(col(Absence.user_id), col(Absence.first_day), col(Absence.id))
    ):
        before = last.get(absence.user_id)
        if before is not None and absence.first_day <= before.last_day:
            found.append(
                f"{absence.user_id}: absence {before.id} ({before.first_day} to "
                f"{before.last_day}) overlaps absence {absence.id} ({absence.first_day} to "
                f"{absence.last_day})"
            )
        if before is None or absence.last_day > before.last_day:
            last[absence.user_id] = absence
    return found
