"""Button listeners."""

from __future__ import annotations

from slack_bolt import App

from handlers.actions import leads, offers


def register(app: App) -> None:
    leads.register(app)
    offers.register(app)
