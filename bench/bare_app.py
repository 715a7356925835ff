"""A bare Bolt app that only acks slash commands: the baseline for ``bench/http_load.py``.

Served by gunicorn as ``bare_app:app`` (a WSGI callable). Settings come from the environment:
``SLACK_SIGNING_SECRET``, ``SLACK_BOT_TOKEN`` and ``SLACK_API_URL`` (the local fake Slack).
``app`` keeps Bolt's default ``process_before_response=False``, as a default bare app would
(its thread polls for the ack every 10 ms); ``app_pbr`` sets ``process_before_response=True``,
as ``salesbot serve`` does: the honest baseline for salesbot's own cost.
"""

from __future__ import annotations

import os
import re

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient


def bare(*, process_before_response: bool) -> App:
    """A Bolt app whose one listener acks every slash command."""
    bolt = App(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=WebClient(base_url=os.environ["SLACK_API_URL"], token=os.environ["SLACK_BOT_TOKEN"]),
        token_verification_enabled=False,
        process_before_response=process_before_response,
    )

    @bolt.command(re.compile(r"^/"))
    def _any_command(ack) -> None:
        ack()

    return bolt


def wsgi(bolt_app: App):
    """The Bolt app on ``POST /slack/events`` plus ``GET /healthz``, as a WSGI callable."""
    handler = SlackRequestHandler(bolt_app)

    def serve(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            body = b'{"ok": true}'
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return handler(environ, start_response)

    return serve


app = wsgi(bare(process_before_response=False))
app_pbr = wsgi(bare(process_before_response=True))
