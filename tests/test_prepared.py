"""Prepared reads and writes (``bot.store.prepared``) give what SQLAlchemy gives, on SQLite and
PostgreSQL: the same rows, values converted by the columns' types, literals and LIMIT kept,
inside the session's transaction; writes are seen by the engine's listeners (the SQLite write
lock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, insert, literal, select, union_all, update
from sqlmodel import Session, col

from bot.store.db import _HOLDS
from bot.store.models import Activity, Department, Lead, Member, Setting
from bot.store.prepared import Prepared, PreparedWrite

WHEN = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)


def _seed(session: Session) -> None:
    department = Department(name="Enterprise", name_key="enterprise", locale="zh")
    session.add(department)
    session.flush()
    session.add(Member(user_id="U1", department_id=department.id, role="rep"))
    session.flush()  # an owner is a member of the lead's department (fk_lead_owner_member)
    session.add(Setting(key="locale", value="en"))
    for n, name in enumerate(["Acme", "Globex", "Initech"]):
        session.add(
            Lead(
                name=name,
                name_key=name.lower(),
                owner_id="U1" if n else None,
                department_id=department.id if n else None,
                claimed_at=WHEN + timedelta(days=n) if n else None,
                amount_cents=1000 * n,
                created_at=WHEN,
                updated_at=WHEN,
            )
        )
    session.commit()


LEADS = (
    select(Lead.__table__, col(Department.name).label("department_name"))
    .outerjoin(Department, col(Lead.department_id) == col(Department.id))
    .where(col(Lead.name_key).in_([bindparam("a"), bindparam("b")]))
    .order_by(col(Lead.name_key))
)


def test_rows_equal_what_sqlalchemy_returns(engine) -> None:
    with Session(engine) as session:
        _seed(session)
        params = {"a": "acme", "b": "globex"}
        expected = [tuple(row) for row in session.connection().execute(LEADS, params)]
        rows = Prepared(LEADS).rows(session.connection(), **params)
    assert [tuple(row) for row in rows] == expected
    assert [row.name for row in rows] == ["Acme", "Globex"]
    acme, globex = rows
    assert (acme.owner_id, acme.claimed_at, acme.department_name) == (None, None, None)
    assert globex.claimed_at == WHEN + timedelta(days=1)
    assert globex.claimed_at.tzinfo is not None and globex.claimed_at.utcoffset() == timedelta(0)
    assert (globex.department_name, globex.amount_cents) == ("Enterprise", 1000)


def test_literals_limit_and_typed_parameters(engine) -> None:
    ranked = Prepared(
        union_all(
            select(col(Department.locale).label("locale"), literal(0).label("rank"))
            .join(Member, col(Member.department_id) == col(Department.id))
            .where(col(Member.user_id) == bindparam("user")),
            select(col(Setting.value).label("locale"), literal(1).label("rank")).where(
                col(Setting.key) == "locale"
            ),
        )
        .order_by("rank")
        .limit(1)
    )
    since = Prepared(
        select(col(Lead.name))
        .where(col(Lead.claimed_at) >= bindparam("since", type_=Lead.__table__.c.claimed_at.type))
        .order_by(col(Lead.name))
    )
    with Session(engine) as session:
        _seed(session)
        connection = session.connection()
        assert ranked.first(connection, user="U1") == ("zh", 0)
        assert ranked.first(connection, user="nobody") == ("en", 1)
        later = [row.name for row in since.rows(connection, since=WHEN + timedelta(days=2))]
        assert later == ["Initech"]
        assert since.first(connection, since=WHEN + timedelta(days=30)) is None


def test_reads_inside_the_sessions_transaction(engine) -> None:
    by_key = Prepared(select(col(Lead.name)).where(col(Lead.name_key) == bindparam("key")))
    with Session(engine) as session:
        _seed(session)
        session.add(Lead(name="Hooli", name_key="hooli", created_at=WHEN, updated_at=WHEN))
        session.flush()  # written, not committed: only this transaction sees it
        assert by_key.first(session.connection(), key="hooli") == ("Hooli",)
        session.rollback()
        assert by_key.first(session.connection(), key="hooli") is None


def test_refuses_what_it_cannot_prepare(engine) -> None:
    with pytest.raises(TypeError):
        Prepared(Lead.__table__.delete())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distinct names"):
        Prepared(select(col(Lead.name), col(Department.name)))
    expanding = Prepared(
        select(col(Lead.name)).where(col(Lead.name_key).in_(bindparam("keys", expanding=True)))
    )
    with Session(engine) as session, pytest.raises(ValueError, match="expanding"):
        expanding.rows(session.connection(), keys=["acme"])


_LEADS = Lead.__table__.c
ADD_ACTIVITY = PreparedWrite(
    insert(Activity.__table__).values(
        user_id=bindparam("user"), kind="call", occurred_at=bindparam("at"), created_at=WHEN
    )
)
TOUCH = PreparedWrite(
    update(Lead.__table__)
    .where(_LEADS.owner_id == bindparam("owner"))
    .values(last_activity_at=bindparam("at"), warned_at=None)
)


def test_writes_store_typed_values_and_count_rows(engine) -> None:
    later = WHEN + timedelta(hours=5)
    with Session(engine) as session:
        _seed(session)
        connection = session.connection()
        assert ADD_ACTIVITY.run(connection, user="U1", at=later) == 1
        assert TOUCH.run(connection, owner="U1", at=later) == 2  # Globex and Initech
        assert TOUCH.run(connection, owner="nobody", at=later) == 0
        session.commit()
    with Session(engine) as session:
        (activity,) = session.scalars(select(Activity)).all()
        assert (activity.user_id, activity.kind, activity.note) == ("U1", "call", None)
        assert (activity.occurred_at, activity.created_at) == (later, WHEN)
        touched = session.scalars(select(Lead).where(col(Lead.owner_id) == "U1")).all()
        assert [lead.last_activity_at for lead in touched] == [later, later]
        assert (
            session.scalars(select(Lead).where(col(Lead.name) == "Acme")).one().last_activity_at
            is None
        )


def test_writes_are_part_of_the_sessions_transaction_and_seen_by_listeners(engine) -> None:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement.split()[0].upper())

    with Session(engine) as session:
        _seed(session)
        seen.clear()
        connection = session.connection()
        ADD_ACTIVITY.run(connection, user="U1", at=WHEN)
        assert seen == ["INSERT"]
        info = connection.info
        if engine.dialect.name == "sqlite":  # the write lock is held until the transaction ends
            assert info.get(_HOLDS) is True
        session.rollback()
        assert not info.get(_HOLDS)
        assert session.scalars(select(Activity)).all() == []
    event.remove(engine, "before_cursor_execute", _record)


def test_prepared_write_refuses_reads_and_returning() -> None:
    with pytest.raises(TypeError):
        PreparedWrite(select(col(Lead.name)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="returns no rows"):
        PreparedWrite(insert(Activity.__table__).returning(Activity.__table__.c.id))
