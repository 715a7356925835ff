"""Migration 0002 on a database the races left broken: the rows are repaired, then the schema
holds the rules (SQLite and PostgreSQL, each from an empty database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.store.db import make_engine, upgrade
from bot.store.models import Department, Lead, Member, OwnershipEvent, TransferRequest


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    pg = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield pg.create_database(name)
    pg.drop_database(name)


BROKEN = """
INSERT INTO department (id, name, name_key, timezone, locale, claim_days, warn_days,
    max_leads_per_rep, created_at, updated_at)
VALUES (1, 'Enterprise', 'enterprise', 'UTC', 'en', 14, 3, 0, :t, :t),
       (2, 'SMB', 'smb', 'UTC', 'en', 14, 3, 0, :t, :t);
INSERT INTO member (user_id, department_id, role, is_admin, created_at, updated_at)
VALUES ('U1', 1, 'rep', false, :t, :t), ('U2', 2, 'rep', false, :t, :t),
       ('U3', NULL, NULL, false, :t, :t);
INSERT INTO lead (id, name, name_key, owner_id, department_id, stage, created_at, updated_at)
VALUES (1, 'Right', 'right', 'U1', 1, 'new', :t, :t),
       (2, 'Wrong department', 'wrongdepartment', 'U2', 1, 'new', :t, :t),
       (3, 'Owner left', 'ownerleft', 'U3', 2, 'new', :t, :t),
       (4, 'No owner', 'noowner', NULL, 2, 'new', :t, :t);
INSERT INTO transfer_request (lead_id, from_user, to_user, requested_by, status, created_at)
VALUES (1, 'U1', 'U2', 'U1', 'pending', :t), (1, 'U1', 'U2', 'U1', 'pending', :t);
"""


def test_0002_repairs_broken_rows_then_holds_the_rules(empty_url: str) -> None:
    engine = make_engine(empty_url)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        for statement in BROKEN.split(";"):
            if statement.strip():
                connection.execute(text(statement), {"t": "2026-11-01 00:00:00"})
    upgrade(engine)
    with Session(engine) as session:
        owners = {
            lead.name: (lead.owner_id, lead.department_id) for lead in session.exec(select(Lead))
        }
        assert owners == {
            "Right": ("U1", 1),
            "Wrong department": ("U2", 2),  # the lead follows its owner
            "Owner left": (None, None),  # back to the pool
            "No owner": (None, None),
        }
        [released] = session.exec(select(OwnershipEvent)).all()
        assert (released.action, released.from_owner) == ("release", "U3")
        statuses = sorted(r.status for r in session.exec(select(TransferRequest)))
        assert statuses == ["cancelled", "pending"]
    for broken in (
        "UPDATE lead SET department_id = 1 WHERE name_key = 'wrongdepartment'",
        "UPDATE lead SET department_id = 1 WHERE name_key = 'noowner'",
        "UPDATE transfer_request SET status = 'pending'",
    ):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(broken))
    engine.dispose()


def test_0004_brings_department_numbers_into_range_then_holds_them(empty_url: str) -> None:
    """``claim_days 10000000`` (accepted before the ranges existed) made every later claim
    overflow: the migration brings such values to the nearest allowed one, and from then on
    the database refuses them whatever writes them."""
    engine = make_engine(empty_url)
    upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO department (id, name, name_key, timezone, locale, claim_days,"
                " warn_days, max_leads_per_rep, created_at, updated_at) VALUES"
                " (1, 'Key Accounts', 'keyaccounts', 'UTC', 'en', 10000000, 3, -5, :t, :t),"
                " (2, 'SMB', 'smb', 'UTC', 'en', 7, 9, 200, :t, :t)"
            ),
            {"t": "2026-11-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO member (user_id, department_id, role, is_admin, created_at,"
                " updated_at) VALUES ('U1', 1, 'rep', false, :t, :t)"
            ),
            {"t": "2026-11-01 00:00:00"},
        )
    upgrade(engine)
    with Session(engine) as session:
        assert session.get(Member, "U1").department_id == 1  # the table rebuilt, not emptied
        numbers = {
            d.name: (d.claim_days, d.warn_days, d.max_leads_per_rep)
            for d in session.exec(select(Department))
        }
    assert numbers == {"Key Accounts": (365, 3, 0), "SMB": (7, 6, 200)}
    for broken in (
        "UPDATE department SET claim_days = 10000000 WHERE id = 1",
        "UPDATE department SET warn_days = 7 WHERE id = 2",
        "UPDATE department SET max_leads_per_rep = 10001 WHERE id = 2",
    ):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(broken))
    engine.dispose()
