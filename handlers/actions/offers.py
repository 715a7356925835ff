"""An offered lead's buttons (Accept, Pass) and the managers' menu to assign one nobody took.

Each answer edits the offer's DM through the outbox (the row the change queued), so the buttons
disappear once the offer is settled; the ephemeral reply says what happened.
"""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.config import Settings
from bot.ids import Action
from bot.services import routing
from bot.services.errors import InvalidInput
from handlers.notify import deliver, direct_messages


def register(app: App) -> None:
    app.action(Action.OFFER_ACCEPT)(accept)
    app.action(Action.OFFER_PASS)(pass_)
    app.action(Action.ROUTING_ASSIGN)(assign)


def _id(text: object) -> int:
    try:
        return int(str(text))
    except (TypeError, ValueError):
        raise InvalidInput("routing.offer_not_found") from None


def accept(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    now: datetime,
    locale: str,
    respond: Respond,
    client: WebClient,
) -> None:
    ack()
    done = routing.accept(
        session, actor=body["user"]["id"], offer_id=_id(action.get("value")), now=now
    )
    deliver(session, client, done.posts, now)
    template = "handoff.accepted" if done.routing.kind == "handoff" else "routing.accepted"
    respond(
        **render.message(template, locale, lead=done.lead).ephemeral(),
        replace_original=False,
    )


def pass_(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    now: datetime,
    locale: str,
    respond: Respond,
    client: WebClient,
) -> None:
    ack()
    done = routing.pass_offer(
        session, actor=body["user"]["id"], offer_id=_id(action.get("value")), now=now
    )
    deliver(session, client, done.posts, now)
    respond(
        **render.message(
            "routing.passed", locale, lead=done.lead, next_rep=done.next_rep
        ).ephemeral(),
        replace_original=False,
    )


def assign(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    now: datetime,
    locale: str,
    respond: Respond,
    client: WebClient,
    settings: Settings,
) -> None:
    ack()
    actor = body["user"]["id"]
    user = action.get("selected_user")
    routing_id = _id(str(action.get("block_id", "")).rpartition(":")[2])
    if not isinstance(user, str):
        raise InvalidInput("routing.offer_not_found")
    lead, department, posts = routing.assign_by_routing(
        session, actor=actor, routing_id=routing_id, user=user, now=now
    )
    deliver(session, client, posts, now)
    # a won customer is assigned only as a handoff (a pool lead starts over as new)
    template = "handoff.assigned" if lead.stage == "won" else "routing.assigned"
    if user != actor:
        direct_messages(
            client, session, settings, [user], template, lead=lead, department=department
        )
    respond(
        **render.message(template, locale, lead=lead, department=department).ephemeral(),
        replace_original=False,
    )
