"""Built-in data sources plugin: csv, parquet, sql, synthetic (chosen by a grid's ``data.source``).

Each factory takes the grid file's ``data`` block and the folder of the grid file (``base_dir``):
relative file paths and relative SQLite database paths start there. Keys per source:

- csv, parquet: ``path`` (required; may contain ``{symbol}``, or map symbol -> path),
  ``timezone``, ``timeframe``, ``columns``, ``epoch_unit``
- sql: ``url`` and ``table`` (required), ``symbol_column``, ``columns``, ``timezone``,
  ``timeframe``, ``epoch_unit``, ``schema``
- synthetic: ``bars`` (default 5000), ``seed`` (default 0), ``timeframe`` (default 1h), ``start``

Unknown or missing keys are a ConfigError naming ``data.<key>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.ports import MarketDataSource
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES
from regimeforge.plugins.descriptors import DataSourceDescriptor
from regimeforge.plugins.hookspecs import hookimpl

_FILE_KEYS = frozenset({"path", "timezone", "timeframe", "columns", "epoch_unit"})
_SQL_KEYS = frozenset(
    {"url", "table", "symbol_column", "columns", "timezone", "timeframe", "epoch_unit", "schema"}
)
_SYNTH_KEYS = frozenset({"bars", "seed", "timeframe", "start"})
_REQUIRED = {"file": ("path",), "sql": ("url", "table"), "synthetic": ()}


def check_spec(spec: Mapping[str, Any], allowed: frozenset[str], required: tuple[str, ...]) -> None:
    """ConfigError listing unknown keys, missing keys and bad common values of a data block."""
    problems = [
        Problem(f"data.{key}", "unknown key", f"use one of: source, {', '.join(sorted(allowed))}")
        for key in spec
        if key != "source" and key not in allowed
    ]
    problems += [
        Problem(f"data.{key}", "is required", f"add {key}: ... to the data block")
        for key in required
        if spec.get(key) in (None, "")
    ]
    timeframe = spec.get("timeframe")
    if timeframe is not None and timeframe not in TIMEFRAME_MINUTES:
        problems.append(
            Problem(
                "data.timeframe",
                f"unknown timeframe {timeframe!r}",
                f"use {', '.join(TIMEFRAME_MINUTES)}",
            )
        )
    unit = spec.get("epoch_unit")
    if unit is not None and unit not in ("s", "ms", "us", "ns"):
        problems.append(Problem("data.epoch_unit", f"unknown unit {unit!r}", "use s, ms, us or ns"))
    columns = spec.get("columns")
    if columns is not None and not isinstance(columns, Mapping):
        problems.append(Problem("data.columns", "must map names", "e.g. {close: Last}"))
    ConfigError.collect(problems, subject="data")


def _resolve(path: Any, base_dir: str) -> Path:
    p = Path(str(path)).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def _options(spec: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("timezone", "timeframe", "columns", "epoch_unit")
    return {k: spec[k] for k in keys if spec.get(k) is not None}


def _file_factory(cls_name: str) -> Callable[[Mapping[str, Any], str], MarketDataSource]:
    def factory(spec: Mapping[str, Any], base_dir: str) -> MarketDataSource:
        from regimeforge.adapters.marketdata import files

        check_spec(spec, _FILE_KEYS, _REQUIRED["file"])
        raw = spec["path"]
        if isinstance(raw, Mapping):
            path: Any = {str(k): _resolve(v, base_dir) for k, v in raw.items()}
        else:
            path = _resolve(raw, base_dir)
        source: MarketDataSource = getattr(files, cls_name)(path, **_options(spec))
        return source

    return factory


def sql_url(url: str, base_dir: str) -> str:
    """``url`` with a relative SQLite database path made relative to ``base_dir``."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    db = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and db
        and db != ":memory:"
        and not db.startswith("file:")
    ):
        parsed = parsed.set(database=str(_resolve(db, base_dir)))
    return parsed.render_as_string(hide_password=False)


def sql_factory(spec: Mapping[str, Any], base_dir: str) -> MarketDataSource:
    """The ``sql`` source of a data block."""
    import sqlalchemy as sa

    from regimeforge.adapters.marketdata.sql import SqlCandlesMarketDataSource

    check_spec(spec, _SQL_KEYS, _REQUIRED["sql"])
    try:
        url = sql_url(str(spec["url"]), base_dir)
    except sa.exc.ArgumentError as exc:
        raise ConfigError([Problem("data.url", str(exc), "use a SQLAlchemy URL")]) from None
    extra = {k: spec[k] for k in ("symbol_column", "schema") if k in spec}
    return SqlCandlesMarketDataSource(url, str(spec["table"]), **extra, **_options(spec))


def synthetic_factory(spec: Mapping[str, Any], base_dir: str) -> MarketDataSource:
    """The ``synthetic`` source of a data block."""
    from regimeforge.adapters.marketdata.synthetic import SyntheticMarketDataSource

    check_spec(spec, _SYNTH_KEYS, _REQUIRED["synthetic"])
    return SyntheticMarketDataSource(
        spec.get("bars", 5000),
        spec.get("seed", 0),
        timeframe=str(spec.get("timeframe", "1h")),
        start=str(spec.get("start", "2020-01-01")),
    )


@hookimpl
def register_data_sources() -> list[DataSourceDescriptor]:
    """The built-in data sources."""
    return [
        DataSourceDescriptor(
            "csv", _file_factory("CsvMarketDataSource"), "CSV files of OHLCV bars"
        ),
        DataSourceDescriptor(
            "parquet", _file_factory("ParquetMarketDataSource"), "Parquet files of OHLCV bars"
        ),
        DataSourceDescriptor("sql", sql_factory, "a SQL table of candles (any SQLAlchemy URL)"),
        DataSourceDescriptor(
            "synthetic", synthetic_factory, "seeded regime-switching bars with known regimes"
        ),
    ]
