"""Direct messages a listener sends besides its reply (transfer requests and decisions).

Each recipient reads it in their own department's locale. A failed DM is logged, not raised:
the change it announces is already committed and the caller's reply says what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import render
from bot.config import Settings
from bot.services.departments import reader_for
from jobs import outbox

log = logging.getLogger("salesbot.notify")


def deliver(session: Session, client: WebClient, posts: Iterable[int], now: datetime) -> None:
    """Send outbox rows a change just committed (an offer's DM, its channel line): at once,
    not at the worker's next round. A row Slack does not take now stays for the worker."""
    engine = session.get_bind()
    for row_id in posts:
        outbox.deliver_row(engine, client, row_id, now=now)


def direct_messages(
    client: WebClient,
    session: Session,
    settings: Settings,
    users: Iterable[str | None],
    template: str,
    /,
    **data: Any,
) -> None:
    seen: set[str] = set()
    for user in users:
        if not user or user in seen:
            continue
        seen.add(user)
        locale, zone = reader_for(session, user, settings.salesbot_locale, settings.salesbot_tz)
        try:
            client.chat_postMessage(
                channel=user, **render.message(template, locale, zone=zone, **data).as_post()
            )
        except SlackApiError as error:
            log.warning("could not send %s to %s: %s", template, user, error)
