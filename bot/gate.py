"""The gate: in a web process on SQLite, one request's work runs at a time.

CPython runs one thread's Python at a time whatever the number of threads. SQLite answers
in-process in microseconds, but the driver lets go of the interpreter lock around each call,
and under load the threads of a gunicorn worker then trade the lock at every statement:
handing it over (futex calls, context switches) cost more CPU than the statements. With the
gate, a request's work runs start to finish on one thread while the other threads wait on the
gate, asleep; the HTTP work of gunicorn (reading requests, writing answers) stays outside it.

A thread gives the gate up whenever it waits on something outside the process, so a slow
Slack call or a wait for the database never holds other requests up:

* every Slack Web API call (:mod:`bot.slack_client`), retries and their back-off included;
* posts to a ``response_url`` (``respond``);
* the wait for SQLite's write lock (:mod:`bot.store.db`), which another thread may hold while
  it is out of the gate.

One wait keeps the gate: SQLite's own busy handler, when another process (the worker) is
writing the file: other requests, reads too, then wait for as long as that transaction
lasts. The worker's transactions are short (one outbox row, one expired claim each).

The gate is used only by ``salesbot serve`` on SQLite; on PostgreSQL each statement is a
network round trip that other requests should overlap, and every other process (the worker,
the shell, Socket Mode) runs without it: there :meth:`Gate.released` does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Gate:
    """A lock a thread holds while it works and gives up while it waits (re-entrant)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def holding(self) -> bool:
        """Whether the calling thread holds the gate."""
        return getattr(self._local, "held", False)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the gate for the block (a thread that holds it already just goes on)."""
        if self.holding():
            yield
            return
        self._lock.acquire()
        self._local.held = True
        try:
            yield
        finally:
            self._local.held = False
            self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Give the gate up for the block, if the calling thread holds it, and take it back."""
        if not self.holding():
            yield
            return
        self._local.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._local.held = True

    def waiting(self, function: F) -> F:
        """``function``, giving the gate up while it runs (it waits on something outside).

        A plain closure, without ``functools.wraps``: every request wraps its ``respond``.
        """

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.released():
                return function(*args, **kwargs)

        return call  # type: ignore[return-value]


#: The process's gate: held by ``salesbot serve`` on SQLite around each request's work.
GATE = Gate()
