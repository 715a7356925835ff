"""Modals: their submissions, type-ahead options and the shortcuts and buttons that open them."""

from __future__ import annotations

from slack_bolt import App

from handlers.views import handoff_modal, log_modal, new_lead_modal


def register(app: App) -> None:
    log_modal.register(app)
    new_lead_modal.register(app)
    handoff_modal.register(app)
