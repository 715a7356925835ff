"""Build signed Slack requests the way Slack does: shared by the shell, the tests and bench/."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers; the content type follows the body (JSON for events)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    json_body = body.startswith("{")
    return {
        "content-type": "application/json" if json_body else "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def command_body(
    command: str,
    text: str,
    *,
    user: str,
    channel: str,
    response_url: str,
    team: str = "T0TEAM",
) -> str:
    return urlencode(
        {
            "command": command,
            "text": text,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel,
            "team_id": team,
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}.1.{user}",
            "api_app_id": "A0SALESBOT",
        }
    )


def payload_body(payload: dict[str, Any]) -> str:
    """Interactivity (buttons, modals) arrives as a form field holding JSON."""
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any], *, event_id: str, team: str = "T0TEAM") -> str:
    """Events arrive as JSON."""
    return json.dumps(
        {
            "token": "unused",
            "team_id": team,
            "api_app_id": "A0SALESBOT",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
    )


def button_payload(
    *,
    user: str,
    action_id: str,
    value: str | None,
    response_url: str,
    channel: str = "C0TEST",
    block_id: str = "b",
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for one button click, as Slack sends it."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T0TEAM"},
        "channel": {"id": channel},
        "trigger_id": f"1.2.{user}",
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": "1",
            }
        ],
    }
    if view is not None:
        payload["view"] = view
    return payload
