"""Slash-command listeners, one module per command."""

from __future__ import annotations

from slack_bolt import App

from handlers.commands import coach, kudos, lead, log, sales, target


def register(app: App) -> None:
    for module in (sales, lead, log, kudos, coach, target):
        module.register(app)
