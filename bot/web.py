"""The WSGI app for ``salesbot serve``: ``POST /slack/events``, ``POST /api/leads`` (the intake
API, bot.api) and ``GET /healthz``.

Gunicorn (gthread workers) serves it; the Bolt app is built once per worker process, after the
fork, so no database connection is shared across processes.

Every request to ``/slack/events`` passes a front door before Bolt sees it: a body over
:data:`MAX_BODY` is refused from its ``Content-Length`` without being read (413); a request
whose timestamp is not a number of seconds within five minutes, or whose signature does not
match, is refused (401) with nothing taken from its body, nothing sent anywhere and one log
line that holds no part of the body; a signed body Bolt could not parse is a 400. Only then
does Bolt dispatch it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import parse_qsl

from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.engine import Engine

from bot import api, logs, metrics
from bot.app import build_app
from bot.clock import Clock
from bot.config import Settings
from bot.gate import GATE
from bot.store.db import (
    WEB_CONNECTION_LIMIT_S,
    WEB_STATEMENT_TIMEOUT_S,
    make_engine,
    ping,
)

log = logging.getLogger("salesbot.web")

StartResponse = Callable[..., Any]

#: Slack's largest payloads (a modal submission with many blocks) stay well below this.
MAX_BODY = 1024 * 1024
#: How old a signed request may be, as Slack's own verification allows.
MAX_AGE_S = 5 * 60
#: /healthz answers within this, whatever the database does.
HEALTH_TIMEOUT_S = 1.0
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _answer(start_response: StartResponse, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class FrontDoor:
    """What a request to ``/slack/events`` must pass before Bolt sees it (see the module)."""

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)

    def read(self, environ: dict) -> tuple[str, str] | None:
        """Check what the headers say and read the body; (status, reason) to refuse it, or
        None when it may go on to :meth:`verify` (its body is then in ``environ["wsgi.input"]``,
        read whole). This part waits on the client, so it runs outside the process's gate."""
        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed", "method"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "400 Bad Request", "length"
        if length < 0:
            return "400 Bad Request", "length"
        if length > MAX_BODY:
            return "413 Content Too Large", "too_large"
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
        if not _TIMESTAMP.fullmatch(timestamp) or abs(time.time() - int(timestamp)) > MAX_AGE_S:
            return "401 Unauthorized", "timestamp"
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) != length:
            return "400 Bad Request", "length"
        environ["wsgi.input"] = io.BytesIO(body)
        return None

    def verify(self, environ: dict) -> tuple[str, str] | None:
        """The signature over the body :meth:`read` kept, and whether Bolt can parse it. This
        part is Python work, so on SQLite it runs inside the gate with the rest of the request
        (its threads would otherwise trade the interpreter lock, bot.gate)."""
        body = environ["wsgi.input"].getvalue()
        timestamp = environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"]
        signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
        if not self.verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return "401 Unauthorized", "signature"
        if not _parses(body, environ.get("CONTENT_TYPE")):
            return "400 Bad Request", "body"
        return None


def _refuse(environ: dict, start_response: StartResponse, refused: tuple[str, str]) -> list[bytes]:
    """Answer a refused request: one log line with no part of its body, and a count."""
    status, reason = refused
    metrics.observe("http", "other", reason, 0.0)
    log.warning(
        "refused a request to /slack/events: %s (%s bytes, from %s)",
        reason,
        environ.get("CONTENT_LENGTH") or 0,
        environ.get("REMOTE_ADDR", "?"),
    )
    return _answer(start_response, status, {"ok": False, "error": reason})


def _parses(body: bytes, content_type: str | None) -> bool:
    """Whether Bolt can read ``body``: JSON, or a form whose ``payload`` (if any) is a JSON
    object."""
    try:
        text = body.decode()
        if (content_type or "").startswith("application/json") or text.startswith("{"):
            return isinstance(json.loads(text), dict)
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        return payload is None or isinstance(json.loads(payload), dict)
    except ValueError:
        return False


def make_wsgi(
    app: App, engine: Engine, signing_secret: str
) -> Callable[[dict, StartResponse], Iterable[bytes]]:
    """The WSGI app; on SQLite each request's work runs inside the process's gate
    (:mod:`bot.gate`), its body read from the client before."""
    slack = SlackRequestHandler(app, path="/slack/events")
    door = FrontDoor(signing_secret)
    gated = engine.dialect.name == "sqlite"
    health = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")
    clock = Clock()

    def gate() -> contextlib.AbstractContextManager:
        return GATE.held() if gated else contextlib.nullcontext()

    def wsgi(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            try:
                health.submit(ping, engine).result(timeout=HEALTH_TIMEOUT_S)
                return _answer(start_response, "200 OK", {"ok": True, "database": "ok"})
            except FutureTimeout:
                log.warning("healthz: the database did not answer within %ss", HEALTH_TIMEOUT_S)
            except Exception as error:  # the database is down: say so, do not crash
                log.warning("healthz: database unreachable: %s", type(error).__name__)
            return _answer(
                start_response,
                "503 Service Unavailable",
                {"ok": False, "database": "unreachable"},
            )
        if path == "/metrics":
            data = metrics.exposition(engine)
            start_response(
                "200 OK",
                [("Content-Type", metrics.CONTENT_TYPE), ("Content-Length", str(len(data)))],
            )
            return [data]
        if path == api.PATH:
            client = app.client
            return api.handle(
                environ, start_response, engine=engine, client=client, gate=gate, clock=clock.now
            )
        if path != "/slack/events":
            return _answer(start_response, "404 Not Found", {"ok": False, "error": "not_found"})
        refused = door.read(environ)
        if refused is not None:
            return _refuse(environ, start_response, refused)
        with GATE.held() if gated else contextlib.nullcontext():
            refused = door.verify(environ)
            if refused is not None:
                return _refuse(environ, start_response, refused)
            return slack(environ, start_response)

    return wsgi


class Server(BaseApplication):
    """Gunicorn, configured in code: ``$PORT``, gthread workers, logs to stderr."""

    def __init__(self, settings: Settings, *, host: str = "0.0.0.0") -> None:
        self.settings = settings
        self.host = host
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self.host}:{self.settings.port}",
            "workers": self.settings.web_concurrency,
            "threads": self.settings.web_threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            "backlog": 512,
            "child_exit": lambda _server, worker: metrics.worker_gone(worker.pid),
        }
        logconfig = logs.gunicorn_config()
        if logconfig is not None:
            options["logconfig_dict"] = logconfig
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[[dict, StartResponse], Iterable[bytes]]:
        engine = make_engine(
            self.settings.database_url,
            statement_timeout_s=WEB_STATEMENT_TIMEOUT_S,
            connection_limit_s=WEB_CONNECTION_LIMIT_S,
        )
        return make_wsgi(
            build_app(self.settings, engine=engine), engine, self.settings.slack_signing_secret
        )
