"""``/coach``: private feedback from a manager, delivered by direct message."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import render
from bot.services import recognition as svc
from bot.services.errors import Conflict
from handlers.commands.kudos import free_text
from handlers.parsing import as_user, is_help, user_id


def register(app: App) -> None:
    app.command("/coach")(coach_command)


def coach_command(
    ack: Ack, command: dict, client: WebClient, session: Session, now: datetime, locale: str
) -> None:
    text = (command.get("text") or "").strip()
    words = text.split()
    actor = command["user_id"]
    if not words or is_help(words):
        ack(**render.message("help.coach", locale).ephemeral())
        return
    if words[0].lower() in ("history", "历史") and as_user(words[0]) is None:
        if len(words) > 2:
            ack(**render.message("coach.usage", locale).ephemeral())
            return
        recipient = user_id(words[1]) if len(words) == 2 else actor
        found = svc.history(session=session, viewer=actor, recipient=recipient)
        ack(**render.message("coach.history", locale, history=found, viewer=actor).ephemeral())
        return
    recipient = as_user(words[0])
    if recipient is None or len(words) < 2:
        ack(**render.message("coach.usage", locale).ephemeral())
        return
    sent = svc.coach(
        session=session,
        author=actor,
        recipient=recipient,
        message=free_text(text.split(None, 1)[1]),
        now=now,
        deliver=lambda s: send_dm(client, s),
    )
    ack(**render.message("coach.sent", locale, sent=sent).ephemeral())


def send_dm(client: WebClient, sent: svc.FeedbackSent) -> None:
    recipient = sent.feedback.recipient_id
    message = render.message("coach.dm", sent.locale, feedback=sent.feedback)
    try:
        opened = client.conversations_open(users=recipient)
        client.chat_postMessage(channel=opened["channel"]["id"], **message.as_post())
    except SlackApiError as error:
        raise Conflict(
            "coach.not_delivered",
            user=recipient,
            error=str(error.response.get("error") or error.response.status_code),
        ) from None
