"""The rotation and its offers (DESIGN §8): who is offered a routed lead, and what settles it.

* **The rotation** of a department is its reps who are not away today (§9) and hold fewer than
  ``max_leads_per_rep`` open leads and open offers, minus those this lead was already offered
  to. The rep offered least recently goes next (``rotation_turn``; never offered comes first,
  then by user id). The pick runs under the department's row lock, so two leads routed at once,
  by two web processes, go to two reps, and a restart loses nothing: the turn is in the
  database.
* **An offer** waits ``accept_minutes`` of the department's working time (``work_hours`` on its
  working days, :mod:`bot.workdays`). It is settled exactly once, by one conditional UPDATE of
  its row (``WHERE status = 'open'``): accepted, passed, timed out, or withdrawn (its rep went
  away, or the lead got an owner another way). Passing or timing out offers the lead to the
  next rep; when nobody is left the routing ``waiting``: the lead waits in the pool and the
  department's managers are asked to assign it.
* **Messages** are outbox rows written in the same transaction as the change they announce
  (:func:`notice`): the offer's DM with Accept / Pass, one line in the department channel,
  and each one's update when the offer is settled. They hold ids, not words: the outbox renders
  them when it sends (jobs/notices.py), in the reader's language, from the rows as they are.

Lock order: member, lead, routing, offer, department. An accept, a claim or an assignment
locks the member and the lead, then the routing (:func:`lock_routing`), then settles the offer;
a pass or a time-out locks the routing, settles the offer, then takes the department's lock to
offer the next rep. Whoever holds the routing's lock sees its one open offer as it is, so a
routing never ends settled with an offer still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, exists, func, insert, literal_column, update
from sqlmodel import Session, col, select

from bot import workdays
from bot.services import departments as depts
from bot.services.errors import Conflict
from bot.store.models import (
    Absence,
    Department,
    Lead,
    Member,
    Offer,
    Outbox,
    RotationTurn,
    Routing,
)
from bot.store.prepared import Prepared

CLOSED_STAGES = ("won", "lost")
#: a routing that is not settled yet: an offer is open, or the lead waits for a manager
UNSETTLED = ("offering", "waiting")


def notice(
    session: Session,
    *,
    key: str,
    channel: str,
    kind: str,
    now: datetime,
    update_of: str | None = None,
    fresh: bool = False,
    **ids: Any,
) -> Outbox:
    """Queue a message in the caller's transaction: ``kind`` names how jobs/notices.py renders
    it from the rows ``ids`` name; ``update_of`` is the key of an earlier row whose message this
    one replaces. A key that exists already is not queued twice (``fresh``: the key names a
    row just created, so it cannot exist yet and is not looked up)."""
    if not fresh:
        existing = session.exec(select(Outbox).where(Outbox.key == key)).first()
        if existing is not None:
            return existing
    payload: dict[str, Any] = {"notice": {"kind": kind, **ids}}
    if update_of is not None:
        payload["update"] = update_of
    row = Outbox(key=key, channel=channel, payload=payload, next_attempt_at=now, created_at=now)
    session.add(row)
    session.info.setdefault(_QUEUED, []).append(row)
    return row


_QUEUED = "salesbot.queued_posts"


def start(session: Session) -> None:
    """Forget rows queued by an earlier change of this session (one that rolled back)."""
    session.info.pop(_QUEUED, None)


def queued(session: Session) -> tuple[int, ...]:
    """The ids of the rows :func:`notice` queued since :func:`start` (flushed first), to send
    once the transaction has committed."""
    session.flush()
    rows = session.info.pop(_QUEUED, [])
    return tuple(row.id for row in rows if row.id is not None)


def open_routing(session: Session, lead_id: int) -> Routing | None:
    """The lead's routing that is not settled yet, if any."""
    return session.exec(
        select(Routing).where(Routing.lead_id == lead_id, col(Routing.status).in_(UNSETTLED))
    ).first()


def lock_routing(session: Session, routing_id: int) -> Routing | None:
    """Lock the routing's row until the transaction ends and read it as committed now (as
    :mod:`bot.store.locks` does for leads). Every change of a routing's offers takes this
    lock before it touches an offer, so the routing and its one open offer change together."""
    session.execute(
        update(Routing).where(col(Routing.id) == routing_id).values(status=Routing.status)
    )
    return session.exec(
        select(Routing).where(Routing.id == routing_id).execution_options(populate_existing=True)
    ).first()


def gone(session: Session, offer: Offer, routing: Routing) -> Conflict:
    """Why an offer can no longer be answered (after rolling back what its answer began):
    settled before, and how, or the lead has an owner now."""
    session.rollback()
    session.refresh(offer)
    session.refresh(routing)
    lead = session.get(Lead, routing.lead_id)
    return Conflict(
        "routing.offer_gone",
        lead=lead.name if lead else "",
        status=offer.status,
        owner=routing.owner_id,
    )


def open_offer(session: Session, routing_id: int) -> Offer | None:
    return session.exec(
        select(Offer).where(Offer.routing_id == routing_id, Offer.status == "open")
    ).first()


def local_today(department: Department, now: datetime) -> Any:
    return now.astimezone(ZoneInfo(department.timezone or "UTC")).date()


@dataclass(frozen=True)
class Candidate:
    user_id: str
    turn: int | None
    held: int
    away: bool
    tried: bool


_MEMBER, _TURN, _LEAD, _OFFER, _ABSENCE = (
    Member.__table__,
    RotationTurn.__table__,
    Lead.__table__,
    Offer.__table__,
    Absence.__table__,
)
#: The rotation of one department in one read: each rep with their turn, the open leads and
#: open offers they hold, whether they are away on ``today`` and whether ``routing_id`` was
#: offered to them already. Each part is an indexed lookup per rep.
_ROTATION = Prepared(
    select(
        _MEMBER.c.user_id,
        select(_TURN.c.turn)
        .where(
            _TURN.c.department_id == _MEMBER.c.department_id,
            _TURN.c.user_id == _MEMBER.c.user_id,
        )
        .scalar_subquery()
        .label("turn"),
        (
            select(func.count())
            .select_from(_LEAD)
            .where(
                _LEAD.c.owner_id == _MEMBER.c.user_id,
                *(_LEAD.c.stage != literal_column(f"'{stage}'") for stage in CLOSED_STAGES),
            )
            .scalar_subquery()
            + select(func.count())
            .select_from(_OFFER)
            .where(_OFFER.c.user_id == _MEMBER.c.user_id, _OFFER.c.status == "open")
            .scalar_subquery()
        ).label("held"),
        exists()
        .where(
            _ABSENCE.c.user_id == _MEMBER.c.user_id,
            _ABSENCE.c.cancelled_at.is_(None),
            _ABSENCE.c.first_day <= bindparam("today"),
            _ABSENCE.c.last_day >= bindparam("today"),
        )
        .label("away"),
        exists()
        .where(
            _OFFER.c.routing_id == bindparam("routing_id"),
            _OFFER.c.user_id == _MEMBER.c.user_id,
        )
        .label("tried"),
    ).where(_MEMBER.c.department_id == bindparam("department_id"), _MEMBER.c.role == "rep")
)


def rotation(
    session: Session, department: Department, now: datetime, routing_id: int | None = None
) -> list[Candidate]:
    """The department's reps in rotation order (next first), each with what may keep them out:
    away today, leads and offers held, already offered this lead."""
    rows = _ROTATION.rows(
        session.connection(),
        department_id=department.id,
        today=local_today(department, now),
        routing_id=routing_id or 0,
    )
    ordered = sorted(rows, key=lambda row: (-1 if row.turn is None else row.turn, row.user_id))
    return [
        Candidate(
            user_id=row.user_id,
            turn=row.turn,
            held=row.held,
            away=bool(row.away),
            tried=bool(row.tried),
        )
        for row in ordered
    ]


def available(department: Department, candidate: Candidate) -> bool:
    limit = department.max_leads_per_rep
    return not (candidate.away or candidate.tried or (limit and candidate.held >= limit))


def offer_next(session: Session, routing: Routing, now: datetime) -> Offer | None:
    """Offer the routed lead to the next available rep of its department, under the
    department's lock; None when nobody is left (the routing then waits for a manager, who is
    asked). The caller commits."""
    lead = session.get(Lead, routing.lead_id)
    if lead is None or lead.deleted_at is not None:  # merged or deleted meanwhile
        routing.status, routing.settled_at = "cancelled", now
        session.add(routing)
        return None
    department = session.get(Department, routing.department_id) if routing.department_id else None
    if department is None:
        routing.status = "waiting"
        session.add(routing)
        return None
    department = depts.lock_department(session, department)
    candidates = rotation(session, department, now, routing.id)
    first = not any(c.tried for c in candidates)  # no line in the channel yet
    pick = next((c for c in candidates if available(department, c)), None)
    if pick is None:
        routing.status = "waiting"
        session.add(routing)
        for manager in depts.managers_of(session, department) or depts.admin_ids(session):
            notice(
                session,
                key=f"routing:{routing.id}:assign:{manager}",
                channel=manager,
                kind="assign",
                now=now,
                routing_id=routing.id,
            )
        _line(session, routing, department, now, state="waiting", first=first)
        return None
    turn = max((c.turn for c in candidates if c.turn is not None), default=0) + 1
    if pick.turn is None:  # read under the department's lock: nobody else writes it now
        session.execute(
            insert(_TURN).values(department_id=department.id, user_id=pick.user_id, turn=turn)
        )
    else:
        session.execute(
            update(_TURN)
            .where(_TURN.c.department_id == department.id, _TURN.c.user_id == pick.user_id)
            .values(turn=turn)
        )
    offer = Offer(
        routing_id=routing.id,
        user_id=pick.user_id,
        status="open",
        offered_at=now,
        due_at=workdays.add_working_minutes(department, now, department.accept_minutes),
    )
    session.add(offer)
    session.flush()
    routing.status = "offering"
    session.add(routing)
    notice(
        session,
        key=f"offer:{offer.id}:dm",
        channel=pick.user_id,
        kind="offer",
        now=now,
        fresh=True,
        offer_id=offer.id,
    )
    _line(session, routing, department, now, state=f"offer{offer.id}", first=first)
    return offer


def _line(
    session: Session,
    routing: Routing,
    department: Department | None,
    now: datetime,
    *,
    state: str,
    first: bool = False,
) -> None:
    """The routing's one line in its department's channel: posted at the first offer (or when
    nobody could be offered it), then edited at each change (``state`` makes each edit's
    outbox key its own). ``first``: the routing has no line yet (nobody was offered it)."""
    if department is None or not department.channel:
        return
    line = f"routing:{routing.id}:line"
    if first or session.exec(select(Outbox.id).where(Outbox.key == line)).first() is None:
        notice(
            session,
            key=line,
            channel=department.channel,
            kind="line",
            now=now,
            fresh=first,
            routing_id=routing.id,
        )
        return
    notice(
        session,
        key=f"{line}:{state}",
        channel=department.channel,
        kind="line",
        now=now,
        update_of=line,
        routing_id=routing.id,
    )


def settle_offer(session: Session, offer: Offer, status: str, now: datetime) -> bool:
    """Settle an open offer (``accepted``, ``passed``, ``timed_out``, ``withdrawn``) with one
    conditional UPDATE; False when it was settled already (someone else won). Its DM is
    edited to say so."""
    won = session.execute(
        update(Offer)
        .where(col(Offer.id) == offer.id, Offer.status == "open")
        .values(status=status, settled_at=now)
    )
    if won.rowcount != 1:
        return False
    notice(
        session,
        key=f"offer:{offer.id}:dm:{status}",
        channel=offer.user_id,
        kind="offer",
        now=now,
        update_of=f"offer:{offer.id}:dm",
        offer_id=offer.id,
    )
    return True


def settle_routing(
    session: Session,
    routing: Routing,
    *,
    status: str,
    owner: str | None,
    actor: str | None,
    now: datetime,
) -> None:
    """The routed lead has an owner (``accepted``, ``assigned``, ``claimed``) or is gone
    (``cancelled``): withdraw its open offer, record who and how fast (working minutes since
    the lead came in: speed to lead), and edit its channel line. Inside the caller's lock of
    the lead; the caller commits."""
    locked = lock_routing(session, routing.id)
    if locked is None or locked.status not in UNSETTLED:
        return
    routing = locked
    offer = open_offer(session, routing.id)
    if offer is not None:
        settle_offer(session, offer, "accepted" if offer.user_id == owner else "withdrawn", now)
    department = session.get(Department, routing.department_id) if routing.department_id else None
    if routing.status == "waiting":  # the managers who were asked see it settled
        asked = session.exec(
            select(Outbox).where(col(Outbox.key).startswith(f"routing:{routing.id}:assign:"))
        ).all()
        for row in asked:
            if row.payload.get("update") is None:
                notice(
                    session,
                    key=f"{row.key}:{status}",
                    channel=row.channel,
                    kind="assign",
                    now=now,
                    update_of=row.key,
                    routing_id=routing.id,
                )
    routing.status = status
    routing.settled_at = now
    routing.settled_by = actor
    routing.owner_id = owner
    if department is not None:
        routing.working_minutes = workdays.working_minutes(department, routing.started_at, now)
    session.add(routing)
    _line(session, routing, department, now, state=status)


@dataclass(frozen=True)
class Hold:
    """What an unsettled routing means for a claim of its lead."""

    routing: Routing
    #: the rep the lead is offered to now (None: it waits for a manager, anyone may claim)
    offered_to: str | None
    due_at: datetime | None


def check_claim(session: Session, lead: Lead, actor: str) -> Hold | None:
    """Inside a claim's lock of ``lead``: refused while the lead is offered to another rep
    (the offer is theirs until it is settled or times out); the hold to settle after the
    claim otherwise (a claim by the rep it is offered to accepts the offer)."""
    routing = open_routing(session, lead.id)
    if routing is None:
        return None
    offer = open_offer(session, routing.id)
    if offer is not None and offer.user_id != actor:
        session.rollback()
        raise Conflict(
            "routing.offered_to_other", lead=lead.name, rep=offer.user_id, due=offer.due_at
        )
    return Hold(
        routing=routing,
        offered_to=offer.user_id if offer else None,
        due_at=offer.due_at if offer else None,
    )


def after_claim(session: Session, hold: Hold | None, actor: str, now: datetime) -> None:
    """Settle the hold :func:`check_claim` returned, in the claim's transaction."""
    if hold is None:
        return
    status = "accepted" if hold.offered_to == actor else "claimed"
    settle_routing(session, hold.routing, status=status, owner=actor, actor=actor, now=now)
