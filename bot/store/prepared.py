"""Prepared reads: a Core ``SELECT`` compiled once per dialect, run on the DBAPI cursor.

Every request reads a little (the caller's locale, a lead by its keys) and SQLAlchemy's
per-execution machinery (cache lookup, execution context, result set-up) costs several times
what SQLite takes to answer. A :class:`Prepared` statement keeps SQLAlchemy for what it is good
at, building the SQL for each dialect and converting values with the columns' own types (aware
UTC datetimes, JSON, booleans), and skips the rest: it compiles once, then each run is one
``cursor.execute`` on the session's connection, inside the session's transaction.

Only for reads: the run goes around engine events, and the SQLite write lock of
:mod:`bot.store.db` hangs on those. Statements with expanding ``IN`` parameters are refused
(their SQL changes with each list's length); give a fixed number of parameters instead.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from sqlalchemy import CompoundSelect, Select
from sqlalchemy.engine import Connection, Dialect

_Processor = Callable[[Any], Any]


class _Plan:
    __slots__ = ("binds", "defaults", "order", "results", "sql")

    def __init__(self, statement: Select | CompoundSelect, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a prepared read cannot take expanding IN parameters")
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
            for column in statement.selected_columns
        ]
        self.results: list[_Processor | None] | None = results if any(results) else None


class Prepared:
    """One read statement; :meth:`rows` runs it with the named parameters."""

    def __init__(self, statement: Select | CompoundSelect) -> None:
        if not isinstance(statement, Select | CompoundSelect):
            raise TypeError("only a SELECT can be prepared")
        self.statement = statement
        keys = [column.key for column in statement.selected_columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"columns need distinct names (label them): {keys}")
        self.row = namedtuple("Row", keys)  # type: ignore[misc]
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:  # two threads may both build it: the result is the same
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan

    def rows(self, connection: Connection, **params: Any) -> list[Any]:
        """The rows, as named tuples, for ``params`` (every parameter the statement needs)."""
        plan = self._plan(connection.dialect)
        values = {**plan.defaults, **params}
        for name, process in plan.binds.items():
            values[name] = process(values[name])
        args = values if plan.order is None else tuple(values[name] for name in plan.order)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(plan.sql, args)
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
