"""CSV and Parquet files of bars (MarketDataSource adapters).

``path`` is one file, a template with ``{symbol}`` (replaced by the symbol without its slash:
EUR/USD -> EURUSD), or a mapping symbol -> file. Options: ``columns`` (our name -> the file's
column; matched case-insensitively), ``timezone`` of naive timestamps (default UTC),
``timeframe`` of the file (inferred from the most common bar step when absent) and
``epoch_unit`` for numeric timestamps. ``bars(symbol, timeframe, start, end)`` cuts the window,
resamples to ``timeframe`` when it is coarser than the file's, and returns validated UTC bars.
A parsed file is kept in memory by the source (the outer loop reads the same file many times).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import pandas as pd

from regimeforge.adapters.marketdata.frames import timeframe_of, to_bars, window_and_resample
from regimeforge.domain.errors import DataError, Problem


def symbol_slug(symbol: str) -> str:
    """The symbol as it appears in file names: the slash removed (EUR/USD -> EURUSD)."""
    return symbol.replace("/", "")


class _FileMarketDataSource:
    """Shared logic of the file sources; subclasses say how a file is read."""

    kind = "file"

    def __init__(
        self,
        path: str | Path | Mapping[str, str | Path],
        *,
        columns: Mapping[str, str] | None = None,
        timezone: str = "UTC",
        timeframe: str | None = None,
        epoch_unit: str = "s",
    ) -> None:
        self.path = path
        self.columns = dict(columns or {})
        self.timezone = timezone
        self.timeframe = timeframe
        self.epoch_unit = epoch_unit
        self._cache: dict[Path, tuple[pd.DataFrame, str]] = {}

    def path_for(self, symbol: str) -> Path:
        """The file holding ``symbol``'s bars."""
        if isinstance(self.path, Mapping):
            if symbol not in self.path:
                raise DataError(
                    [
                        Problem(
                            "data.path",
                            f"no file for symbol {symbol!r} (have: {', '.join(self.path)})",
                            "add the symbol to the path mapping",
                        )
                    ]
                )
            return Path(self.path[symbol])
        return Path(str(self.path).replace("{symbol}", symbol_slug(symbol)))

    def _read(self, path: Path) -> pd.DataFrame:
        raise NotImplementedError

    def load(self, symbol: str) -> tuple[pd.DataFrame, str]:
        """Every bar of ``symbol``'s file (validated, UTC) and the file's timeframe."""
        path = self.path_for(symbol)
        if path not in self._cache:
            if not path.is_file():
                raise DataError(
                    [
                        Problem(
                            "data.path",
                            f"{path} does not exist",
                            "check the path (relative paths start at the grid file's folder)",
                        )
                    ]
                )
            try:
                raw = self._read(path)
            except (OSError, ValueError) as exc:
                raise DataError(
                    [Problem("data.path", f"cannot read {path}: {exc}", f"is it a {self.kind}?")]
                ) from None
            bars = to_bars(
                raw,
                columns=self.columns,
                timezone=self.timezone,
                epoch_unit=self.epoch_unit,
                subject=str(path),
                use_index=isinstance(raw.index, pd.DatetimeIndex),
            )
            self._cache[path] = (bars, timeframe_of(bars, self.timeframe, str(path)))
        return self._cache[path]

    def bars(
        self,
        symbol: str,
        timeframe: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """Validated UTC bars of ``symbol`` at ``timeframe``, labelled in ``[start, end]``."""
        bars, have = self.load(symbol)
        return window_and_resample(bars, have, timeframe, start, end)


class CsvMarketDataSource(_FileMarketDataSource):
    """Bars from CSV files (see the module doc)."""

    kind = "CSV file"

    def _read(self, path: Path) -> pd.DataFrame:
        return pd.read_csv(path)


class ParquetMarketDataSource(_FileMarketDataSource):
    """Bars from Parquet files (see the module doc); a DatetimeIndex is used as the timestamps."""

    kind = "Parquet file"

    def _read(self, path: Path) -> pd.DataFrame:
        return pd.read_parquet(path)


def write_bars(frame: pd.DataFrame, path: Path) -> None:
    """Write bars (and any extra columns) to CSV or Parquet by the file's extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index_label="time")
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(path)
    else:
        raise DataError(
            [Problem("--out", f"unknown file type {suffix!r}", "use a .csv or .parquet file")]
        )
