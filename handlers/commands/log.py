"""``/log <kind> <company> [note]``, ``/log undo``, ``/log`` alone (opens the modal), and the
"Add <company> as a new lead and log" button ``/log`` offers for a customer nobody has."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.ids import Action
from bot.services import activities
from handlers.parsing import is_help, tokens
from handlers.views.log_modal import logged_message, open_modal

UNDO = ("undo", "撤销")


def register(app: App) -> None:
    app.command("/log")(log_command)
    app.action(Action.LOG_NEW_LEAD)(add_and_log)


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
                "log.undone",
                locale,
                activity=undone.activity,
                lead=undone.lead,
                removed=undone.lead_removed,
            ).ephemeral()
        )
        return
    logged = activities.log(session, actor=user, kind=args[0], words=args[1:], now=now)
    if isinstance(logged, activities.NewCustomer):
        ack(**render.message("log.new_customer", locale, new=logged).ephemeral())
        return
    ack(**logged_message(logged, locale).ephemeral())


def add_and_log(
    ack: Ack,
    action: dict,
    body: dict,
    session: Session,
    now: datetime,
    locale: str,
    respond: Respond,
) -> None:
    """The button: claim the new customer and log, then the proposal becomes the reply."""
    ack()
    new = activities.NewCustomer.parse(str(action.get("value") or ""))
    logged = activities.claim_and_log(
        session,
        actor=body["user"]["id"],
        kind=new.kind,
        company=new.company,
        note=new.note,
        on=new.on,
        now=now,
    )
    respond(**logged_message(logged, locale).as_post(), replace_original=True)
