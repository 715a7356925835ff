"""Concurrent writers on one engine.

On SQLite the threads of a process queue for the single writer on a lock (``make_engine``),
so the lock must come back however a transaction ends: commit, rollback, a session closed
without either, an error inside ``session_scope``. Each case is followed by a write from
another thread that has to finish at once; on PostgreSQL the same cases simply must work.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from bot.store.db import session_scope
from bot.store.models import Setting

QUICK_S = 5.0


def _write_from_another_thread(engine, key: str) -> None:  # type: ignore[no-untyped-def]
    """Write from another thread on another connection: this thread keeps the connection it
    just used (the pool hands back the last one returned), so a lock it failed to give back
    shows as a write that never finishes."""
    done = threading.Event()

    def write() -> None:
        with session_scope(engine) as session:
            session.add(Setting(key=key, value="x"))
        done.set()

    with engine.connect() as held:
        held.execute(text("SELECT 1"))
        threading.Thread(target=write, daemon=True).start()
        assert done.wait(QUICK_S), f"a write after {key!r} waited for a lock never given back"


def _keys(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return set(session.exec(select(Setting.key)))


def test_the_write_lock_comes_back_however_a_transaction_ends(engine) -> None:
    with Session(engine) as session:
        session.add(Setting(key="committed", value="1"))
        session.commit()
    _write_from_another_thread(engine, "after-commit")

    with Session(engine) as session:
        session.add(Setting(key="rolled-back", value="1"))
        session.flush()
        session.rollback()
    _write_from_another_thread(engine, "after-rollback")

    with Session(engine) as session:
        session.execute(text("UPDATE setting SET value = '2' WHERE key = 'committed'"))
        # closed with the transaction open: the pool rolls it back
    _write_from_another_thread(engine, "after-close")

    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Setting(key="failed", value="1"))
        session.flush()
        raise RuntimeError("the command failed half-way")
    _write_from_another_thread(engine, "after-error")

    with engine.connect() as connection:
        connection.execute(text("DELETE FROM setting WHERE key = 'committed'"))
        # a Core connection closed without commit
    _write_from_another_thread(engine, "after-core")

    assert _keys(engine) == {
        "committed",
        "after-commit",
        "after-rollback",
        "after-close",
        "after-error",
        "after-core",
    }
    with Session(engine) as session:
        value = session.exec(select(Setting.value).where(Setting.key == "committed")).one()
    assert value == "1"  # the uncommitted UPDATE was rolled back


def test_simultaneous_writers_all_land(engine) -> None:
    """Twenty threads, each reading then writing in one transaction that lingers: none fails,
    none is lost."""
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def writer(n: int) -> None:
        try:
            start.wait(QUICK_S)
            with session_scope(engine) as session:
                session.exec(select(func.count()).select_from(Setting)).one()
                session.add(Setting(key=f"w{n:02d}", value=str(n)))
                session.flush()
                time.sleep(0.01)  # hold the write a moment, as a command does
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert _keys(engine) == {f"w{n:02d}" for n in range(20)}
