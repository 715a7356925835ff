"""From hunters to farmers (DESIGN §10): a won customer handed to the department that keeps it.

* **Settings**: a department's ``handoff_to`` (another department) and ``handoff_after_days``
  (0–365, default 7; 0 hands over at once).
* **On a win** (``/lead won``, ``/lead stage … won``; in the win's own transaction,
  :func:`after_stage`) of a lead whose department has ``handoff_to``: a ``handoff`` row falls
  due ``handoff_after_days`` later, and the owner gets a DM with a "Write handoff note"
  button (key contacts, commitments made, risks, next step). Reopening or losing the deal
  cancels a handoff that is not done, and withdraws its offer if it was offered.
* **When due** (the hourly job ``handoffs``, or ``/lead handoff <company> [note]`` at once):
  the handoff goes through the target department's rotation (:mod:`bot.services.offers`) as a
  routing of kind ``handoff`` whose ``source`` is the hunter's department and whose
  ``details`` are the note. Nothing of the rotation is built twice.
* **Accepted** (or assigned by a target manager: ``/lead assign`` or the managers' menu): the
  farmer and their department own the customer, in one transaction with the audit event
  ``handoff`` ("handed off from <department> to <department>"); the handoff post with the
  note goes to the target department's channel, and the hunter is told who has it. The won
  amount stays credited to the hunter: wins are counted from the ``won`` event, which records
  the owner and department at the time of the win.

Decisions where the design is silent:

* ``/lead handoff`` works on won deals only (an open deal is the hunter's to close), and when
  the lead's department has no ``handoff_to`` it says how an admin sets one.
* The note can be written or changed until the handoff is done; a change made while it is
  offered reaches the offer (the offer's DM and the handoff post are rendered from the rows
  when they are sent). ``/lead handoff <company> <text>`` puts the text into the next step
  when no note was written, and adds it to the next step otherwise, so nothing typed is lost.
* A handoff goes where ``handoff_to`` pointed at the win, and falls due when
  ``handoff_after_days`` said then: changing the settings later changes later wins only.
* The hunter, their manager (of the lead's department) and admins may write the note or hand
  over early. A manager may assign an offered handoff only to a member of the target
  department: the customer is going there.

Lock order, as a transfer's: the accepting member, then the lead, then the handoff row (read
again inside the lead's lock), then the target department (for the next offer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.services import departments as depts
from bot.services import offers
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.store.locks import lock_lead
from bot.store.models import Department, Handoff, Lead, Offer, Outbox, OwnershipEvent, Routing

#: the handoff note's fields, in the order the modal and the post show them
NOTE_FIELDS = ("key_contacts", "commitments", "risks", "next_step")
MAX_NOTE_FIELD = 2000
OPEN = ("due", "offered")


def open_handoff(session: Session, lead_id: int) -> Handoff | None:
    """The lead's handoff that is not done or cancelled, as committed now."""
    return session.exec(
        select(Handoff)
        .where(Handoff.lead_id == lead_id, col(Handoff.status).in_(OPEN))
        .execution_options(populate_existing=True)
    ).first()


def _written(note: dict[str, Any] | None) -> bool:
    return bool(note) and any((note or {}).get(field) for field in NOTE_FIELDS)


# ------------------------------------------------------------------ on a win


def after_stage(
    session: Session, lead: Lead, before: str, stage: str, owner: str | None, now: datetime
) -> None:
    """Inside ``set_stage``'s lock of ``lead``, before it commits: a win of a lead whose
    department hands off writes its handoff and asks the owner for a note; reopening or losing
    a won deal cancels its pending handoff."""
    if stage == "won" and before != "won":
        department = session.get(Department, lead.department_id) if lead.department_id else None
        if department is None or department.handoff_to_id is None or owner is None:
            return
        if open_handoff(session, lead.id) is not None:
            return
        handoff = Handoff(
            lead_id=lead.id,
            from_department_id=department.id,
            from_owner=owner,
            to_department_id=department.handoff_to_id,
            won_at=now,
            due_at=now + timedelta(days=department.handoff_after_days),
            status="due",
            created_at=now,
        )
        session.add(handoff)
        session.flush()
        offers.notice(
            session,
            key=f"handoff:{handoff.id}:ask",
            channel=owner,
            kind="handoff_ask",
            now=now,
            handoff_id=handoff.id,
        )
        if department.handoff_after_days == 0:
            _offer(session, handoff, now)
    elif before == "won" and stage != "won":
        cancel(session, lead, now)


def cancel(session: Session, lead: Lead, now: datetime) -> Handoff | None:
    """The deal is no longer won (reopened, lost) or the lead is gone: its handoff is
    cancelled, and an offer of it withdrawn. Inside the caller's lock of the lead."""
    handoff = open_handoff(session, lead.id)
    if handoff is None:
        return None
    changed = session.execute(
        update(Handoff)
        .where(col(Handoff.id) == handoff.id, col(Handoff.status).in_(OPEN))
        .values(status="cancelled", done_at=now)
    )
    if changed.rowcount != 1:
        return None
    routing = session.get(Routing, handoff.routing_id) if handoff.routing_id else None
    if routing is not None and routing.status in offers.UNSETTLED:
        offers.settle_routing(session, routing, status="cancelled", owner=None, actor=None, now=now)
    _update_ask(session, handoff, now, "cancelled")
    return handoff


def _update_ask(session: Session, handoff: Handoff, now: datetime, state: str) -> None:
    """Edit the hunter's "Write handoff note" DM to what is true now (a handoff started by
    ``/lead handoff`` of a customer won before the setting existed has no such DM)."""
    ask = f"handoff:{handoff.id}:ask"
    if (
        handoff.from_owner is None
        or session.exec(select(Outbox.id).where(Outbox.key == ask)).first() is None
    ):
        return
    offers.notice(
        session,
        key=f"handoff:{handoff.id}:ask:{state}",
        channel=handoff.from_owner,
        kind="handoff_ask",
        now=now,
        update_of=f"handoff:{handoff.id}:ask",
        handoff_id=handoff.id,
    )


# ------------------------------------------------------------------ offering


def _offer(session: Session, handoff: Handoff, now: datetime) -> Offer | None:
    """Put a due handoff through its target department's rotation (inside the lead's lock):
    a routing of kind ``handoff``, source the hunter's department, details the note."""
    source = (
        session.get(Department, handoff.from_department_id) if handoff.from_department_id else None
    )
    routing = Routing(
        lead_id=handoff.lead_id,
        department_id=handoff.to_department_id,
        kind="handoff",
        source=(source.name if source is not None else "?")[:100],
        status="offering",
        started_at=now,
        details=dict(handoff.note) if _written(handoff.note) else None,
    )
    session.add(routing)
    session.flush()
    handoff.status = "offered"
    handoff.routing_id = routing.id
    session.add(handoff)
    session.flush()
    return offers.offer_next(session, routing, now)


def due(session: Session, now: datetime) -> list[int]:
    """The ids of the handoffs to offer now (due at or before ``now``)."""
    return list(
        session.exec(
            select(Handoff.id)
            .where(Handoff.status == "due", Handoff.due_at <= now)
            .order_by(col(Handoff.due_at), col(Handoff.id))
        ).all()
    )


def offer_due(session: Session, handoff_id: int, now: datetime) -> tuple[bool, tuple[int, ...]]:
    """The ``handoffs`` job's step for one due handoff, in its own transaction: offered (True),
    or cancelled because the deal is no longer won or its department is gone; nothing when
    it was offered or settled meanwhile. Returns (offered, outbox rows queued)."""
    offers.start(session)
    row = session.get(Handoff, handoff_id)
    if row is None:
        return False, ()
    lead = lock_lead(session, row.lead_id)
    handoff = session.exec(
        select(Handoff).where(Handoff.id == handoff_id).execution_options(populate_existing=True)
    ).one()
    if lead is None or handoff.status != "due" or handoff.due_at > now:
        session.rollback()
        return False, ()
    if (
        lead.deleted_at is not None
        or lead.stage != "won"
        or lead.owner_id is None
        or handoff.to_department_id is None
    ):
        cancel(session, lead, now)
        posts = offers.queued(session)
        session.commit()
        return False, posts
    _offer(session, handoff, now)
    posts = offers.queued(session)
    session.commit()
    return True, posts


@dataclass(frozen=True)
class Handed:
    lead: Lead
    handoff: Handoff
    to_department: Department
    #: the farmer offered it now, or None (nobody available: the managers were asked)
    offered_to: str | None
    posts: tuple[int, ...] = ()


def _check_note_field(field: str, value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_NOTE_FIELD:
        raise InvalidInput(
            "handoff.note_too_long",
            block=field,
            field=field,
            limit=MAX_NOTE_FIELD,
            length=len(text),
        )
    return text or None


def hand_over(session: Session, *, actor: str, words: list[str], now: datetime) -> Handed:
    """``/lead handoff <company> [note]``: hand a won customer over now (the owner, their
    manager, an admin); the text goes into the note's next step."""
    from bot.services import leads  # leads calls this module on a win

    offers.start(session)
    lead, rest = leads.find(session, words, actor=actor)
    locked = lock_lead(session, lead.id)
    if locked is None or locked.deleted_at is not None:
        session.rollback()
        raise NotFound("lead.not_found", name=lead.name, suggestions=[])
    lead = locked
    if lead.owner_id is None:
        session.rollback()
        raise Conflict("lead.in_pool", lead=lead.name)
    _require_may_write(session, actor, lead, lead.owner_id)
    if lead.stage != "won":
        session.rollback()
        raise Conflict("handoff.not_won", lead=lead.name, stage=lead.stage)
    text = " ".join(rest).strip()
    handoff = open_handoff(session, lead.id)
    if handoff is not None and handoff.status == "offered":
        routing = session.get(Routing, handoff.routing_id) if handoff.routing_id else None
        offer = offers.open_offer(session, routing.id) if routing and routing.id else None
        target = session.get(Department, handoff.to_department_id)
        session.rollback()
        raise Conflict(
            "handoff.already_offered",
            lead=lead.name,
            department=target.name if target else "?",
            rep=offer.user_id if offer else None,
        )
    department = session.get(Department, lead.department_id)
    assert department is not None
    if handoff is None:
        if department.handoff_to_id is None:
            session.rollback()
            raise Conflict("handoff.no_target", lead=lead.name, department=department.name)
        handoff = Handoff(
            lead_id=lead.id,
            from_department_id=department.id,
            from_owner=lead.owner_id,
            to_department_id=department.handoff_to_id,
            won_at=lead.stage_changed_at or now,
            due_at=now,
            status="due",
            created_at=now,
        )
    if text:
        note = dict(handoff.note or {})
        step = note.get("next_step")
        note["next_step"] = f"{step}\n{text}" if step else text
        try:
            _check_note_field("next_step", note["next_step"])
        except InvalidInput:
            session.rollback()
            raise
        handoff.note = note
    handoff.due_at = now
    session.add(handoff)
    session.flush()
    target = session.get(Department, handoff.to_department_id) if handoff.to_department_id else None
    if target is None:
        session.rollback()
        raise Conflict("handoff.no_target", lead=lead.name, department=department.name)
    offer = _offer(session, handoff, now)
    posts = offers.queued(session)
    session.commit()
    session.refresh(lead)
    return Handed(
        lead=lead,
        handoff=handoff,
        to_department=target,
        offered_to=offer.user_id if offer else None,
        posts=posts,
    )


# ------------------------------------------------------------------ the note


def _require_may_write(session: Session, actor: str, lead: Lead, hunter: str | None) -> None:
    from bot.services import leads

    if actor in (hunter, lead.owner_id) or leads.may_manage(session, actor, lead):
        return
    department = session.get(Department, lead.department_id) if lead.department_id else None
    session.rollback()
    raise PermissionDenied(
        "handoff.denied",
        lead=lead.name,
        owner=lead.owner_id,
        managers=depts.managers_of(session, department) if department else [],
    )


@dataclass(frozen=True)
class NoteForm:
    """What the note modal opens with."""

    handoff: Handoff
    lead: Lead
    to_department: Department | None


def note_form(session: Session, *, actor: str, handoff_id: int) -> NoteForm:
    """The "Write handoff note" button: refused to whoever may not write it, and once the
    handoff is done or cancelled."""
    handoff = session.get(Handoff, handoff_id)
    lead = session.get(Lead, handoff.lead_id) if handoff else None
    if handoff is None or lead is None:
        raise NotFound("handoff.not_found")
    _require_may_write(session, actor, lead, handoff.from_owner)
    if handoff.status not in OPEN:
        raise Conflict(
            "handoff.closed", lead=lead.name, status=handoff.status, owner=handoff.to_owner
        )
    target = session.get(Department, handoff.to_department_id) if handoff.to_department_id else None
    return NoteForm(handoff=handoff, lead=lead, to_department=target)


def note_problems(note: dict[str, str | None]) -> list[InvalidInput]:
    """Each field over its limit, with the block it belongs to (the modal's inline errors)."""
    found = []
    for field in NOTE_FIELDS:
        try:
            _check_note_field(field, note.get(field))
        except InvalidInput as error:
            found.append(error)
    return found


def write_note(
    session: Session, *, actor: str, handoff_id: int, note: dict[str, str | None], now: datetime
) -> tuple[Handoff, Lead, tuple[int, ...]]:
    """Save the hunter's note (the modal's submission), inside the lead's lock; an offered
    handoff's routing carries it too. Refused once the handoff is done or cancelled."""
    problems = note_problems(note)
    if problems:
        raise problems[0]
    clean = {field: _check_note_field(field, note.get(field)) for field in NOTE_FIELDS}
    offers.start(session)
    row = session.get(Handoff, handoff_id)
    if row is None:
        raise NotFound("handoff.not_found")
    lead = lock_lead(session, row.lead_id)
    handoff = session.exec(
        select(Handoff).where(Handoff.id == handoff_id).execution_options(populate_existing=True)
    ).one()
    if lead is None:
        session.rollback()
        raise NotFound("handoff.not_found")
    _require_may_write(session, actor, lead, handoff.from_owner)
    if handoff.status not in OPEN:
        session.rollback()
        raise Conflict(
            "handoff.closed", lead=lead.name, status=handoff.status, owner=handoff.to_owner
        )
    handoff.note = {k: v for k, v in clean.items() if v} or None
    session.add(handoff)
    if handoff.routing_id is not None:
        routing = session.get(Routing, handoff.routing_id)
        if routing is not None:
            routing.details = handoff.note
            session.add(routing)
    _update_ask(session, handoff, now, f"note{int(now.timestamp() * 1000)}")
    posts = offers.queued(session)
    session.commit()
    return handoff, lead, posts


# ------------------------------------------------------------------ accepted


def complete(
    session: Session,
    lead: Lead,
    routing: Routing,
    to_user: str,
    department: Department,
    actor: str,
    now: datetime,
    *,
    status: str,
) -> bool:
    """The handoff's move, inside the caller's locks of ``to_user``'s member row and the lead:
    owner and department change with the audit event ``handoff``, the handoff is done, its
    routing settled (``accepted`` or ``assigned``), the post goes to the target department's
    channel and the hunter is told. False when the handoff is no longer offered or the deal
    is no longer won (nothing written). The caller commits."""
    handoff = session.exec(
        select(Handoff)
        .where(Handoff.routing_id == routing.id)
        .execution_options(populate_existing=True)
    ).first()
    if (
        handoff is None
        or handoff.status != "offered"
        or lead.owner_id is None
        or lead.stage != "won"
    ):
        return False
    if department.id != handoff.to_department_id:
        target = session.get(Department, handoff.to_department_id)
        session.rollback()
        raise InvalidInput(
            "handoff.assign_outside", lead=lead.name, user=to_user, department=target.name
        )
    done = session.execute(
        update(Handoff)
        .where(col(Handoff.id) == handoff.id, Handoff.status == "offered")
        .values(status="done", done_at=now, to_owner=to_user)
    )
    if done.rowcount != 1:
        return False
    session.add(
        OwnershipEvent(
            lead_id=lead.id,
            action="handoff",
            actor_id=actor,
            at=now,
            from_owner=lead.owner_id,
            from_department_id=lead.department_id,
            to_owner=to_user,
            to_department_id=department.id,
        )
    )
    lead.owner_id = to_user
    lead.department_id = department.id
    lead.claimed_at = now
    lead.expires_at = None  # a won customer does not expire
    lead.warned_at = None
    lead.updated_at = now
    session.add(lead)
    session.flush()
    offers.settle_routing(session, routing, status=status, owner=to_user, actor=actor, now=now)
    if department.channel:
        offers.notice(
            session,
            key=f"handoff:{handoff.id}:post",
            channel=department.channel,
            kind="handoff_post",
            now=now,
            handoff_id=handoff.id,
        )
    session.refresh(handoff)
    _update_ask(session, handoff, now, "done")
    return True


# ------------------------------------------------------------------ agenda


@dataclass(frozen=True)
class HandoffLine:
    lead: str
    from_department: str | None
    to_department: str | None
    from_owner: str | None
    to_owner: str | None
    status: str
    due_at: datetime
    done_at: datetime | None


@dataclass(frozen=True)
class HandoffSummary:
    """A department's handoffs for its agenda: those waiting (due or offered, in or out) and
    those done since the last meeting (in or out)."""

    waiting: list[HandoffLine]
    done: list[HandoffLine]


def for_agenda(
    session: Session, department_id: int, since: datetime, until: datetime, limit: int = 10
) -> HandoffSummary:
    """Two queries, whatever the number of handoffs: the department's waiting handoffs (from
    it or to it) and the ones done in ``[since, until)``."""
    names = dict(session.exec(select(Department.id, Department.name)).all())
    ours = (Handoff.from_department_id == department_id) | (
        Handoff.to_department_id == department_id
    )

    def lines(rows: list[Any]) -> list[HandoffLine]:
        return [
            HandoffLine(
                lead=name,
                from_department=names.get(h.from_department_id),
                to_department=names.get(h.to_department_id),
                from_owner=h.from_owner,
                to_owner=h.to_owner,
                status=h.status,
                due_at=h.due_at,
                done_at=h.done_at,
            )
            for h, name in rows
        ]

    waiting = session.exec(
        select(Handoff, Lead.name)
        .join(Lead, col(Lead.id) == col(Handoff.lead_id))
        .where(ours, col(Handoff.status).in_(OPEN))
        .order_by(col(Handoff.due_at), col(Handoff.id))
        .limit(limit)
    ).all()
    done = session.exec(
        select(Handoff, Lead.name)
        .join(Lead, col(Lead.id) == col(Handoff.lead_id))
        .where(
            ours,
            Handoff.status == "done",
            col(Handoff.done_at) >= since,
            col(Handoff.done_at) < until,
        )
        .order_by(col(Handoff.done_at), col(Handoff.id))
        .limit(limit)
    ).all()
    return HandoffSummary(waiting=lines(list(waiting)), done=lines(list(done)))
