"""A deadline for the database connections a web request holds.

PostgreSQL's ``statement_timeout`` and ``lock_timeout`` are enforced by the server: a server
that is frozen (stopped, swapping, its disk hung) enforces nothing, and the operating system
still acknowledges every packet, so a request would wait as long as the server sleeps. The
watchdog keeps Slack's three seconds anyway: a connection checked out of a web process's pool
for longer than its limit has its socket shut down, so the statement waiting on it fails at once
(a disconnect: the pool drops the connection) and the user reads "the database is busy, nothing
was changed" — nothing was, since the transaction never committed.

Checked-out connections are pinged first (the pool's pessimistic ping, run here under the
watchdog's eye rather than by ``pool_pre_ping``, which runs before a listener can see the
connection), so a dead pooled connection is replaced and a frozen server is caught there too.
One thread per process looks every 100 ms; the listeners cost a dictionary entry per checkout.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

log = logging.getLogger("salesbot.db")

TICK_S = 0.1


class Watchdog:
    """Cut the connections checked out of ``engine``'s pool for longer than ``limit_s``."""

    def __init__(self, engine: Engine, limit_s: float) -> None:
        self.limit_s = limit_s
        self._lock = threading.Lock()
        #: id of a checked-out DBAPI connection → (deadline, its socket's file descriptor)
        self._out: dict[int, tuple[float, int]] = {}
        event.listen(engine, "checkout", self._checked_out)
        event.listen(engine, "checkin", self._checked_in)
        event.listen(engine, "close", self._checked_in)
        threading.Thread(target=self._watch, name="salesbot-db-watchdog", daemon=True).start()

    def _checked_out(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        with self._lock:
            self._out[id(dbapi_connection)] = (
                time.monotonic() + self.limit_s,
                dbapi_connection.fileno(),
            )
        try:  # the pessimistic ping, under the deadline just set
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:
            with self._lock:
                cut = self._out.pop(id(dbapi_connection), None) is None
            if cut:  # the server is there but does not answer: another try would wait again
                raise TimeoutError(
                    f"the database did not answer within {self.limit_s:g} s"
                ) from error
            # a connection the server closed: the pool throws it away and tries another
            raise exc.DisconnectionError(f"ping failed: {type(error).__name__}") from error

    def _checked_in(self, dbapi_connection: Any, _record: Any) -> None:
        with self._lock:
            self._out.pop(id(dbapi_connection), None)

    def _watch(self) -> None:
        while True:
            time.sleep(TICK_S)
            now = time.monotonic()
            with self._lock:
                late = [key for key, (deadline, _fd) in self._out.items() if deadline < now]
                for key in late:
                    _deadline, fd = self._out.pop(key)
                    _cut(fd)
            if late:
                log.warning(
                    "the database did not answer within %.1f s: %d connection(s) cut",
                    self.limit_s,
                    len(late),
                )


def _cut(fd: int) -> None:
    """Shut the socket down in both directions (a duplicate of its descriptor, so the
    connection's own stays valid until its owner closes it)."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
