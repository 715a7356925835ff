"""People's real names for exports, from Slack's ``users.info``.

A CSV with only ``U0123ABCD`` in it means nothing to whoever opens it in a spreadsheet, so an
export writes each person's real name beside their id. Names are cached in the worker's memory
for :data:`TTL` (a renamed person shows up under the new name the next day at the latest), and
one export asks Slack about each person at most once, whatever the number of rows: the cache
is checked first, and an export remembers its own answers, failures included (a person Slack
does not know, or a Slack error, gets an empty name rather than a failed export).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("salesbot.people")

TTL = 24 * 3600.0
_cache: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


def _name_of(user: dict) -> str:
    profile = user.get("profile") or {}
    for name in (
        profile.get("real_name"),
        user.get("real_name"),
        profile.get("display_name"),
        user.get("name"),
    ):
        if name and str(name).strip():
            return str(name).strip()
    return ""


class RealNames:
    """``names(user_id)`` → the person's real name, for one export."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._asked: dict[str, str] = {}

    def __call__(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        if user_id in self._asked:
            return self._asked[user_id]
        now = self._clock()
        with _lock:
            cached = _cache.get(user_id)
        if cached is not None and now - cached[1] < TTL:
            name = cached[0]
        else:
            try:
                name = _name_of(self._client.users_info(user=user_id).get("user") or {})
            except SlackApiError as error:
                log.warning("users.info %s: %s", user_id, error)
                name = ""
            else:
                with _lock:
                    _cache[user_id] = (name, now)
        self._asked[user_id] = name
        return name


def forget() -> None:
    """Empty the cache (a new workspace in the same process, tests)."""
    with _lock:
        _cache.clear()
