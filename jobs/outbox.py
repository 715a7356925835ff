"""The outbox: every scheduled post is a row keyed ``job:department:period`` before it is sent.

``enqueue`` inserts the row; the unique key makes a second insert for the same period a no-op,
so no restart, retry, second worker or manual ``run-job`` posts twice. ``deliver_due`` sends
what is due. A row is leased before sending (a conditional UPDATE only one worker can win), so
two workers never send the same row at once. A failed post stays: HTTP 429 waits Retry-After,
5xx and network errors back off exponentially (30 s doubling, at most an hour); nothing is
dropped.

A crash after Slack accepted a post and before the row is marked sent would send it again
when the lease runs out. To close that window, every message carries its outbox key as Slack
message metadata (``event_type`` :data:`METADATA_TYPE`), and the lease counts the attempt
before the send: a row leased again after an attempt first reads the channel's recent history
(``conversations.history`` with ``include_all_metadata``) and, when a message with its key is
there, is marked sent without posting. Files carry no metadata; an upload interrupted at that
edge is sent again (at-least-once).

A row whose payload holds ``{"export": {...}}`` is an export (queued by jobs/exports.py): its
file is written to a temporary directory from the database when the row is sent
(jobs/export_files.py), then uploaded like a file. A row whose payload holds ``{"file":
{...}}`` is a small file held in the row (a chart): it is uploaded with the ``files_upload_v2``
flow (get an upload URL, send the bytes, complete the upload into the channel). Only the
completing call shares the file, so a failure in the first two steps retries without a trace in
the channel. A file for a user id goes to the app's DM with them.
"""

from __future__ import annotations

import base64
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.store.models import Outbox
from jobs import export_files, notices
from jobs.people import RealNames

log = logging.getLogger("salesbot.outbox")

LEASE = timedelta(minutes=2)
METADATA_TYPE = "salesbot_outbox"
#: How many recent messages of a channel are searched for an earlier attempt's post.
HISTORY_LIMIT = 100
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


def file_payload(
    *, content: bytes, filename: str, title: str, comment: str | None = None
) -> dict[str, Any]:
    """The outbox payload of a file upload (the bytes travel base64-encoded in the row)."""
    return {
        "file": {
            "content_b64": base64.b64encode(content).decode("ascii"),
            "filename": filename,
            "title": title,
            "initial_comment": comment,
        }
    }


def add(
    session: Session, *, key: str, channel: str, payload: dict[str, Any], now: datetime
) -> Outbox:
    """Add a post to the caller's transaction (it commits): the post and the change it
    reports commit together or not at all."""
    row = Outbox(key=key, channel=channel, payload=payload, next_attempt_at=now, created_at=now)
    session.add(row)
    return row


def enqueue(
    session: Session, *, key: str, channel: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Add a post unless one with this key exists; True when it was added."""
    add(session, key=key, channel=channel, payload=payload, now=now)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


@dataclass(frozen=True)
class Attempt:
    """One try at sending one row: sent, or the error that kept it for a retry."""

    key: str
    sent: bool
    error: Exception | None = None

    @property
    def refusal(self) -> str | None:
        """What Slack said when it said no for good (``not_in_channel``, ``channel_not_found``
        …): a retry would fail the same way. None when the row was sent, or failed in a way
        worth a retry (rate limits, 5xx, network errors)."""
        if not isinstance(self.error, SlackApiError):
            return None
        response = self.error.response
        if response.status_code == 429 or response.status_code >= 500:
            return None
        return str(response.get("error") or response.status_code)


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)


def _lease(engine: Engine, row_id: int, now: datetime) -> bool:
    with engine.begin() as connection:
        result = connection.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.sent_at.is_(None), Outbox.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempts=Outbox.attempts + 1)
        )
    return result.rowcount == 1


def _retry_delay(error: Exception, attempts: int) -> timedelta:
    if isinstance(error, SlackApiError) and error.response.status_code == 429:
        retry_after = error.response.headers.get("Retry-After") or error.response.headers.get(
            "retry-after"
        )
        try:
            return timedelta(seconds=max(1, int(retry_after)))
        except (TypeError, ValueError):
            return FIRST_BACKOFF
    return min(FIRST_BACKOFF * (2 ** max(0, attempts - 1)), MAX_BACKOFF)


def deliver_due(
    engine: Engine, client: WebClient, *, now: datetime, limit: int = 100
) -> DeliveryReport:
    """Send every due row once; failures are rescheduled, never dropped."""
    report = DeliveryReport()
    with Session(engine) as session:
        due = session.exec(
            select(Outbox.id)
            .where(Outbox.sent_at.is_(None), Outbox.next_attempt_at <= now)
            .order_by(Outbox.id)
            .limit(limit)
        ).all()
    for row_id in due:
        attempt = deliver_row(engine, client, row_id, now=now)
        if attempt is not None:
            (report.sent if attempt.sent else report.retrying).append(attempt.key)
    return report


def deliver_row(engine: Engine, client: WebClient, row_id: int, *, now: datetime) -> Attempt | None:
    """Lease the row and send it once; None when it is not due or another sender has it. A
    failure keeps the row for a retry (the caller may delete it when Slack refused it)."""
    if not _lease(engine, row_id, now):
        return None
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        try:
            if row.attempts > 1 and _already_posted(client, row.channel, row.key):
                log.info("outbox %s: found in the channel from an earlier attempt", row.key)
            else:
                posted = _send(engine, client, row.channel, row.payload, row.key, session)
                if posted is not None:
                    row.posted_channel, row.posted_ts = posted
        except Exception as error:  # Slack or the network failed: keep it and retry later
            row.next_attempt_at = now + _retry_delay(error, row.attempts)
            row.last_error = f"{type(error).__name__}: {error}"[:400]
            attempt = Attempt(row.key, sent=False, error=error)
            log.warning("outbox %s failed (attempt %d): %s", row.key, row.attempts, error)
        else:
            row.sent_at = now
            row.last_error = None
            attempt = Attempt(row.key, sent=True)
        session.add(row)
        session.commit()
    return attempt


def _conversation(client: WebClient, channel: str) -> str:
    """The conversation a post to ``channel`` lands in: for a person, their DM with the app."""
    if channel[:1] in ("U", "W"):
        return client.conversations_open(users=channel)["channel"]["id"]
    return channel


def _already_posted(client: WebClient, channel: str, key: str) -> bool:
    """Whether a message carrying outbox ``key`` is among the conversation's recent ones. A
    history that cannot be read counts as not posted (the row is sent: at-least-once)."""
    try:
        history = client.conversations_history(
            channel=_conversation(client, channel),
            limit=HISTORY_LIMIT,
            include_all_metadata=True,
        )
    except SlackApiError as error:
        log.warning("outbox %s: cannot read the history of %s: %s", key, channel, error)
        return False
    for message in history.get("messages") or []:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == METADATA_TYPE and (
            (metadata.get("event_payload") or {}).get("key") == key
        ):
            return True
    return False


def _send(
    engine: Engine,
    client: WebClient,
    channel: str,
    payload: dict[str, Any],
    key: str,
    session: Session,
) -> tuple[str, str] | None:
    """Send one row (``session`` reads what a notice needs); where a message landed
    (conversation, ts), for a later edit of it."""
    if "notice" in payload:
        message = notices.message(session, channel, payload["notice"])
        edited = payload.get("update")
        if edited is not None:
            original = session.exec(select(Outbox).where(Outbox.key == edited)).first()
            if original is None or original.posted_ts is None:
                raise NotYetPosted(edited)  # retried once the original is out
            client.chat_update(channel=original.posted_channel, ts=original.posted_ts, **message)
            return None
        metadata = {"event_type": METADATA_TYPE, "event_payload": {"key": key}}
        answer = client.chat_postMessage(channel=channel, **message, metadata=metadata)
        return answer["channel"], answer["ts"]
    if "export" in payload:
        spec = payload["export"]
        with tempfile.TemporaryDirectory(prefix="salesbot-export-") as tmp:
            path = Path(tmp) / spec["filename"]
            export_files.write_export(engine, spec, path, names=RealNames(client))
            client.files_upload_v2(
                channel=_conversation(client, channel),
                file=str(path),
                filename=spec["filename"],
                title=spec["title"],
            )
        return None
    upload = payload.get("file")
    if upload is None:
        metadata = {"event_type": METADATA_TYPE, "event_payload": {"key": key}}
        answer = client.chat_postMessage(channel=channel, **payload, metadata=metadata)
        return answer["channel"], answer["ts"]
    channel = _conversation(client, channel)
    client.files_upload_v2(
        channel=channel,
        content=base64.b64decode(upload["content_b64"]),
        filename=upload["filename"],
        title=upload.get("title") or upload["filename"],
        initial_comment=upload.get("initial_comment") or None,
    )
    return None


class NotYetPosted(Exception):
    """An edit of a message whose own row is not sent yet: it waits for it."""
