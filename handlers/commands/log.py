"""``/log <kind> <company> [note]``, ``/log undo``, and ``/log`` alone (opens the modal)."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.services import activities
from handlers.parsing import is_help, tokens
from handlers.views.log_modal import logged_message, open_modal

UNDO = ("undo", "撤销")


def register(app: App) -> None:
    app.command("/log")(log_command)


def log_command(
    ack: Ack, command: dict, session: Session, now: datetime, locale: str, client: WebClient
) -> None:
    args = tokens(command.get("text"))
    user = command["user_id"]
    if not args:
        open_modal(
            client,
            session,
            trigger_id=command["trigger_id"],
            user=user,
            locale=locale,
            now=now,
            channel=command.get("channel_id"),
        )
        ack()
        return
    if is_help(args):
        ack(**render.message("help.log", locale).ephemeral())
        return
    if args[0].casefold() in UNDO:
        undone = activities.undo(session, actor=user, now=now)
        ack(
            **render.message(
                "log.undone", locale, activity=undone.activity, lead=undone.lead
            ).ephemeral()
        )
        return
    logged = activities.log(session, actor=user, kind=args[0], words=args[1:], now=now)
    ack(**logged_message(logged, locale).ephemeral())
