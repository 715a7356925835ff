"""A local fake of the Slack Web API, served over real HTTP on 127.0.0.1.

Point a ``slack_sdk.WebClient(base_url=fake.url)`` (or the app's ``SLACK_API_URL``) at a
running :class:`FakeSlack` and every Web API call, ``response_url`` POST and file upload is
answered plausibly and recorded as a :class:`Call`, with its body parsed. Failures can be
scripted per method (:meth:`FakeSlack.fail_next`) or chosen by token, as in bolt-python's
own test server: ``xoxb-ratelimited`` always gets HTTP 429 and ``xoxb-invalid`` always gets
``invalid_auth``.

Only the standard library is used, so the fake runs anywhere the bot's tests run::

    with FakeSlack() as fake:
        client = WebClient(base_url=fake.url, token="xoxb-test")
        client.chat_postMessage(channel="C1", text="hi")
        assert fake.calls_to("chat.postMessage")[0].body["text"] == "hi"
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Call", "FakeSlack", "User"]

logger = logging.getLogger(__name__)

#: Body keys whose values Slack clients send as JSON-encoded strings in form bodies.
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
#: Tokens that make every call fail, whatever the method.
RATELIMITED_TOKEN = "xoxb-ratelimited"
INVALID_TOKEN = "xoxb-invalid"
BOT_ID = "B0BOT"
BOT_NAME = "salesbot"

_TS_BASE = 1_700_000_000


@dataclass
class Call:
    """One request the fake received.

    ``method`` is the Web API method (``"chat.postMessage"``), or ``"response_url"`` for a
    POST to :meth:`FakeSlack.response_url`, or ``"file_upload"`` for the raw upload step of
    ``files_upload_v2``. ``failed`` is ``None`` for a call that was answered normally, else
    what was done instead: ``"429"``, ``"500"``, ``"invalid_auth"`` or ``"drop"``.
    """

    method: str
    body: dict[str, Any]
    token: str | None
    headers: dict[str, str]
    path: str
    at: float
    content: bytes = b""
    failed: str | None = None


@dataclass
class User:
    """A workspace member as answered by ``users.info``."""

    id: str
    name: str
    real_name: str
    tz: str = "UTC"
    is_admin: bool = False
    is_bot: bool = False

    def to_slack(self, team_id: str) -> dict[str, Any]:
        """Return the ``user`` object of a ``users.info`` response."""
        offset = 0
        label = self.tz
        try:
            now = datetime.now(ZoneInfo(self.tz))
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            delta = now.utcoffset()
            offset = int(delta.total_seconds()) if delta is not None else 0
            label = now.tzname() or self.tz
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "tz": self.tz,
            "tz_label": label,
            "tz_offset": offset,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "profile": {
                "display_name": self.name,
                "real_name": self.real_name,
                "team": team_id,
            },
        }


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    drop: bool
    error: str | None = None


@dataclass
class _Reply:
    """What the handler sends back: JSON by default, or text for the upload step."""

    status: int = 200
    payload: dict[str, Any] | None = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    def encode(self) -> tuple[bytes, str]:
        if self.text is not None:
            return self.text.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.payload or {}).encode("utf-8"), "application/json; charset=utf-8"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connecting at once must not hit SYN retries
    allow_reuse_address = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the :class:`FakeSlack`, writes its reply."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeSlack/1.0"
    timeout = 30  # an idle keep-alive connection frees its thread after this long
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and the shell print what matters themselves."""

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        raw = self._read_body()
        reply = self.server.fake._handle(target=self.path, headers=self.headers, raw=raw)
        if reply.drop:
            # No status line, no headers: the client sees the connection close.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        data, content_type = reply.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _decode_json_fields(body: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_FIELDS & body.keys():
        value = body[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                body[key] = json.loads(value)
    return body


def _parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any], bytes]:
    """Split a multipart/form-data body into its plain fields and the first file's bytes."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {}
    content = b""
    found_file = False
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            if not found_file:
                content, found_file = payload, True
                fields.setdefault("filename", filename)
        elif name:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields, content


def _parse_body(raw: bytes, content_type: str, query: str) -> tuple[dict[str, Any], bytes]:
    """Parse a request body the way Slack does: JSON, form-encoded or multipart."""
    body: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    content = raw
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        fields, content = _parse_multipart(raw, content_type)
        body.update(fields)
    elif raw.strip():
        parsed: Any = None
        if kind == "application/json" or raw.lstrip()[:1] == b"{":
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
        if isinstance(parsed, dict):
            body.update(parsed)
        elif kind in ("", "application/x-www-form-urlencoded") or parsed is None:
            text = raw.decode("utf-8", "replace")
            if "=" in text:
                body.update(parse_qsl(text, keep_blank_values=True))
    return _decode_json_fields(body), content


class FakeSlack:
    """A fake Slack Web API server that records every request.

    Start it with :meth:`start` or a ``with`` block; it serves on a daemon thread. All
    public methods are thread-safe. Beyond the recorded calls it keeps a little state, so
    a client sees a consistent workspace: posted messages (updated and deleted in place),
    published views and opened modals, users and channels.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_user_id: str = "UBOT",
        team_id: str = "T0TEAM",
    ) -> None:
        self.host = host
        self.port = port
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._delays: dict[str, list[float]] = {}
        self._users: dict[str, User] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home: dict[str, str] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[Call], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self.add_user(bot_user_id, BOT_NAME, real_name="Salesbot")
        self._users[bot_user_id].is_bot = True

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind (port 0 picks a free port) and serve on a daemon thread; return ``self``."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fake-slack-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket and any open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        """``http://host:port`` of the running server, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The Web API base URL, with its trailing slash, for ``WebClient(base_url=...)``."""
        return f"{self.base}/api/"

    def response_url(self, tag: str = "r") -> str:
        """A ``response_url`` on this server; POSTs to it are recorded as ``response_url``."""
        return f"{self.base}/response/{tag}"

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        """A copy of every call recorded so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method, oldest first."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def last(self, method: str) -> Call:
        """The most recent call of ``method``; AssertionError if there is none."""
        found = self.calls_to(method)
        if not found:
            raise AssertionError(f"no {method} call was recorded; got {self._summary()}")
        return found[-1]

    def mark(self) -> int:
        """The number of calls recorded so far, for :meth:`calls_since`."""
        with self._lock:
            return len(self._calls)

    def calls_since(self, mark: int) -> list[Call]:
        """The calls recorded after :meth:`mark` returned ``mark``."""
        with self._lock:
            return list(self._calls[mark:])

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` are recorded and return them all.

        Raises AssertionError naming what was recorded if they do not arrive in time.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self._calls if c.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"waited {timeout:g}s for {count} {method} call(s), got {len(found)}; "
                        f"recorded: {self._summary_locked()}"
                    )
                self._changed.wait(remaining)

    def clear(self) -> None:
        """Forget recorded calls and pending failures (users, messages and views stay)."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._delays.clear()

    def _summary(self) -> str:
        with self._lock:
            return self._summary_locked()

    def _summary_locked(self) -> str:
        counts = Counter(c.method for c in self._calls)
        return ", ".join(f"{m} x{n}" for m, n in counts.items()) or "nothing"

    # ------------------------------------------------------------------ scripting

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        drop: bool = False,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        With ``error`` (``"not_in_channel"``, ``"channel_not_found"`` …) the answer is HTTP 200
        with ``{"ok": false, "error": error}``, as Slack refuses a call for good.

        They get HTTP ``status`` (429 carries ``Retry-After: retry_after`` unless it is
        ``None``; the body is ``{"ok": false, "error": "ratelimited"}``, or
        ``"internal_error"`` for 5xx), or with ``drop=True`` the connection is closed
        without any response. ``method`` may also be ``"response_url"`` or
        ``"file_upload"``. Failed calls are still recorded, with ``Call.failed`` set.
        """
        with self._lock:
            queue = self._failures.setdefault(method, [])
            queue.extend(_Failure(status, retry_after, drop, error) for _ in range(times))

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` as usual (a post is stored and the call
        recorded at once) but send the answer only ``seconds`` later: Slack accepted the request
        and the caller has not heard yet."""
        with self._lock:
            self._delays.setdefault(method, []).extend([seconds] * times)

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
    ) -> None:
        """Add or replace a workspace member, as answered by ``users.info``."""
        with self._lock:
            self._users[user_id] = User(user_id, name, real_name or name, tz, is_admin)

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> None:
        """Add or replace a channel, as answered by ``conversations.info``."""
        with self._lock:
            self._channels[channel_id] = self._channel_object(channel_id, name, is_private)

    # ------------------------------------------------------------------ workspace state

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages currently in the workspace (after updates and deletes), oldest first."""
        with self._lock:
            found = [
                copy.deepcopy(m)
                for (ch, _), m in self._messages.items()
                if channel is None or ch == channel
            ]
        return sorted(found, key=lambda m: float(m["ts"]))

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of an opened, pushed, updated or published view."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``."""
        with self._lock:
            view_id = self._home.get(user_id)
        return self.view(view_id) if view_id else None

    # ------------------------------------------------------------------ request handling

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _handle(self, *, target: str, headers: Any, raw: bytes) -> _Reply:
        """Parse, record and answer one request (called on a handler thread)."""
        parts = urlsplit(target)
        path = parts.path
        content_type = headers.get("Content-Type", "")
        if path.startswith("/api/"):
            method = path[len("/api/") :].strip("/")
        elif path.startswith("/response/"):
            method = "response_url"
        elif path.startswith("/upload/"):
            method = "file_upload"
        else:
            method = "unknown_path"

        if method == "file_upload" and not content_type.lower().startswith("multipart/"):
            # The upload step sends the file's raw bytes (urllib labels them as a form).
            body: dict[str, Any] = dict(parse_qsl(parts.query))
            content = raw
        else:
            body, content = _parse_body(raw, content_type, parts.query)
        if method == "file_upload":
            body = {"file_id": path[len("/upload/") :].strip("/"), **body}
        token = None
        auth = headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        if token is None and isinstance(body.get("token"), str):
            token = body["token"]

        call = Call(
            method=method,
            body=body,
            token=token,
            headers={k: v for k, v in headers.items()},
            path=path,
            at=time.time(),
            content=content,
        )
        reply = self._failure_for(call)
        if reply is None:
            try:
                reply = self._answer(call)
            except Exception:  # a broken answer must reach the client as a 500, not a hang
                logger.exception("fake Slack failed to answer %s", method)
                call.failed = "500"
                reply = _Reply(500, {"ok": False, "error": "internal_error"})
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
            delays = self._delays.get(method)
            delay = delays.pop(0) if delays else 0.0
        if delay:
            time.sleep(delay)
        return reply

    def _failure_for(self, call: Call) -> _Reply | None:
        if call.method == "unknown_path":
            return None
        with self._lock:
            queue = self._failures.get(call.method)
            failure = queue.pop(0) if queue else None
        if failure is None and call.token == RATELIMITED_TOKEN:
            failure = _Failure(429, 1, False)
        if failure is not None:
            if failure.drop:
                call.failed = "drop"
                return _Reply(drop=True)
            if failure.error is not None:
                call.failed = failure.error
                return _Reply(200, {"ok": False, "error": failure.error})
            call.failed = str(failure.status)
            if failure.status == 429:
                error = "ratelimited"
            elif failure.status >= 500:
                error = "internal_error"
            else:
                error = f"http_{failure.status}"
            headers = {}
            if failure.status == 429 and failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            return _Reply(failure.status, {"ok": False, "error": error}, headers=headers)
        if call.token == INVALID_TOKEN and call.method not in ("response_url", "file_upload"):
            call.failed = "invalid_auth"
            return _Reply(200, {"ok": False, "error": "invalid_auth"})
        return None

    def _answer(self, call: Call) -> _Reply:
        if call.method == "response_url":
            return _Reply(200, {"ok": True})
        if call.method == "file_upload":
            return _Reply(200, text=f"OK - {len(call.content)}")
        if call.method == "unknown_path":
            logger.warning("fake Slack: no such path %s", call.path)
            return _Reply(404, {"ok": False, "error": "not_found"})
        handler = self._methods.get(call.method)
        if handler is None:
            logger.warning("fake Slack: %s is not modelled; answering {'ok': true}", call.method)
            return _Reply(200, {"ok": True})
        return _Reply(200, handler(call))

    # ------------------------------------------------------------------ id helpers

    def _next_ts(self) -> str:
        micros = next(self._ts) * 100
        return f"{_TS_BASE + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    @staticmethod
    def _channel_for(channel: str) -> str:
        """Slack posts to a user id in the app's DM with that user."""
        if channel[:1] in ("U", "W"):
            return "D" + channel
        return channel

    def _channel_object(self, channel_id: str, name: str, is_private: bool) -> dict[str, Any]:
        is_im = channel_id.startswith("D")
        return {
            "id": channel_id,
            "name": name,
            "is_channel": not is_im and not is_private,
            "is_group": is_private,
            "is_im": is_im,
            "is_private": is_private or is_im,
            "is_member": True,
            "is_archived": False,
            "context_team_id": self.team_id,
        }

    # ------------------------------------------------------------------ methods

    def _apps_connections_open(self, call: Call) -> dict[str, Any]:
        """Socket Mode: the WebSocket URL of :class:`bot.devslack.fake_socket.FakeSocketMode`
        once one is attached as ``socket_url``."""
        url = getattr(self, "socket_url", None)
        if url is None:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": url}

    def _auth_test(self, call: Call) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-salesbot.slack.com/",
            "team": "Fake Team",
            "user": BOT_NAME,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message_from(self, call: Call, ts: str) -> dict[str, Any]:
        body = call.body
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": BOT_ID,
            "app_id": "A0APP",
            "team": self.team_id,
            "text": body.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if body.get(key) not in (None, ""):
                message[key] = copy.deepcopy(body[key])
        return message

    def _chat_post_message(self, call: Call) -> dict[str, Any]:
        channel = self._channel_for(str(call.body.get("channel", "")))
        with self._lock:
            ts = self._next_ts()
            message = self._message_from(call, ts)
            self._messages[(channel, ts)] = {**message, "channel": channel}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, call: Call) -> dict[str, Any]:
        with self._lock:
            ts = self._next_ts()
        return {"ok": True, "message_ts": ts}

    def _chat_update(self, call: Call) -> dict[str, Any]:
        channel = str(call.body.get("channel", ""))
        ts = str(call.body.get("ts", ""))
        with self._lock:
            message = self._message_from(call, ts)
            existing = self._messages.get((channel, ts))
            if existing is not None:
                existing.update(message)
                existing["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
                for key in ("blocks", "attachments"):
                    if key not in message:
                        existing.pop(key, None)
        text = message["text"]
        return {"ok": True, "channel": channel, "ts": ts, "text": text, "message": message}

    def _chat_delete(self, call: Call) -> dict[str, Any]:
        channel = str(call.body.get("channel", ""))
        ts = str(call.body.get("ts", ""))
        with self._lock:
            self._messages.pop((channel, ts), None)
        return {"ok": True, "channel": channel, "ts": ts}

    def _store_view(self, view: Any, view_id: str | None = None) -> dict[str, Any]:
        stored = copy.deepcopy(view) if isinstance(view, dict) else {}
        stored.setdefault("type", "modal")
        stored["id"] = view_id or self._next_id("V")
        stored["team_id"] = self.team_id
        stored["app_id"] = "A0APP"
        stored["bot_id"] = BOT_ID
        stored["hash"] = f"{time.time():.6f}.{next(self._ids):08x}"
        stored.setdefault("state", {"values": {}})
        self._views[stored["id"]] = stored
        return copy.deepcopy(stored)

    def _views_open(self, call: Call) -> dict[str, Any]:
        with self._lock:
            return {"ok": True, "view": self._store_view(call.body.get("view"))}

    def _views_update(self, call: Call) -> dict[str, Any]:
        view_id = call.body.get("view_id")
        external_id = call.body.get("external_id")
        with self._lock:
            if not view_id and external_id:
                for candidate in self._views.values():
                    if candidate.get("external_id") == external_id:
                        view_id = candidate["id"]
                        break
            return {"ok": True, "view": self._store_view(call.body.get("view"), view_id or None)}

    def _views_publish(self, call: Call) -> dict[str, Any]:
        user_id = str(call.body.get("user_id", ""))
        with self._lock:
            view = call.body.get("view")
            if isinstance(view, dict):
                view = {"type": "home", **view}
            stored = self._store_view(view, self._home.get(user_id))
            self._home[user_id] = stored["id"]
        return {"ok": True, "view": stored}

    def _users_info(self, call: Call) -> dict[str, Any]:
        user_id = str(call.body.get("user", ""))
        with self._lock:
            user = self._users.get(user_id)
        if user is None:
            user = User(user_id, user_id.lower(), f"User {user_id}")
        return {"ok": True, "user": user.to_slack(self.team_id)}

    def _conversations_open(self, call: Call) -> dict[str, Any]:
        users = call.body.get("users")
        if isinstance(users, list):
            first = str(users[0]) if users else ""
        else:
            first = str(users or "").split(",")[0].strip()
        channel_id = "D" + first if first else str(call.body.get("channel", ""))
        return {"ok": True, "channel": {"id": channel_id}}

    def _conversations_history(self, call: Call) -> dict[str, Any]:
        """The channel's messages, newest first; ``metadata`` only with
        ``include_all_metadata`` (as Slack does)."""
        channel = self._channel_for(str(call.body.get("channel", "")))
        limit = int(call.body.get("limit") or 100)
        with_metadata = str(call.body.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            found = [m for (c, _ts), m in self._messages.items() if c == channel]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        messages = []
        for message in found[:limit]:
            shown = {k: v for k, v in message.items() if k != "channel"}
            if not with_metadata:
                shown.pop("metadata", None)
            messages.append(copy.deepcopy(shown))
        return {"ok": True, "messages": messages, "has_more": len(found) > limit}

    def _conversations_info(self, call: Call) -> dict[str, Any]:
        channel_id = str(call.body.get("channel", ""))
        with self._lock:
            channel = self._channels.get(channel_id)
        if channel is None:
            name = channel_id.lower() if not channel_id.startswith("D") else ""
            channel = self._channel_object(channel_id, name, False)
            if channel_id.startswith("D"):
                channel["user"] = channel_id[1:]
        return {"ok": True, "channel": copy.deepcopy(channel)}

    def _files_get_upload_url(self, call: Call) -> dict[str, Any]:
        with self._lock:
            file_id = self._next_id("F")
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, call: Call) -> dict[str, Any]:
        files = call.body.get("files")
        if not isinstance(files, list):
            files = []
        answered = [
            {"id": f.get("id"), "title": f.get("title") or f.get("id")}
            for f in files
            if isinstance(f, dict)
        ]
        return {"ok": True, "files": answered}
