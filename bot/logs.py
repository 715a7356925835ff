"""Log lines: plain text, or one JSON object a line with ``SALESBOT_LOG_FORMAT=json``.

A JSON line holds ``time``, ``level``, ``logger``, ``message`` and, when known, ``ref`` (the
reference a user was shown with an unexpected error), ``command``, ``user`` and
``department`` of the request being handled, and ``traceback``. Only these fields are written:
whatever a record carries besides (a library's extra data) is left out, and salesbot never logs
a token, a secret, a signing header or a request body in a message.
"""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The request a thread is handling: command, user and department, for every line it logs.
REQUEST: ContextVar[dict[str, str]] = ContextVar("salesbot_request", default={})  # noqa: B039
_FIELDS = ("ref", "command", "user", "department")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = REQUEST.get()
        for key in _FIELDS:
            value = getattr(record, key, None) or context.get(key)
            if value:
                data[key] = str(value)
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def log_format() -> str:
    """``json`` or ``text``, from ``SALESBOT_LOG_FORMAT`` (checked with the other settings)."""
    return "json" if os.environ.get("SALESBOT_LOG_FORMAT", "").lower() == "json" else "text"


def configure() -> None:
    """The root logger: INFO and up, to stderr, in the chosen format."""
    handler = logging.StreamHandler()
    if log_format() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # Alembic says "Context impl …", "Will assume …" and each step at INFO on every start and
    # every `salesbot` command; only its warnings are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def gunicorn_config() -> dict[str, Any] | None:
    """Gunicorn's ``logconfig_dict`` for JSON lines (its own loggers included), or None to
    keep its text."""
    if log_format() != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "bot.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "alembic": {"level": "WARNING"},
        },
    }
