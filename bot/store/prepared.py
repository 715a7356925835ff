"""Prepared reads: a Core ``SELECT`` compiled once per dialect, run on the DBAPI cursor.

Every request reads a little (the caller's locale, a lead by its keys) and SQLAlchemy's
per-execution machinery (cache lookup, execution context, result set-up) costs several times
what SQLite takes to answer. A :class:`Prepared` statement keeps SQLAlchemy for what it is good
at, building the SQL for each dialect and converting values with the columns' own types (aware
UTC datetimes, JSON, booleans), and skips the rest: it compiles once, then each run is one
``cursor.execute`` on the session's connection, inside the session's transaction.

:class:`PreparedWrite` does the same for an ``INSERT``, ``UPDATE`` or ``DELETE`` whose columns
are fixed: /log writes an activity and renews a claim on every run. A write goes around
SQLAlchemy's execution but not around the engine's ``before_cursor_execute`` listeners, which it
calls itself: the SQLite write lock of :mod:`bot.store.db` hangs on them (listeners that rewrite
the statement are not supported). The session still commits or rolls back, as for any write.

Statements with expanding ``IN`` parameters are refused (their SQL changes with each list's
length); give a fixed number of parameters instead.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from sqlalchemy import CompoundSelect, Delete, Insert, Select, Update
from sqlalchemy.engine import Connection, Dialect

_Processor = Callable[[Any], Any]
_Write = Insert | Update | Delete


class _Plan:
    __slots__ = ("binds", "defaults", "order", "results", "sql")

    def __init__(self, statement: Select | CompoundSelect | _Write, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a prepared statement cannot take expanding IN parameters")
        self.sql = compiled.string
        #: values built into the statement (literals, LIMIT): the caller gives the rest
        self.defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        self.binds: dict[str, _Processor] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binds[name] = process
        self.order = compiled.positiontup if compiled.positional else None
        results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(statement, "selected_columns", ())
        ]
        self.results: list[_Processor | None] | None = results if any(results) else None

    def args(self, params: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        """The DBAPI parameters for ``params``, converted by the binds' types."""
        values = {**self.defaults, **params}
        for name, process in self.binds.items():
            values[name] = process(values[name])
        return values if self.order is None else tuple(values[name] for name in self.order)


class _Plans:
    """A statement's plan per dialect, built on first use."""

    def __init__(self, statement: Select | CompoundSelect | _Write) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:  # two threads may both build it: the result is the same
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan


class Prepared(_Plans):
    """One read statement; :meth:`rows` runs it with the named parameters."""

    def __init__(self, statement: Select | CompoundSelect) -> None:
        if not isinstance(statement, Select | CompoundSelect):
            raise TypeError("only a SELECT can be prepared (writes: PreparedWrite)")
        super().__init__(statement)
        keys = [column.key for column in statement.selected_columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"columns need distinct names (label them): {keys}")
        self.row = namedtuple("Row", keys)  # type: ignore[misc]

    def rows(self, connection: Connection, **params: Any) -> list[Any]:
        """The rows, as named tuples, for ``params`` (every parameter the statement needs)."""
        plan = self._plan(connection.dialect)
        args = plan.args(params)
        cursor = connection.connection.cursor()
        try:
            _execute(connection, cursor, plan.sql, args)
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        make, results = self.row._make, plan.results
        if results is None:
            return [make(row) for row in fetched]
        return [
            make([value if p is None else p(value) for p, value in zip(results, row, strict=True)])
            for row in fetched
        ]

    def first(self, connection: Connection, **params: Any) -> Any | None:
        """The first row, or None."""
        found = self.rows(connection, **params)
        return found[0] if found else None


class PreparedWrite(_Plans):
    """One ``INSERT``, ``UPDATE`` or ``DELETE`` with fixed columns; :meth:`run` runs it inside
    the connection's transaction, which the caller's session commits."""

    def __init__(self, statement: _Write) -> None:
        if not isinstance(statement, _Write):
            raise TypeError("only an INSERT, UPDATE or DELETE can be a prepared write")
        if getattr(statement, "_returning", ()):
            raise ValueError("a prepared write returns no rows")
        super().__init__(statement)

    def run(self, connection: Connection, **params: Any) -> int:
        """Run with ``params`` (every parameter the statement needs); the rows it changed."""
        plan = self._plan(connection.dialect)
        args = plan.args(params)
        cursor = connection.connection.cursor()
        try:
            _execute(connection, cursor, plan.sql, args)
            return cursor.rowcount
        finally:
            cursor.close()


def _execute(connection: Connection, cursor: Any, sql: str, args: Any) -> None:
    """Run one statement on the raw cursor; the engine's listeners see it as they see any
    statement, before it (the SQLite write lock, the watchdog) and after it."""
    dispatch = connection.dispatch
    dispatch.before_cursor_execute(connection, cursor, sql, args, None, False)
    cursor.execute(sql, args)
    dispatch.after_cursor_execute(connection, cursor, sql, args, None, False)
