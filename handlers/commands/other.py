"""Commands whose full behaviour is not built yet: each answers ``help`` with its usage and
anything else with that usage plus a note that the subcommand is not available yet."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot import render
from handlers.parsing import is_help, tokens

PENDING = {
    "/lead": "lead",
    "/log": "log",
    "/kudos": "kudos",
    "/coach": "coach",
    "/target": "target",
}


def register(app: App) -> None:
    for command_name in PENDING:
        app.command(command_name)(pending_command)


def pending_command(ack: Ack, command: dict, locale: str) -> None:
    name = PENDING[command["command"]]
    args = tokens(command.get("text"))
    if not args or is_help(args):
        ack(**render.message(f"help.{name}", locale).ephemeral())
    else:
        ack(
            **render.message(
                "help.not_yet", locale, command=command["command"], usage=name
            ).ephemeral()
        )
