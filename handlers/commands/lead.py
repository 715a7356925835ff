"""`/lead`."""

from __future__ import annotations

from slack_bolt import App

from handlers.commands.pending import register_pending


def register(app: App) -> None:
    register_pending(app, "/lead", "lead")
