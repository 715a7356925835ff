"""Direct messages a listener sends besides its reply (transfer requests and decisions).

Each recipient reads it in their own department's locale. A failed DM is logged, not raised:
the change it announces is already committed and the caller's reply says what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import render
from bot.config import Settings
from bot.services.departments import reader_for

log = logging.getLogger("salesbot.notify")


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
