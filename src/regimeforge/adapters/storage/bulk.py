"""``insert_many``: a lean executemany for the hot bulk inserts (135 backtests per model).

``session.execute(sa.insert(table), rows)`` builds a cache key, looks the compiled statement up
and walks every row's dict through SQLAlchemy's parameter processing; for the 135 backtest rows
of each model that came to about a third of the outer loop's bookkeeping. Here the INSERT is
compiled once per dialect and column set, the columns' own bind processors (JSON serializer,
UTC timestamps, PostgreSQL's JSONB wrapper) are applied directly, and the rows go to the driver's
``executemany`` through ``exec_driver_sql``. The values written are exactly those SQLAlchemy
would write: same compiled SQL (with psycopg's casts), same processors.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


@attrs.frozen
class CompiledInsert:
    """An INSERT of ``columns`` compiled for one dialect, with each column's bind processor."""

    sql: str
    positional: bool
    columns: tuple[str, ...]  # in the order the driver expects the parameters
    processors: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, table: sa.Table, columns: Sequence[str], dialect: Dialect) -> CompiledInsert:
        """Compile ``INSERT INTO table (columns)`` for ``dialect``."""
        compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(columns))
        order = tuple(compiled.positiontup or columns) if compiled.positional else tuple(columns)
        processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                           for name in order)  # fmt: skip
        return cls(compiled.string, compiled.positional, order, processors)

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The driver's parameters: tuples (qmark) or dicts (named), processed."""
        columns = [
            _processed([row[name] for row in rows], processor)
            for name, processor in zip(self.columns, self.processors, strict=True)
        ]
        if self.positional:
            return list(zip(*columns, strict=True))
        return [
            dict(zip(self.columns, values, strict=True)) for values in zip(*columns, strict=True)
        ]


def _processed(values: list[Any], processor: Callable[[Any], Any] | None) -> list[Any]:
    # Column by column; a value that is the same object as the one before (every row's
    # created_at, run key...) is processed once.
    if processor is None:
        return values
    out: list[Any] = []
    last: Any = _NOTHING
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, processor(value)
        out.append(done)
    return out


_NOTHING = object()


#: Compiled inserts per dialect (an engine's dialect lives as long as the engine).
_CACHE: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, tuple[str, ...]], CompiledInsert]]
_CACHE = weakref.WeakKeyDictionary()


def insert_many(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) with one driver executemany.

    Not atomic on its own on SQLite (each row is a statement): callers run it in a savepoint.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    connection = session.connection()
    dialect = connection.dialect
    per_dialect = _CACHE.setdefault(dialect, {})
    compiled = per_dialect.get((table.name, columns))
    if compiled is None:
        compiled = per_dialect[(table.name, columns)] = CompiledInsert.of(table, columns, dialect)
    connection.exec_driver_sql(compiled.sql, compiled.parameters(rows))
