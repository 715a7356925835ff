"""Tokens for the intake API ``POST /api/leads`` (DESIGN §8): ``salesbot token create|list|revoke``.

A token is ``sbt_`` followed by 43 characters of :func:`secrets.token_urlsafe` (256 random
bits): the prefix lets secret scanners and people recognise a salesbot token in a config file
or a leaked log. It is printed once, by ``salesbot token create``; only its SHA-256 is stored.
A request's token is hashed and its row looked up by that hash, then the hashes are compared
again with :func:`hmac.compare_digest`: the lookup's timing can only tell an attacker about a
hash of 256 random bits, which they cannot aim at.

Names: 1–64 letters, digits, ``-``, ``_`` or ``.`` (``website``, ``hubspot-prod``); the name
is the default ``source`` of the leads sent with the token, so it must read well in a DM. A
name stays taken after its token is revoked, so that the intakes and the audit trail of the old
token keep pointing at one name: rotate a token by creating ``website-2`` and sending
``"source": "website"`` if the leads should keep their source.

``last_used_at`` is written at most once a minute per token, so that a busy form does not turn
every intake into two writes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.store.models import ApiToken

PREFIX = "sbt_"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: How stale ``last_used_at`` may get before a request writes it again.
LAST_USED_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Created:
    name: str
    token: str


def _checked_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidInput("cli.token_bad_name", name=name)
    return name


def create(session: Session, *, name: str, by: str, now: datetime) -> Created:
    """A new token named ``name``; the only time the token itself exists outside the caller."""
    name = _checked_name(name)
    if session.exec(select(ApiToken.id).where(ApiToken.name == name)).first() is not None:
        raise Conflict("cli.token_name_taken", name=name)
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=digest(token), created_at=now, created_by=by))
    try:
        session.commit()
    except IntegrityError:  # the same name created at the same moment elsewhere
        session.rollback()
        raise Conflict("cli.token_name_taken", name=name) from None
    return Created(name=name, token=token)


def listing(session: Session) -> list[ApiToken]:
    """Every token, oldest first (the hash stays in the database; nobody prints it)."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


@dataclass(frozen=True)
class Revoked:
    name: str
    revoked_at: datetime
    #: it was revoked before: nothing changed
    already: bool


def revoke(session: Session, *, name: str, now: datetime) -> Revoked:
    """Revoke the token named ``name``: from this moment it is refused (401). Revoking a
    revoked token changes nothing and says when it was revoked."""
    row = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise NotFound("cli.token_unknown", name=name)
    changed = session.exec(
        update(ApiToken)
        .where(col(ApiToken.id) == row.id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    ).rowcount
    session.commit()
    session.refresh(row)
    assert row.revoked_at is not None
    return Revoked(name=row.name, revoked_at=row.revoked_at, already=changed == 0)


def verify(session: Session, token: str | None, *, now: datetime) -> ApiToken | None:
    """The live token row for the bearer token ``token``; None for a missing, malformed,
    unknown or revoked one. Notes ``last_used_at`` (at most once a minute, own commit)."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    hashed = digest(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hashed)).first()
    if row is None or not hmac.compare_digest(row.token_hash, hashed):
        return None
    if row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        session.exec(
            update(ApiToken)
            .where(col(ApiToken.id) == row.id, col(ApiToken.revoked_at).is_(None))
            .values(last_used_at=now)
        )
        session.commit()
    return row
