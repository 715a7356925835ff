"""All listeners; ``register(app)`` wires every listener folder into the Bolt app."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, commands, events, views


def register(app: App) -> None:
    commands.register(app)
    events.register(app)
    actions.register(app)
    views.register(app)
