"""Messages the outbox renders when it sends them, from the rows as they are then.

A change of routing queues ``{"notice": {"kind": ..., <ids>}}`` rows in its own transaction
(bot.services.offers.notice): ids, not words. Rendering at send time reads the rows as they
are, so an offer's DM, its edit and the channel line always say the same thing, each in its
reader's language and zone: a person reads in their department's, a channel in its
department's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from bot import render
from bot.services.departments import reader_for
from bot.store.models import Department, Handoff, Lead, Offer, Routing

Renderer = Callable[[Session, dict[str, Any]], tuple[str, dict[str, Any]]]


def _reader(session: Session, channel: str) -> tuple[str, str]:
    """The locale and zone of a person, or of the department that owns a channel."""
    if channel[:1] in ("U", "W"):
        return reader_for(session, channel)
    department = session.exec(select(Department).where(Department.channel == channel)).first()
    if department is not None:
        return department.locale, department.timezone
    return reader_for(session, None)


def _routed(session: Session, routing_id: int, offer: Offer | None = None) -> dict[str, Any]:
    """What a routing's messages show: the routing, its lead and department in one read, and
    ``offer`` (else the routing's latest offer)."""
    found = session.exec(
        select(Routing, Lead, Department)
        .join(Lead, col(Lead.id) == col(Routing.lead_id))
        .join(Department, col(Department.id) == col(Routing.department_id), isouter=True)
        .where(Routing.id == routing_id)
    ).first()
    if found is None:
        raise LookupError(f"routing {routing_id} is gone")
    routing, lead, department = found
    current = (
        offer
        or session.exec(
            select(Offer).where(Offer.routing_id == routing.id).order_by(col(Offer.id).desc())
        ).first()
    )
    return {
        "routing": routing,
        "lead": lead,
        "department": department,
        "offer": current,
        "details": routing.details or {},
    }


def _offer(session: Session, ids: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    offer = session.get(Offer, ids["offer_id"])
    if offer is None:
        raise LookupError(f"offer {ids['offer_id']} is gone")
    return "routing.offer", _routed(session, offer.routing_id, offer)


def _line(session: Session, ids: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "routing.line", _routed(session, ids["routing_id"])


def _assign(session: Session, ids: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = _routed(session, ids["routing_id"])
    data["tried"] = list(
        session.exec(
            select(Offer).where(Offer.routing_id == ids["routing_id"]).order_by(Offer.id)  # type: ignore[arg-type]
        )
    )
    return "routing.assign", data


def _came_again(session: Session, ids: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    lead = session.get(Lead, ids["lead_id"])
    if lead is None:
        raise LookupError(f"lead {ids['lead_id']} is gone")
    return "routing.came_again", {"lead": lead, "source": ids.get("source") or ""}


def _handoff(session: Session, ids: dict[str, Any]) -> dict[str, Any]:
    handoff = session.get(Handoff, ids["handoff_id"])
    lead = session.get(Lead, handoff.lead_id) if handoff else None
    if handoff is None or lead is None:
        raise LookupError(f"handoff {ids['handoff_id']} is gone")

    def department(department_id: int | None) -> Department | None:
        return session.get(Department, department_id) if department_id else None

    return {
        "handoff": handoff,
        "lead": lead,
        "from_department": department(handoff.from_department_id),
        "to_department": department(handoff.to_department_id),
        "note": handoff.note or {},
    }


def _handoff_ask(session: Session, ids: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The hunter's DM on a win: when the customer goes, and the "Write handoff note" button
    (edited when the note is written, the handoff done or cancelled)."""
    return "handoff.ask", _handoff(session, ids)


def _handoff_post(session: Session, ids: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The target department's channel: who has the customer now, with the note."""
    return "handoff.post", _handoff(session, ids)


KINDS: dict[str, Renderer] = {
    "offer": _offer,
    "line": _line,
    "assign": _assign,
    "came_again": _came_again,
    "handoff_ask": _handoff_ask,
    "handoff_post": _handoff_post,
}


def message(session: Session, channel: str, notice: dict[str, Any]) -> dict[str, Any]:
    """The message (text and blocks) of a notice, for ``channel``'s reader."""
    template, data = KINDS[notice["kind"]](session, notice)
    locale, zone = _reader(session, channel)
    return render.message(template, locale, zone=zone, **data).as_post()
