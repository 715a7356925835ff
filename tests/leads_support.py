"""Helpers for the lead tests: database access and button clicks on a live server."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.devslack.signing import button_payload
from bot.store.db import make_engine
from bot.store.models import Lead
from tests.conftest import LiveServer, Reply


def db(server: LiveServer) -> Session:
    return Session(make_engine(server.db_url))


def lead_named(server: LiveServer, key: str) -> Lead | None:
    with db(server) as session:
        return session.exec(select(Lead).where(Lead.name_key == key)).first()


def click(server: LiveServer, user: str, action_id: str, value: str, tag: str) -> Reply:
    return server.action(
        button_payload(
            user=user,
            action_id=action_id,
            value=value,
            response_url=server.fake.response_url(tag),
        )
    )


def responses(server: LiveServer, tag: str) -> list[dict]:
    return [c.body for c in server.fake.calls_to("response_url") if c.path.endswith("/" + tag)]
