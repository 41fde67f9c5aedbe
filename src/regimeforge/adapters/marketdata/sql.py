"""A SQL table of candles in a host trading system's database (a MarketDataSource adapter).

Any SQLAlchemy URL works (SQLite, PostgreSQL, MySQL, ...). The table is reflected once to find
its columns (matched case-insensitively; ``columns`` maps our names open/high/low/close/volume/
timestamp to the table's) and the type of its timestamp column. One parametrised query per
call selects the symbol's rows, ordered by time, cut to ``[start, end]`` in SQL when the
timestamp column is a DateTime or a number (epoch in ``epoch_unit``), in pandas otherwise.

Symbols: rows whose ``symbol_column`` equals the symbol as given OR without its slash
(EUR/USD or EURUSD) are read; with ``symbol_column=None`` the table holds one symbol.
Naive stored timestamps are local times of ``timezone`` (default UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from regimeforge.adapters.marketdata.frames import (
    as_utc,
    check_columns_option,
    timeframe_of,
    to_bars,
    window_and_resample,
)
from regimeforge.domain.errors import DataError, Problem
from regimeforge.domain.marketdata import OHLCV

_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


class SqlCandlesMarketDataSource:
    """Bars from a table of candles (see the module doc)."""

    def __init__(
        self,
        url: str,
        table: str,
        *,
        columns: Mapping[str, str] | None = None,
        symbol_column: str | None = "symbol",
        timezone: str = "UTC",
        timeframe: str | None = None,
        epoch_unit: str = "s",
        schema: str | None = None,
    ) -> None:
        self.url = url
        self.table = table
        self.columns = check_columns_option(columns, "data.columns")
        self.symbol_column = symbol_column
        self.timezone = timezone
        self.timeframe = timeframe
        self.epoch_unit = epoch_unit
        self.schema = schema
        self._engine: sa.Engine | None = None
        self._reflected: sa.Table | None = None

    def _where(self) -> str:
        return f"table {self.table!r} at {sa.make_url(self.url).render_as_string(True)}"

    def _table(self) -> sa.Table:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, pool_pre_ping=True)
        if self._reflected is None:
            self._reflected = sa.Table(
                self.table, sa.MetaData(), autoload_with=self._engine, schema=self.schema
            )
        return self._reflected

    def _column(self, table: sa.Table, ours: str, default: str, problems: list[Problem]) -> Any:
        wanted = self.columns.get(ours, default)
        for col in table.columns:
            if col.name.lower() == wanted.lower():
                return col
        have = ", ".join(c.name for c in table.columns)
        path = "data.symbol_column" if ours == "symbol" else f"data.columns.{ours}"
        problems.append(Problem(path, f"no column {wanted!r} (have: {have})", "name the column"))
        return None

    def _bound(self, column: Any, moment: datetime | None) -> Any:
        """``moment`` in the column's own representation, or None to cut in pandas instead."""
        stamp = as_utc(moment)
        if stamp is None:
            return None
        kind = column.type
        if isinstance(kind, sa.DateTime):
            if kind.timezone:
                return stamp.to_pydatetime()
            return stamp.tz_convert(self.timezone).tz_localize(None).to_pydatetime()
        if isinstance(kind, sa.Integer | sa.Numeric | sa.Float):
            return stamp.value / 1e9 * _UNIT_PER_SECOND.get(self.epoch_unit, 1)
        return None

    def _query(self, symbol: str, start: datetime | None, end: datetime | None) -> pd.DataFrame:
        table = self._table()
        problems: list[Problem] = []
        time_col = self._column(table, "timestamp", "time", problems)
        values = [self._column(table, c, c, problems) for c in OHLCV]
        sym = None
        if self.symbol_column is not None:
            sym = self._column(table, "symbol", self.symbol_column, problems)
        DataError.collect(problems, subject=self._where())
        labelled = (v.label(c) for v, c in zip(values, OHLCV, strict=True))
        stmt = sa.select(time_col.label("time"), *labelled)
        if sym is not None:
            stmt = stmt.where(sym.in_(sorted({symbol, symbol.replace("/", "")})))
        lo, hi = self._bound(time_col, start), self._bound(time_col, end)
        if lo is not None:
            stmt = stmt.where(time_col >= lo)
        if hi is not None:
            stmt = stmt.where(time_col <= hi)
        assert self._engine is not None  # set by _table()
        with self._engine.connect() as conn:
            return pd.read_sql(stmt.order_by(time_col), conn)

    def bars(
        self,
        symbol: str,
        timeframe: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """Validated UTC bars of ``symbol`` at ``timeframe``, labelled in ``[start, end]``."""
        try:
            frame = self._query(symbol, start, end)
        except sa.exc.NoSuchTableError:
            raise DataError(
                [Problem("data.table", f"no {self._where()}", "check data.table and data.url")]
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(
                [
                    Problem(
                        "data.url",
                        f"cannot read {self._where()}: {type(exc).__name__}: {exc.args[0]}",
                        "check data.url, the server and the table",
                    )
                ]
            ) from None
        if frame.empty:
            raise DataError(
                [
                    Problem(
                        "symbol",
                        f"no candles of {symbol!r} in {self._where()}",
                        f"check the symbol and data.symbol_column ({self.symbol_column})",
                    )
                ]
            )
        subject = f"{symbol} in {self._where()}"
        bars = to_bars(
            frame,
            columns={"timestamp": "time"},
            timezone=self.timezone,
            epoch_unit=self.epoch_unit,
            subject=subject,
        )
        return window_and_resample(
            bars, timeframe_of(bars, self.timeframe, subject), timeframe, start, end
        )

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._reflected = None
