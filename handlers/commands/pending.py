"""The reply of a command whose behaviour is not built yet: ``help`` gives its usage and
anything else that usage plus a note that the subcommand is not available yet."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot import render
from handlers.parsing import is_help, tokens


def register_pending(app: App, command_name: str, usage: str) -> None:
    def pending_command(ack: Ack, command: dict, locale: str) -> None:
        args = tokens(command.get("text"))
        if not args or is_help(args):
            ack(**render.message(f"help.{usage}", locale).ephemeral())
        else:
            ack(
                **render.message(
                    "help.not_yet", locale, command=command_name, usage=usage
                ).ephemeral()
            )

    app.command(command_name)(pending_command)
