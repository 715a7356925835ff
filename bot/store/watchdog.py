"""A deadline for every statement a web process sends to PostgreSQL.

PostgreSQL's ``statement_timeout`` and ``lock_timeout`` are enforced by the server: a server
that is frozen (stopped, swapping, its disk hung) enforces nothing, and the operating system
still acknowledges every packet, so a request would wait as long as the server sleeps. The
watchdog keeps Slack's three seconds anyway: a statement that has not returned within the limit
has its connection's socket shut down, so it fails at once (a disconnect: the pool drops the
connection) and the user reads "the database is busy, nothing was changed" — nothing was,
since the transaction never committed. A connection that merely sits checked out (its request
waits on Slack) is never cut.

Statements are seen through the engine's ``before_cursor_execute``, ``after_cursor_execute``
and ``handle_error`` events (prepared statements, bot.store.prepared, raise the first two; one
that fails is forgotten when its transaction rolls back or its connection is returned).
Checked-out connections are pinged first (the pool's pessimistic ping, run here under the
watchdog's eye rather than by ``pool_pre_ping``, which runs before a listener can see the
connection), so a dead pooled connection is replaced and a frozen server is caught there too.
One thread per process looks every 100 ms; a statement costs two dictionary operations.
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
        #: id of a DBAPI connection running a statement → (deadline, its socket's descriptor)
        self._out: dict[int, tuple[float, int]] = {}
        event.listen(engine, "checkout", self._checked_out)
        event.listen(engine, "before_cursor_execute", self._statement_starts)
        event.listen(engine, "after_cursor_execute", self._statement_ends)
        event.listen(engine, "handle_error", self._statement_failed)
        # a statement that failed outside SQLAlchemy (a prepared one) ends with its transaction
        event.listen(engine, "rollback", self._statement_ends)
        event.listen(engine, "checkin", self._returned)
        threading.Thread(target=self._watch, name="salesbot-db-watchdog", daemon=True).start()

    def _arm(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._out[id(dbapi_connection)] = (
                time.monotonic() + self.limit_s,
                dbapi_connection.fileno(),
            )

    def _disarm(self, dbapi_connection: Any) -> bool:
        """Forget the connection's statement; False when the watchdog had already cut it."""
        with self._lock:
            return self._out.pop(id(dbapi_connection), None) is not None

    def _statement_starts(self, conn: Any, *_args: Any) -> None:
        self._arm(conn.connection.dbapi_connection)

    def _statement_ends(self, conn: Any, *_args: Any) -> None:
        if not conn.invalidated:
            self._disarm(conn.connection.dbapi_connection)

    def _statement_failed(self, context: Any) -> None:
        connection = context.connection
        if connection is not None and not connection.invalidated:
            self._disarm(connection.connection.dbapi_connection)

    def _returned(self, dbapi_connection: Any, _record: Any) -> None:
        self._disarm(dbapi_connection)

    def _checked_out(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        self._arm(dbapi_connection)
        try:  # the pessimistic ping, under the deadline just set
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:
            if not self._disarm(dbapi_connection):
                # cut: the server is there but does not answer; another try would wait again
                raise TimeoutError(
                    f"the database did not answer within {self.limit_s:g} s"
                ) from error
            # a connection the server closed: the pool throws it away and tries another
            raise exc.DisconnectionError(f"ping failed: {type(error).__name__}") from error
        self._disarm(dbapi_connection)

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
