"""Engine, sessions and migrations.

The schema is built only by Alembic (``salesbot db upgrade``), in production and in tests
alike, so what the tests run on is what production runs on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from bot.gate import GATE
from bot.store.watchdog import Watchdog

MIGRATIONS = Path(__file__).parent / "migrations"


#: Seconds to wait for a PostgreSQL connection to open.
CONNECT_TIMEOUT_S = 2
#: What a request may spend in one statement, in a lock wait, or waiting for a pooled
#: connection, so that a command still answers within Slack's three seconds.
WEB_STATEMENT_TIMEOUT_S = 1.8
#: The same for the worker and the command line, whose jobs read more.
JOB_STATEMENT_TIMEOUT_S = 120.0
#: How long a web request may hold a PostgreSQL connection before the watchdog cuts it
#: (bot.store.watchdog): a frozen server enforces no timeout of its own.
WEB_CONNECTION_LIMIT_S = 2.2


def make_engine(
    url: str,
    *,
    statement_timeout_s: float = JOB_STATEMENT_TIMEOUT_S,
    connection_limit_s: float | None = None,
    **kwargs: object,
) -> Engine:
    """An engine tuned per backend.

    PostgreSQL: connections open within :data:`CONNECT_TIMEOUT_S`; a statement, a lock wait
    and a wait for a pooled connection each end after ``statement_timeout_s`` (web processes
    pass :data:`WEB_STATEMENT_TIMEOUT_S`), and the request gets "the database is busy,
    nothing was changed" instead of hanging. With ``connection_limit_s`` (web processes), a
    connection held longer is cut by :class:`~bot.store.watchdog.Watchdog`, which also pings
    each connection as it is checked out.

    SQLite: one file shared by threads and processes, so WAL journaling and a busy timeout
    let concurrent writers queue instead of failing with "database is locked". Both pools keep
    more connections than a web process has threads: a connection opened past the pool's size
    is closed after each use, and opening one (with its pragmas) costs more than a request.
    """
    memory = url.startswith("sqlite") and (":memory:" in url or url in ("sqlite://", "sqlite:///"))
    if not memory:
        kwargs.setdefault("pool_size", 16)
        kwargs.setdefault("max_overflow", 16)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        _queue_sqlite_writers(engine)
        return engine
    timeout_ms = int(statement_timeout_s * 1000)
    engine = create_engine(
        url,
        pool_pre_ping=connection_limit_s is None,  # else the watchdog pings
        pool_timeout=min(statement_timeout_s, 30),
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
        },
        **kwargs,
    )
    if connection_limit_s is not None:
        Watchdog(engine, connection_limit_s)
    return engine


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_HOLDS = "salesbot_write_lock"


def _queue_sqlite_writers(engine: Engine) -> None:
    """SQLite has one writer at a time. The threads of one process wait for it on a lock
    instead of in SQLite's busy handler, which sleeps (1, 2, 5 … 100 ms) before it tries
    again: a write transaction takes the lock at its first write (the statement before which
    pysqlite begins the transaction) and gives it back when it commits or rolls back. Other
    processes (the worker, a second web worker) still queue on ``busy_timeout``.
    """
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _take(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not conn.info.get(_HOLDS) and statement.lstrip()[:7].upper().startswith(_WRITES):
            if not lock.acquire(blocking=False):
                with GATE.released():  # its holder may be out of the gate, waiting on Slack
                    if not lock.acquire(timeout=60):
                        raise TimeoutError("waited a minute for the database's write lock")
            conn.info[_HOLDS] = True

    def _give_back(info: dict) -> None:  # type: ignore[type-arg]
        if info.pop(_HOLDS, False):
            lock.release()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn):  # type: ignore[no-untyped-def]
        _give_back(conn.info)

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):  # type: ignore[no-untyped-def]
        _give_back(record.info)  # a connection returned mid-transaction is rolled back


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error, always close."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic)."""
    command.upgrade(alembic_config(engine), revision)


def ping(engine: Engine) -> None:
    """Raise unless the database answers."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
