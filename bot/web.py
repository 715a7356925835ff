"""The WSGI app for ``salesbot serve``: ``POST /slack/events`` and ``GET /healthz``.

Gunicorn (gthread workers) serves it; the Bolt app is built once per worker process, after the
fork, so no database connection is shared across processes.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.engine import Engine

from bot.app import build_app
from bot.config import Settings
from bot.gate import GATE
from bot.store.db import make_engine, ping

log = logging.getLogger("salesbot.web")

StartResponse = Callable[..., Any]


def make_wsgi(app: App, engine: Engine) -> Callable[[dict, StartResponse], Iterable[bytes]]:
    """The WSGI app; on SQLite each request's work runs inside the process's gate
    (:mod:`bot.gate`), its body read from the client before."""
    slack = SlackRequestHandler(app, path="/slack/events")
    gated = engine.dialect.name == "sqlite"

    def wsgi(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            try:
                ping(engine)
                status, body = "200 OK", {"ok": True, "database": "ok"}
            except Exception as error:  # the database is down: say so, do not crash
                log.warning("healthz: database unreachable: %s", error)
                status, body = "503 Service Unavailable", {"ok": False, "database": "unreachable"}
            data = json.dumps(body).encode()
            start_response(
                status,
                [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            )
            return [data]
        if not gated:
            return slack(environ, start_response)
        # a client slow to send its body must not hold the gate
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length) if length else b"")
        with GATE.held():
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
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[[dict, StartResponse], Iterable[bytes]]:
        engine = make_engine(self.settings.database_url)
        return make_wsgi(build_app(self.settings, engine=engine), engine)
