"""Slack's Socket Mode, faked: a WebSocket server on 127.0.0.1 (port 0) that the app reaches
through ``apps.connections.open`` on :class:`~bot.devslack.fake_slack.FakeSlack`.

It greets each connection with ``hello``, sends envelopes (a slash command, an event …) the
way Slack does and records the acknowledgements, with the response payload the app put in
them. Needs the ``websockets`` package (a test dependency).
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

from websockets.sync.server import Server, ServerConnection, serve

from bot.devslack.fake_slack import FakeSlack


class FakeSocketMode:
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self._connection: ServerConnection | None = None
        self._server: Server | None = None

    def start(self) -> FakeSocketMode:
        self._server = serve(self._serve, "127.0.0.1", 0)
        port = self._server.socket.getsockname()[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.fake.socket_url = f"ws://127.0.0.1:{port}/link"  # type: ignore[attr-defined]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def _serve(self, connection: ServerConnection) -> None:
        self._connection = connection
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        for message in connection:
            self.acks.put(json.loads(message))

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Send one envelope (``slash_commands``, ``events_api``, ``interactive``)."""
        if not self.connected.wait(30) or self._connection is None:
            raise AssertionError("the app never opened a Socket Mode connection")
        envelope_id = str(uuid.uuid4())
        self._connection.send(
            json.dumps(
                {
                    "envelope_id": envelope_id,
                    "type": kind,
                    "payload": payload,
                    "accepts_response_payload": kind != "events_api",
                }
            )
        )
        return envelope_id

    def ack(self, envelope_id: str, timeout: float = 15) -> dict[str, Any]:
        """The app's acknowledgement of ``envelope_id``."""
        while True:
            ack = self.acks.get(timeout=timeout)
            if ack.get("envelope_id") == envelope_id:
                return ack
