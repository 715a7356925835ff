"""The Slack Web API client every process uses, pointed at SLACK_API_URL."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.config import Settings
from bot.gate import GATE


class GatedWebClient(WebClient):
    """A WebClient that gives the process's gate up while it waits on Slack (:mod:`bot.gate`):
    every method goes through :meth:`api_call`, retries and back-off included; file uploads
    send their bytes through :meth:`files_upload_v2`."""

    api_call = GATE.waiting(WebClient.api_call)
    files_upload_v2 = GATE.waiting(WebClient.files_upload_v2)


#: Seconds a listener waits for Slack when it answers the user after the post: the whole
#: answer must reach Slack within its three seconds.
PROMPT_TIMEOUT_S = 1.5


def prompt_client(client: WebClient) -> WebClient:
    """``client`` that gives up after :data:`PROMPT_TIMEOUT_S` and never retries inside a call:
    a listener that posts before it answers tells the user "shortly" instead of waiting on a
    slow Slack, and the outbox retries (``/kudos``)."""
    return type(client)(
        token=client.token,
        base_url=client.base_url,
        timeout=PROMPT_TIMEOUT_S,
        retry_handlers=[],
    )


def make_client(settings: Settings, *, retries: bool = True) -> WebClient:
    """A WebClient that honours SLACK_API_URL; with ``retries`` it retries rate limits and
    dropped connections inside the call (listeners), without them the caller reschedules
    (the outbox)."""
    handlers_ = (
        [
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ]
        if retries
        else []
    )
    return GatedWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=handlers_
    )
