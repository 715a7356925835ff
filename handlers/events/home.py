"""The Home tab (``app_home_opened`` → ``views.publish``)."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import render
from bot.services import departments as svc


def register(app: App) -> None:
    app.event("app_home_opened")(publish_home)


def publish_home(event: dict, client: WebClient, session: Session, locale: str) -> None:
    if event.get("tab", "home") != "home":
        return
    user = event["user"]
    message = render.message(
        "home.view",
        locale,
        user=user,
        department=svc.department_of(session, user),
        member=svc.get_member(session, user),
    )
    client.views_publish(user_id=user, view={"type": "home", "blocks": message.blocks})
