"""Slash-command listeners, one module per command.

Bolt tries listeners in the order they were registered, building the keyword arguments of each
matcher it tries, so the commands reps type most come first: ``/log``, then ``/lead``.
"""

from __future__ import annotations

from slack_bolt import App

from handlers.commands import away, coach, kudos, lead, log, sales, target


def register(app: App) -> None:
    for module in (log, lead, sales, kudos, target, coach, away):
        module.register(app)
