"""Mistaken leads: ``/lead merge <company> into <company>`` and ``/lead delete <company>``.

* Who: a manager of the department that owns each lead, or an admin. A lead in the pool has
  no department, so any manager may merge or delete it (it is in nobody's way but the
  whole company's); an admin may do anything.
* Merge keeps the second lead (its owner, department, stage and amount stay) and retires the
  first: the first one's activities and refused claims move onto the kept lead, its pending
  transfer request is cancelled, the kept lead's last-activity time is the later of the two,
  and the kept lead gains the retired one's domain when it has none.
* Delete retires a lead as it is (its activities stay counted where they happened, under the
  retired lead's name).
* A retired lead keeps its row and its audit trail, with a line saying who merged or deleted
  it and when (and the kept lead a line saying what was merged into it); it leaves its owner,
  and its name and domain keys are rewritten (``#<id>#<key>``, no domain) so the customer can
  be claimed again. Lookups by key never find it; lists, reports and similar-name checks skip
  it (``deleted_at``).
* Both are one transaction that locks the leads it changes in id order (the same fixed order
  for every caller, so two merges of the same pair never wait for each other in a circle) and
  re-checks every rule on the rows as committed now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.services import departments as depts
from bot.services import handoffs, leads
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.store.locks import lock_lead
from bot.store.models import Activity, ClaimConflict, Department, Lead, TransferRequest

#: the word between the two companies of ``/lead merge``
INTO = ("into", "到", "并入")
#: ``lead.name_key``'s length
MAX_KEY = 200


@dataclass(frozen=True)
class Merged:
    retired: leads.LeadInfo
    kept: leads.LeadInfo
    activities: int


def split_merge(words: list[str]) -> tuple[list[str], list[str]]:
    """``Acme Inc into Acme Corp`` → (``Acme Inc``, ``Acme Corp``), at the last ``into``."""
    for i in range(len(words) - 2, 0, -1):
        if words[i].casefold() in INTO:
            return words[:i], words[i + 1 :]
    raise InvalidInput("lead.merge_usage")


def _require_may_retire(session: Session, actor: str, lead: Lead, action: str) -> None:
    if depts.is_admin(session, actor):
        return
    department = session.get(Department, lead.department_id) if lead.department_id else None
    member = depts.get_member(session, actor)
    if department is None and member is not None and member.role == "manager":
        return
    if department is not None and depts.is_manager_of(session, actor, department):
        return
    raise PermissionDenied(
        "lead.retire_denied",
        action=action,
        lead=lead.name,
        department=department.name if department else None,
        managers=depts.managers_of(session, department) if department else [],
        admins=depts.admin_ids(session),
    )


def _locked_in_order(session: Session, *found: Lead) -> list[Lead]:
    """The leads locked in id order and read as committed now, in the order given."""
    fresh: dict[int, Lead] = {}
    for lead_id in sorted({lead.id for lead in found if lead.id is not None}):
        locked = lock_lead(session, lead_id)
        if locked is None or locked.deleted_at is not None:
            session.rollback()
            name = next(lead.name for lead in found if lead.id == lead_id)
            raise NotFound("lead.not_found", name=name, suggestions=[])
        fresh[lead_id] = locked
    return [fresh[lead.id] for lead in found if lead.id is not None]


def _retire(session: Session, lead: Lead, action: str, actor: str, now: datetime, **kw) -> None:
    """The lead leaves its owner, frees its keys and is hidden; its audit trail says why."""
    session.add(
        leads.event(
            lead,
            action,
            actor,
            now,
            from_owner=lead.owner_id,
            from_department_id=lead.department_id,
            **kw,
        )
    )
    session.execute(
        update(TransferRequest)
        .where(col(TransferRequest.lead_id) == lead.id, col(TransferRequest.status) == "pending")
        .values(status="cancelled", decided_by=actor, decided_at=now)
    )
    handoffs.cancel(session, lead, now)  # a retired customer is handed to nobody (§10)
    lead.owner_id = None
    lead.department_id = None
    lead.expires_at = None
    lead.warned_at = None
    lead.deleted_at = now
    lead.updated_at = now
    lead.name_key = f"#{lead.id}#{lead.name_key}"[:MAX_KEY]
    lead.domain = None
    session.add(lead)
    session.flush()


def merge(session: Session, *, actor: str, words: list[str], now: datetime) -> Merged:
    first_words, kept_words = split_merge(words)
    first = leads.find_whole(session, first_words)
    kept = leads.find_whole(session, kept_words)
    if first.id == kept.id:
        raise Conflict("lead.merge_same", lead=kept.name)
    first, kept = _locked_in_order(session, first, kept)
    _require_may_retire(session, actor, first, "merge")
    _require_may_retire(session, actor, kept, "merge")
    retired = leads.snapshot(session, first)
    moved = session.exec(
        select(func.count()).select_from(Activity).where(Activity.lead_id == first.id)
    ).one()
    session.execute(
        update(Activity).where(col(Activity.lead_id) == first.id).values(lead_id=kept.id)
    )
    session.execute(
        update(ClaimConflict).where(col(ClaimConflict.lead_id) == first.id).values(lead_id=kept.id)
    )
    domain, last = first.domain, first.last_activity_at
    # The territory attributes the kept lead lacks come from the retired one (DESIGN §7).
    known = {name: getattr(first, name) for name in ("employees", "country", "industry")}
    _retire(session, first, "merged", actor, now, reason=kept.name[:400])
    first.merged_into_id = kept.id
    session.add(first)
    if kept.domain is None and domain is not None:
        kept.domain = domain
    for name, value in known.items():
        if getattr(kept, name) is None and value is not None:
            setattr(kept, name, value)
    if last is not None and (kept.last_activity_at is None or kept.last_activity_at < last):
        kept.last_activity_at = last
    kept.updated_at = now
    session.add(kept)
    session.add(leads.event(kept, "merge", actor, now, reason=retired.lead.name[:400]))
    session.commit()
    session.refresh(kept)
    return Merged(retired=retired, kept=leads.info(session, kept), activities=moved)


def delete(session: Session, *, actor: str, words: list[str], now: datetime) -> leads.LeadInfo:
    (lead,) = _locked_in_order(session, leads.find_whole(session, words))
    _require_may_retire(session, actor, lead, "delete")
    before = leads.snapshot(session, lead)
    _retire(session, lead, "delete", actor, now)
    session.commit()
    return before
