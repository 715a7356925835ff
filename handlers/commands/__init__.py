"""Slash-command listeners, one module per command."""

from __future__ import annotations

from slack_bolt import App

from handlers.commands import other, sales


def register(app: App) -> None:
    sales.register(app)
    other.register(app)
