"""New leads and where they go (DESIGN §8): intake, ``/lead new``, Accept / Pass, assignment.

A new lead is routed to its territory department (§7), else the setup file's
``default_department``, else the public pool. Inside the department it goes through the
rotation (:mod:`bot.services.offers`): one rep at a time is offered it, until one accepts;
when everyone available has passed or timed out, it waits in the pool and the department's
managers are asked to assign it (``/lead assign``, or the control in their DM).

A customer salesbot knows already (either key) is not created twice: an owned one answers
``existing`` and its owner is told, at most once a day per lead, that it came in again and
from where; one in the pool is routed again unless it is being routed now.

While a lead is offered, it is the offered rep's: anyone else's claim is refused, saying to
whom and until when (a claim by that rep accepts the offer). Once it waits for a manager,
anyone may claim it as any pool lead. Accept, a claim of the same customer and the time-out
moving the offer on settle the offer with one conditional UPDATE each: exactly one wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.ids import SLACK_SOURCE
from bot.services import departments as depts
from bot.services import handoffs, leads, offers, territories
from bot.services.absence import absence_on, away_between
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.services.names import MAX_NAME, Company, domain_key, name_key
from bot.store.locks import lock_lead
from bot.store.models import Department, Lead, Offer, OwnershipEvent, Routing

#: ``routing.source`` and what the audit trail shows after "accepted, from"
MAX_SOURCE = 100


@dataclass(frozen=True)
class Routed:
    lead: Lead
    #: "offered", "pooled" (no rep available, or no department) or "existing" (owned already)
    status: str
    department: Department | None
    #: the rep offered the lead now, for "offered"
    offered_to: str | None
    #: the owner, for "existing"
    owner: str | None
    #: outbox rows to send now (the offer's DM and channel line, the owner's notice)
    posts: tuple[int, ...] = ()

    def reply(self) -> dict[str, Any]:
        """What the ``routing.routed`` reply shows, the same for ``/lead new`` and the form."""
        return {
            "lead": self.lead,
            "status": self.status,
            "department": self.department,
            "offered_to": self.offered_to,
            "owner": self.owner,
        }


def slack_source(user: str) -> str:
    """The ``source`` of a lead ``user`` added in Slack."""
    return SLACK_SOURCE + user


def company_from(session: Session, name: str, domain: str | None) -> Company:
    """The company a routed lead is made from (the API's and the modal's separate fields): the
    same keys and limits as a claim; a mail provider's domain is not kept."""
    clean = " ".join(name.split())
    key = name_key(clean)
    if not key:
        raise InvalidInput("lead.bad_company", given=clean)
    if max(len(clean), len(key)) > MAX_NAME:
        raise InvalidInput("lead.name_too_long", limit=MAX_NAME, length=max(len(clean), len(key)))
    company = Company(name=clean, key=key, domain=domain_key(domain) if domain else None)
    return company.without_mail_domain(leads.mail_providers(session))


def route_new(
    session: Session,
    *,
    actor: str | None,
    name: str,
    domain: str | None,
    employees: int | None = None,
    country: str | None = None,
    industry: str | None = None,
    source: str,
    now: datetime,
    contact: dict[str, Any] | None = None,
    before_commit: Callable[[Session, Routed], None] | None = None,
) -> Routed:
    """Route a customer that came in (see the module). ``before_commit`` runs inside the
    transaction, right before it commits (the intake API writes its idempotency row there)."""
    offers.start(session)
    company = company_from(session, name, domain)
    source = source[:MAX_SOURCE]
    lead = leads.by_keys(session, company)
    if lead is None:
        lead = Lead(
            name=company.name,
            name_key=company.key,
            domain=company.domain,
            stage="new",
            employees=employees,
            country=country,
            industry=industry,
            created_at=now,
            updated_at=now,
        )
        session.add(lead)
        try:
            session.flush()
        except IntegrityError:  # the same customer came in at the same moment: one is created
            session.rollback()
            lead = leads.by_keys(session, company)
            if lead is None:
                raise
        else:
            session.add(
                OwnershipEvent(
                    lead_id=lead.id, action="intake", actor_id=actor, at=now, reason=source
                )
            )
            return _route(session, lead, actor, source, now, contact, before_commit)
    return _again(session, lead, actor, source, now, contact, before_commit)


def _again(
    session: Session,
    lead: Lead,
    actor: str | None,
    source: str,
    now: datetime,
    contact: dict[str, Any] | None,
    before_commit: Callable[[Session, Routed], None] | None,
) -> Routed:
    """A customer that exists came in again: its owner is told (once a day per lead); a pool
    lead is routed unless it is being routed already."""
    locked = lock_lead(session, lead.id)
    if locked is None or locked.deleted_at is not None:
        session.rollback()
        raise NotFound("lead.not_found", name=lead.name, suggestions=[])
    lead = locked
    if lead.owner_id is None:
        routing = offers.open_routing(session, lead.id)
        if routing is None:
            return _route(session, lead, actor, source, now, contact, before_commit)
        offer = offers.open_offer(session, routing.id)
        department = (
            session.get(Department, routing.department_id) if routing.department_id else None
        )
        routed = Routed(
            lead=lead,
            status="offered" if offer else "pooled",
            department=department,
            offered_to=offer.user_id if offer else None,
            owner=None,
        )
        return _commit(session, routed, before_commit)
    department = session.get(Department, lead.department_id)
    zone = department.timezone if department else "UTC"
    day = now.astimezone(ZoneInfo(zone)).date().isoformat()
    offers.notice(
        session,
        key=f"intake-again:{lead.id}:{day}",
        channel=lead.owner_id,
        kind="came_again",
        now=now,
        lead_id=lead.id,
        source=source,
    )
    routed = Routed(
        lead=lead, status="existing", department=department, offered_to=None, owner=lead.owner_id
    )
    return _commit(session, routed, before_commit)


def _commit(
    session: Session,
    routed: Routed,
    before_commit: Callable[[Session, Routed], None] | None,
) -> Routed:
    routed = replace(routed, posts=offers.queued(session))
    if before_commit is not None:
        before_commit(session, routed)
    session.commit()
    return routed


def _route(
    session: Session,
    lead: Lead,
    actor: str | None,
    source: str,
    now: datetime,
    contact: dict[str, Any] | None,
    before_commit: Callable[[Session, Routed], None] | None,
) -> Routed:
    department = territories.territory_department(session, lead) or territories.default_department(
        session
    )
    routing = Routing(
        lead_id=lead.id,
        department_id=department.id if department else None,
        kind="new",
        source=source,
        status="offering",
        started_at=now,
        details={k: v for k, v in (contact or {}).items() if v not in (None, "")} or None,
    )
    session.add(routing)
    session.flush()
    offer = offers.offer_next(session, routing, now)
    routed = Routed(
        lead=lead,
        status="offered" if offer else "pooled",
        department=department,
        offered_to=offer.user_id if offer else None,
        owner=None,
    )
    return _commit(session, routed, before_commit)


# ------------------------------------------------------------- accept, pass


@dataclass(frozen=True)
class Answered:
    lead: Lead
    routing: Routing
    offer: Offer
    #: the next rep offered it (after a pass), or None
    next_rep: str | None = None
    posts: tuple[int, ...] = ()


def _own_offer(session: Session, offer_id: int, actor: str) -> tuple[Offer, Routing]:
    offer = session.get(Offer, offer_id)
    if offer is None or offer.user_id != actor:
        raise NotFound("routing.offer_not_found")
    routing = session.get(Routing, offer.routing_id)
    assert routing is not None
    return offer, routing


def accept(session: Session, *, actor: str, offer_id: int, now: datetime) -> Answered:
    """The rep accepts their offer: they own the lead ("accepted, from <source>")."""
    offers.start(session)
    offer, routing = _own_offer(session, offer_id, actor)
    department = leads.locked_claimant(session, actor)
    lead = lock_lead(session, routing.lead_id)
    if lead is None or lead.deleted_at is not None:
        session.rollback()
        raise NotFound("routing.offer_not_found")
    offers.lock_routing(session, routing.id)
    fresh = session.exec(
        select(Offer).where(Offer.id == offer.id).execution_options(populate_existing=True)
    ).one()
    handoff = routing.kind == "handoff"  # the hunter still owns it: a move, not a take (§10)
    if fresh.status != "open" or (lead.owner_id is not None and not handoff):
        raise offers.gone(session, offer, routing)
    if department.id != routing.department_id:
        session.rollback()
        raise Conflict("routing.moved_department", lead=lead.name)
    if handoff:
        moved = handoffs.complete(
            session, lead, routing, actor, department, actor, now, status="accepted"
        )
        if not moved:
            raise offers.gone(session, offer, routing)
    else:
        leads.check_limit(session, actor, department)
        if not leads.take(
            session, lead, actor, department, now, action="accept", reason=routing.source
        ):
            raise offers.gone(session, offer, routing)
        offers.settle_routing(
            session, routing, status="accepted", owner=actor, actor=actor, now=now
        )
    posts = offers.queued(session)
    session.commit()
    session.refresh(lead)
    return Answered(lead=lead, routing=routing, offer=offer, posts=posts)


def pass_offer(session: Session, *, actor: str, offer_id: int, now: datetime) -> Answered:
    """The rep passes: the next rep in the rotation is offered the lead."""
    offers.start(session)
    offer, routing = _own_offer(session, offer_id, actor)
    locked = offers.lock_routing(session, routing.id)
    if locked is None or not offers.settle_offer(session, offer, "passed", now):
        raise offers.gone(session, offer, routing)
    routing = locked
    nxt = offers.offer_next(session, routing, now)
    posts = offers.queued(session)
    session.commit()
    lead = session.get(Lead, routing.lead_id)
    assert lead is not None
    return Answered(
        lead=lead, routing=routing, offer=offer, next_rep=nxt.user_id if nxt else None, posts=posts
    )


def move_on(session: Session, offer: Offer, status: str, now: datetime) -> tuple[int, ...]:
    """Settle an offer that timed out (or whose rep went away) and offer the next rep; the
    outbox rows it queued. Nothing when the offer was settled meanwhile."""
    offers.start(session)
    routing = offers.lock_routing(session, offer.routing_id)
    if routing is None or not offers.settle_offer(session, offer, status, now):
        session.rollback()
        return ()
    offers.offer_next(session, routing, now)
    posts = offers.queued(session)
    session.commit()
    return posts


def due_offers(
    session: Session, now: datetime, *, user: str | None = None
) -> list[tuple[Offer, str]]:
    """The open offers (of ``user``, or everyone's) to move on now: timed out (in working
    time), or whose rep is away today (in their department's zone)."""
    found: list[tuple[Offer, str]] = []
    query = (
        select(Offer, Department)
        .join(Routing, col(Routing.id) == col(Offer.routing_id))
        .join(Department, col(Department.id) == col(Routing.department_id))
        .where(Offer.status == "open")
        .order_by(col(Offer.id))
    )
    if user is not None:
        query = query.where(Offer.user_id == user)
    rows = session.exec(query).all()
    for offer, department in rows:
        if offer.due_at <= now:
            found.append((offer, "timed_out"))
        elif absence_on(session, offer.user_id, offers.local_today(department, now)):
            found.append((offer, "withdrawn"))
    return found


def withdraw_away(session: Session, user: str, now: datetime) -> tuple[int, ...]:
    """The rep is away today: their open offers move on at once (§9)."""
    posts: list[int] = []
    for offer, _ in due_offers(session, now, user=user):
        posts.extend(move_on(session, offer, "withdrawn", now))
    return tuple(posts)


# ---------------------------------------------------------------- assign


def assign(
    session: Session, *, actor: str, words: list[str], user: str, now: datetime
) -> tuple[Lead, Department, tuple[int, ...]]:
    """``/lead assign <company> <@user>``: a manager of the user's department (or an admin)
    gives them a lead that has no owner; its routing, if any, is settled as assigned."""
    return _assign(
        session, actor=actor, lead=leads.find_whole(session, words, actor=actor), user=user, now=now
    )


def _assign(
    session: Session, *, actor: str, lead: Lead, user: str, now: datetime
) -> tuple[Lead, Department, tuple[int, ...]]:
    """Give ``lead`` to ``user`` (see :func:`assign`), from a command or the managers' menu."""
    offers.start(session)
    target = depts.department_of(session, user)
    if target is None:
        raise InvalidInput("routing.assign_not_member", user=user)
    if not (depts.is_admin(session, actor) or depts.is_manager_of(session, actor, target)):
        raise PermissionDenied(
            "routing.assign_denied",
            department=target.name,
            managers=depts.managers_of(session, target),
        )
    department = leads.locked_claimant(session, user)
    locked = lock_lead(session, lead.id)
    if locked is None or locked.deleted_at is not None:
        session.rollback()
        raise NotFound("lead.not_found", name=lead.name, suggestions=[])
    if locked.owner_id is not None:
        handoff = offers.open_routing(session, locked.id)
        if (
            handoff is not None
            and handoff.kind == "handoff"  # the handoff's move (§10)
            and handoffs.complete(
                session, locked, handoff, user, department, actor, now, status="assigned"
            )
        ):
            posts = offers.queued(session)
            session.commit()
            session.refresh(locked)
            return locked, department, posts
        session.rollback()
        raise Conflict("routing.assign_owned", lead=locked.name, owner=locked.owner_id, user=user)
    leads.check_limit(session, user, department)
    routing = offers.open_routing(session, locked.id)
    if not leads.take(session, locked, user, department, now, actor=actor, action="assign"):
        session.rollback()
        raise Conflict("routing.assign_owned", lead=locked.name, owner=None, user=user)
    if routing is not None:
        offers.settle_routing(session, routing, status="assigned", owner=user, actor=actor, now=now)
    posts = offers.queued(session)
    session.commit()
    session.refresh(locked)
    return locked, department, posts


def assign_by_routing(
    session: Session, *, actor: str, routing_id: int, user: str, now: datetime
) -> tuple[Lead, Department, tuple[int, ...]]:
    """The assign control of the managers' DM."""
    routing = session.get(Routing, routing_id)
    lead = session.get(Lead, routing.lead_id) if routing else None
    if lead is None:
        raise NotFound("routing.offer_not_found")
    return _assign(session, actor=actor, lead=lead, user=user, now=now)


# ------------------------------------------------------------------- status


@dataclass(frozen=True)
class OpenOffer:
    lead: Lead
    routing: Routing
    offer: Offer | None


@dataclass(frozen=True)
class RoutingStatus:
    department: Department
    rotation: list[offers.Candidate]
    waiting: list[OpenOffer]
    away: dict[str, Any]


def status(session: Session, department: Department, now: datetime) -> RoutingStatus:
    """``/sales routing``: the rotation in order, who is away, the leads being offered and
    those waiting for a manager."""
    candidates = offers.rotation(session, department, now)
    today = offers.local_today(department, now)
    away = {a.user_id: a for a in away_between(session, department.id, today, today)}
    rows = session.exec(
        select(Routing, Lead, Offer)
        .join(Lead, col(Lead.id) == col(Routing.lead_id))
        .outerjoin(
            Offer, and_(col(Offer.routing_id) == col(Routing.id), col(Offer.status) == "open")
        )
        .where(Routing.department_id == department.id, col(Routing.status).in_(offers.UNSETTLED))
        .order_by(col(Routing.started_at))
    ).all()
    waiting = [OpenOffer(lead=lead, routing=routing, offer=offer) for routing, lead, offer in rows]
    return RoutingStatus(department=department, rotation=candidates, waiting=waiting, away=away)
