"""A bare Bolt app that only acks slash commands: the baseline for ``bench/http_load.py``.

Served by gunicorn as ``bare_app:app`` (a WSGI callable). Settings come from the environment:
``SLACK_SIGNING_SECRET``, ``SLACK_BOT_TOKEN`` and ``SLACK_API_URL`` (the local fake Slack).
Bolt's default ``process_before_response=False`` is kept, as a real bare app would.
"""

from __future__ import annotations

import os
import re

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

bolt = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(base_url=os.environ["SLACK_API_URL"], token=os.environ["SLACK_BOT_TOKEN"]),
    token_verification_enabled=False,
)


@bolt.command(re.compile(r"^/"))
def _any_command(ack) -> None:
    ack()


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


app = wsgi(bolt)
