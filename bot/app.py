"""``build_app``: the one Bolt app behind HTTP, Socket Mode and the terminal shell.

The app runs with ``process_before_response=True``: a listener finishes before the HTTP answer
is sent, so a slash command's reply is the HTTP response itself (no 10 ms ack polling, no
second request), and the database session can be closed when dispatch returns. Listeners that
would call slow Slack APIs keep that work short or hand it to the worker through the outbox.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import psycopg
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

import handlers
from bot import logs, metrics, render
from bot.clock import Clock
from bot.config import Settings
from bot.gate import GATE
from bot.money import use_currency
from bot.services.departments import department_of, reader_and_currency
from bot.services.errors import ServiceError
from bot.slack_client import make_client, prompt_client
from bot.store.db import make_engine
from bot.store.models import ProcessedEvent

log = logging.getLogger("salesbot")


class SalesApp(App):
    """A Bolt App that closes the request's database session once dispatch is over."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        try:
            # In a context of its own: what the request sets (the reader's zone) ends with it,
            # also when a shell or a test dispatches in its own thread.
            return contextvars.copy_context().run(super().dispatch, req)
        finally:
            session = req.context.get("session")
            if session is not None:
                session.close()
            kind, command = req.context.get("labels") or metrics.request_labels(req.body)
            outcome = req.context.get("outcome", "ok")
            metrics.observe(kind, command, outcome, time.perf_counter() - started)
            logs.REQUEST.set({})


#: Failures of the database that are not the request's fault: it is slow, locked or away
#: (psycopg's own error reaches here from prepared statements, which run on the raw cursor).
DATABASE_BUSY = (OperationalError, PoolTimeout, TimeoutError, psycopg.OperationalError)


def has_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in a request's body (no database keeps it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def _ephemeral(reply: render.Message) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=json.dumps(reply.ephemeral()),
        headers={"content-type": ["application/json;charset=utf-8"]},
    )


def _user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user_id") or body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    if user is None and isinstance(body.get("event"), dict):
        user = body["event"].get("user")
    return user if isinstance(user, str) else None


class RequestContext(Middleware):
    """Hand listeners a session, the clock and the caller's locale through the context, and
    skip an event Slack re-sends because it thinks it was missed (once per event_id).

    A ``Middleware`` class rather than a decorated function: Bolt calls ``process`` directly,
    where a function middleware costs a keyword-argument injection on every request.
    """

    def __init__(self, engine: Engine, clock: Clock, settings: Settings, client: WebClient) -> None:
        self.engine, self.clock, self.settings, self.client = engine, clock, settings, client
        self.prompt_client = prompt_client(client)

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        context, body = req.context, req.body
        context["labels"] = labels = metrics.request_labels(body)
        logs.REQUEST.set({"command": labels[1], "user": _user_of(body) or ""})
        if has_nul(body):
            context["outcome"] = "refused"
            log.warning("refused a %s holding a NUL character", _kind(body))
            reply = render.message("errors.bad_characters", self.settings.salesbot_locale)
            return _ephemeral(reply) if "command" in body else BoltResponse(status=200, body="")
        # The app's own client (Bolt builds a plain one per request): it gives the process's
        # gate up while it waits on Slack (bot.gate), as does respond(). Listeners never change
        # its token, so one client serves every thread.
        context["client"] = self.client
        context["prompt_client"] = self.prompt_client
        if context.get("response_url"):
            context["respond"] = GATE.waiting(context.respond)
        session = Session(self.engine, expire_on_commit=False)
        context["session"] = session
        context["clock"] = self.clock
        context["now"] = self.clock.now()
        context["settings"] = self.settings
        context["locale"], zone, currency = reader_and_currency(
            session, _user_of(body), self.settings.salesbot_locale, self.settings.salesbot_tz
        )
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            session.add(ProcessedEvent(event_id=event_id, received_at=context["now"]))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                log.info("event %s was already processed; skipped", event_id)
                return BoltResponse(status=200, body="")
        render.set_reader_zone(zone)  # for this request only (see dispatch)
        use_currency(currency)  # the company's, for every amount this request shows
        return next()


def build_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    client: WebClient | None = None,
    clock: Clock | None = None,
) -> App:
    engine = engine or make_engine(settings.database_url)
    clock = clock or Clock()
    client = client or make_client(settings)
    app = SalesApp(
        client=client,
        signing_secret=settings.slack_signing_secret,
        process_before_response=True,
        token_verification_enabled=False,
        logger=log,
    )

    app.use(RequestContext(engine, clock, settings, client))

    @app.error
    def on_error(error, body, context, respond, logger):  # type: ignore[no-untyped-def]
        """Expected errors become their message; anything else a reference id in the log."""
        session = context.get("session")
        if session is not None:
            session.rollback()
        locale = context.get("locale")
        if isinstance(error, ServiceError):
            context["outcome"] = "refused"
            reply = render.message(error.template_path, locale, **error.data)
        elif isinstance(error, DATABASE_BUSY):
            context["outcome"] = "busy"  # no department in the log: one more database wait
            logger.warning("database busy handling %s: %s", _kind(body), type(error).__name__)
            reply = render.message("errors.database_busy", locale)
        else:
            context["outcome"] = "error"
            ref = secrets.token_hex(3).upper()
            logger.exception(
                "unexpected error (ref %s) handling %s",
                ref,
                _kind(body),
                extra={"ref": ref, "department": _department_name(context)},
            )
            reply = render.message("errors.unexpected", locale, ref=ref)
        if body.get("type") == "view_submission":
            return BoltResponse(
                status=200,
                body=json.dumps(
                    {
                        "response_action": "errors",
                        "errors": _view_errors(body, reply, getattr(error, "block", None)),
                    }
                ),
                headers={"content-type": ["application/json;charset=utf-8"]},
            )
        if "command" in body:
            return _ephemeral(reply)
        if body.get("response_url"):
            respond(**reply.ephemeral(), replace_original=False)
        return BoltResponse(status=200, body="")

    handlers.register(app)
    return app


def _department_name(context: Any) -> str | None:
    """The caller's department, for the log line of a failure; None when unknown."""
    session, user = context.get("session"), context.get("user_id")
    if session is None or not user:
        return None
    try:
        department = department_of(session, user)
    except Exception:  # the database may be what failed
        return None
    return department.name if department else None


def _kind(body: dict[str, Any]) -> str:
    return str(body.get("command") or body.get("type") or "request")


def _view_errors(body: dict[str, Any], reply: render.Message, block: str | None) -> dict[str, str]:
    """Show a failure of a modal submission on its input block (else the first one)."""
    inputs = [
        b["block_id"] for b in body.get("view", {}).get("blocks", []) if b.get("type") == "input"
    ]
    target = block if block in inputs else (inputs[0] if inputs else None)
    return {target: render.plain(reply.text)[:150]} if target else {}
