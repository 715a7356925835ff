"""``salesbot serve --socket``: Socket Mode, for development without a public URL."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import build_app
from bot.config import Settings


def run(settings: Settings) -> None:
    app = build_app(settings)
    SocketModeHandler(app, settings.slack_app_token).start()
