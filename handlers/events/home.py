"""The Home tab (``app_home_opened`` → ``views.publish``)."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.services.home import home_view


def register(app: App) -> None:
    app.event("app_home_opened")(publish_home)


def publish_home(
    event: dict, client: WebClient, session: Session, now: datetime, locale: str
) -> None:
    if event.get("tab", "home") != "home":
        return
    user = event["user"]
    message = render.message(
        "home.view", locale, home=home_view(session=session, user_id=user, now=now)
    )
    client.views_publish(user_id=user, view={"type": "home", "blocks": message.blocks})
