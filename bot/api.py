"""``POST /api/leads``: the intake API on the web process (DESIGN §8), the HTTP part only.

It is not a Slack request (no Slack signature); a bearer token (``salesbot token create``)
stands for the sender. The order of checks keeps an unauthenticated request from having any
effect and keeps the body out of everything until the token is known:

1. a method other than POST: 405;
2. no ``Authorization: Bearer …`` header, or a token that is unknown or revoked: 401, the
   body unread;
3. a ``Content-Length`` above 64 KiB (:data:`bot.services.intake.MAX_BODY`): 413, unread
   (a body sent without a length is read up to one byte past the limit, then refused the
   same way);
4. a media type other than JSON, or a body that is not UTF-8 JSON: 415;
5. a JSON value that is not an object, or bad fields: 400 with a reason per field;
6. else the lead is routed (:func:`bot.services.intake.receive`): 201 or 200, and the posts
   it made (the offer DM, the line in the department channel) are delivered after the commit.

Every answer is JSON. ``error`` is a stable code (``unauthorized``, ``too_large``,
``not_json``, ``invalid``, ``busy``, ``method``, ``unexpected``) and ``message`` says what to
send instead; the per-field reasons of a 400 are in the workspace's ``locale`` (the setup
file's), the other messages in the default one. A busy database is a 503 (nothing created, send
again); an unexpected error a 500 with a ``ref`` to the log entry.
Request bodies are never logged: the one log line per refused request names the reason, the
size and the token's name, never a field.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import traceback
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot import metrics, render
from bot.app import DATABASE_BUSY
from bot.services import intake, tokens
from bot.services.departments import workspace_setting
from bot.services.leads import mail_providers
from bot.store.db import session_scope
from jobs import outbox

log = logging.getLogger("salesbot.api")

PATH = "/api/leads"


def _json(start_response: Any, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    start_response(
        status,
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


def _say(name: str, locale: str | None = None, /, **data: Any) -> str:
    return render.plain(render.text(name, locale, **data))


def _refused(
    environ: dict, start_response: Any, status: str, code: str, message: str, token: str = "-"
) -> list[bytes]:
    metrics.observe("api", "leads", code, 0.0)
    log.warning(
        "refused POST %s: %s (%s bytes, token %s, from %s)",
        PATH,
        code,
        environ.get("CONTENT_LENGTH") or "?",
        token,
        environ.get("REMOTE_ADDR", "?"),
    )
    return _json(start_response, status, {"error": code, "message": message})


def _bearer(environ: dict) -> str | None:
    header = environ.get("HTTP_AUTHORIZATION") or ""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _read(environ: dict) -> bytes | None:
    """The body, or None when it is longer than the limit (read no further)."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > intake.MAX_BODY:
        return None
    if length >= 0:
        return stream.read(length) if length else b""
    body = stream.read(intake.MAX_BODY + 1)  # chunked: no length given
    return None if len(body) > intake.MAX_BODY else body


def handle(
    environ: dict,
    start_response: Any,
    *,
    engine: Engine,
    client: WebClient,
    gate: Any,
    clock: Any,
) -> Iterable[bytes]:
    """Answer one request to :data:`PATH` (see the module). ``gate`` is held around the
    Python and database work (bot.gate), never while the client sends its body."""
    started = time.perf_counter()
    if environ.get("REQUEST_METHOD") != "POST":
        method = _say("intake.method")
        return _refused(environ, start_response, "405 Method Not Allowed", "method", method)
    bearer = _bearer(environ)
    if bearer is None:
        return _refused(
            environ, start_response, "401 Unauthorized", "unauthorized", _say("intake.unauthorized")
        )
    try:
        declared = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        with gate(), session_scope(engine) as session:
            token = tokens.verify(session, bearer, now=clock())
    except Exception as error:
        return _failed(start_response, error)
    if token is None:
        return _refused(
            environ, start_response, "401 Unauthorized", "unauthorized", _say("intake.unauthorized")
        )
    if declared > intake.MAX_BODY:
        return _refused(
            environ,
            start_response,
            "413 Content Too Large",
            "too_large",
            _say("intake.too_large", limit=intake.MAX_BODY),
            token.name,
        )
    body = _read(environ)
    if body is None:
        return _refused(
            environ,
            start_response,
            "413 Content Too Large",
            "too_large",
            _say("intake.too_large", limit=intake.MAX_BODY),
            token.name,
        )
    with gate():
        try:
            document = intake.decode(body, environ.get("CONTENT_TYPE"))
        except intake.NotJson:
            return _refused(
                environ,
                start_response,
                "415 Unsupported Media Type",
                "not_json",
                _say("intake.not_json"),
                token.name,
            )
        del body
        try:
            answer = _receive(environ, start_response, engine, token, document, clock)
            if isinstance(answer, list):
                return answer
            if answer.routed is not None:  # the offer's DM and channel line, the owner's notice
                for row_id in answer.routed.posts:
                    outbox.deliver_row(engine, client, row_id, now=clock())
        except Exception as error:
            return _failed(start_response, error)
    metrics.observe("api", "leads", answer.body["status"], time.perf_counter() - started)
    reason = {200: "OK", 201: "Created"}.get(answer.status, "OK")
    return _json(start_response, f"{answer.status} {reason}", answer.body)


def _failed(start_response: Any, error: Exception) -> list[bytes]:
    """503 when the database is busy, else 500 with a reference to a log entry that holds the
    traceback's frames and the error's type but not its message: a database error's message
    quotes the statement's parameters, which come from the body."""
    if isinstance(error, DATABASE_BUSY):
        log.warning("database busy handling POST %s: %s", PATH, type(error).__name__)
        metrics.observe("api", "leads", "busy", 0.0)
        body = {"error": "busy", "message": _say("intake.busy")}
        return _json(start_response, "503 Service Unavailable", body)
    ref = secrets.token_hex(3).upper()
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "unexpected error (ref %s) handling POST %s: %s\n%s",
        ref,
        PATH,
        type(error).__name__,
        frames,
    )
    metrics.observe("api", "leads", "error", 0.0)
    body = {"error": "unexpected", "message": _say("intake.unexpected", ref=ref), "ref": ref}
    return _json(start_response, "500 Internal Server Error", body)


def _receive(
    environ: dict, start_response: Any, engine: Engine, token: Any, document: Any, clock: Any
) -> intake.Answer | list[bytes]:
    """The answer for a checked token and a JSON document, or the refusal already sent."""
    with session_scope(engine) as session:
        try:
            lead = intake.parse(
                document, token_name=token.name, mail_providers=mail_providers(session)
            )
        except intake.Invalid as invalid:
            session.rollback()
            locale = workspace_setting(session, "locale", render.DEFAULT_LOCALE)
            if invalid.not_object:
                message, fields = _say("intake.not_object", locale), {}
            else:
                fields = {
                    name: _say(template, locale, **data)
                    for name, (template, data) in invalid.fields.items()
                }
                message = _say("intake.invalid", locale, count=len(fields))
            metrics.observe("api", "leads", "invalid", 0.0)
            log.warning(
                "refused POST %s: invalid (fields %s, token %s)",
                PATH,
                ", ".join(sorted(fields)) or "-",
                token.name,
            )
            body = {"error": "invalid", "message": message, "fields": fields}
            return _json(start_response, "400 Bad Request", body)
        return intake.receive(session, token=token, lead=lead, now=clock())
