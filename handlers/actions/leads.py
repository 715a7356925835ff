"""Buttons on lead messages: Claim (pool, expiry notices), Release (expiry warnings),
Approve / Reject (transfer requests)."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.config import Settings
from bot.ids import Action
from bot.services import leads as svc
from bot.services.errors import InvalidInput
from handlers.events.home import publish_home
from handlers.notify import direct_messages


def register(app: App) -> None:
    app.action(Action.LEAD_CLAIM)(claim)
    app.action(Action.LEAD_RELEASE)(release)
    app.action(Action.TRANSFER_APPROVE)(approve)
    app.action(Action.TRANSFER_REJECT)(reject)


def _id(action: dict) -> int:
    try:
        return int(action["value"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("lead.request_not_found") from None


def claim(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    now: datetime,
    locale: str,
    respond: Respond,
) -> None:
    ack()
    done = svc.claim_by_id(session, actor=body["user"]["id"], lead_id=_id(action), now=now)
    message = render.message("lead.claimed", locale, **done.reply())
    respond(**message.ephemeral(), replace_original=False)


def release(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    now: datetime,
    locale: str,
    respond: Respond,
) -> None:
    ack()
    before = svc.release_by_id(session, actor=body["user"]["id"], lead_id=_id(action), now=now)
    # A warning that lists several leads stays, so its other buttons still work; the answer
    # comes below it. A warning about one lead is replaced by the answer.
    shown = (body.get("message") or {}).get("blocks") or []
    several = sum(1 for block in shown if block.get("type") == "actions") > 1
    respond(
        **render.message("lead.released", locale, item=before).as_post(),
        replace_original=not several,
    )


def _decider(approve: bool):  # type: ignore[no-untyped-def]
    """The Approve or the Reject listener of a transfer request."""

    def decide(
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
        decision = svc.decide(
            session, actor=actor, request_id=_id(action), approve=approve, now=now
        )
        request = decision.request
        data = {"request": request, "item": decision.lead}
        template = "lead.transfer_decided"
        if decision.waiting_on:
            template = "lead.transfer_agreed"
            data["waiting_on"] = decision.waiting_on
        if body.get("response_url") or body.get("container", {}).get("type") == "message":
            respond(**render.message(template, locale, **data).as_post(), replace_original=True)
        else:  # a button on the Home tab: show the tab again, without the request if decided
            publish_home(
                {"user": actor, "tab": "home"},
                client=client,
                session=session,
                now=now,
                locale=locale,
            )
        users = [request.requested_by, request.from_user]
        if not decision.waiting_on:
            users.append(request.to_user)
        direct_messages(client, session, settings, users, template, **data)
        if decision.losing_managers:
            direct_messages(
                client,
                session,
                settings,
                [u for u in decision.losing_managers if u != actor],
                "lead.transfer_left_department",
                item=decision.lead,
                previous=decision.previous,
                to_user=request.to_user,
            )

    return decide


approve = _decider(True)
reject = _decider(False)
