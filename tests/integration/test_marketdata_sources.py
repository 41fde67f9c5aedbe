"""The data sources against real files and databases: the shared EUR/USD and GOOG CSVs, a
Parquet round trip, time zones and column mapping, SQL candles on SQLite and PostgreSQL, and the
synthetic source, all built through the plugin's factories as a grid file's ``data`` block does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from regimeforge.adapters.marketdata.files import CsvMarketDataSource, ParquetMarketDataSource
from regimeforge.adapters.marketdata.plugin import register_data_sources
from regimeforge.domain.catalog import ADDITIONAL_FEATURES, BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.errors import ConfigError, DataError
from regimeforge.domain.features import FeaturePipeline
from regimeforge.domain.marketdata import fingerprint, select_window
from regimeforge.plugins.builtin.indicators import register_indicators

FACTORIES = {d.name: d.factory for d in register_data_sources()}
PIPELINE = FeaturePipeline({d.name: d for d in register_indicators()})
CATALOG = ConfigCatalog(
    model_types={"ridge": {}}, encoders={"none": {}}, indicators=BUILTIN_INDICATORS
)


def model_config(symbol: str, base: str, tfs: list[str], days: int) -> ModelConfig:
    return ModelConfig.from_mapping(
        {
            "model_type": "ridge",
            "symbol": symbol,
            "base_timeframe": base,
            "days_history": days,
            "horizon": 5,
            "indicator_tfs": dict.fromkeys(BUILTIN_INDICATORS, tfs),
            "additional_features": dict.fromkeys(ADDITIONAL_FEATURES, True),
        },
        CATALOG,
    )


# --- the real files ---------------------------------------------------------------------------


def test_real_eurusd_hourly_loads_resamples_and_gives_features(shared_data: Path) -> None:
    source = FACTORIES["csv"]({"source": "csv", "path": "{symbol}_H1.csv"}, str(shared_data))
    hourly = source.bars("EUR/USD", "1h")
    assert len(hourly) == 5000 and str(hourly.index.tz) == "UTC"
    assert hourly.index[0] == pd.Timestamp("2017-04-19 09:00", tz="UTC")
    four = source.bars("EUR/USD", "4h")
    assert four["volume"].sum() == hourly["volume"].sum()
    assert (four.index.hour % 4 == 0).all()
    config = model_config("EUR/USD", "1h", ["1h", "4h"], 180)
    window = select_window(hourly, config.days_history)
    data = PIPELINE.prepare(window, config)
    assert data.n_bars > 2000 and len(data.feature_names) > 60
    assert np.isfinite(data.features).all()
    four_config = model_config("EUR/USD", "4h", ["4h", "1d"], 290)
    assert PIPELINE.prepare(source.bars("EUR/USD", "4h"), four_config).n_bars > 800


def test_real_goog_daily_loads_and_gives_features(shared_data: Path) -> None:
    source = CsvMarketDataSource(shared_data / "GOOG_D1.csv")
    daily = source.bars("GOOG", "1d")
    assert len(daily) == 2148 and daily.index[-1] == pd.Timestamp("2013-03-01", tz="UTC")
    config = model_config("GOOG", "1d", ["1d"], 3650)
    data = PIPELINE.prepare(daily, config)
    assert data.n_bars > 1900 and np.isfinite(data.features).all()
    with pytest.raises(DataError, match="cannot make 1h bars from 1d data"):
        source.bars("GOOG", "1h")


def test_a_window_ends_at_the_as_of_time(shared_data: Path) -> None:
    source = CsvMarketDataSource(shared_data / "EURUSD_H1.csv")
    end = pd.Timestamp("2017-09-01 12:00", tz="UTC")
    bars = source.bars("EUR/USD", "1h", end=end.to_pydatetime())
    assert bars.index[-1] == end
    start = pd.Timestamp("2017-08-01", tz="UTC")
    assert source.bars("EUR/USD", "1h", start=start, end=end).index[0] == start


# --- Parquet, time zones, column mapping ----------------------------------------------------


def test_parquet_round_trip_keeps_the_exact_bars(shared_data: Path, tmp_path: Path) -> None:
    bars = CsvMarketDataSource(shared_data / "EURUSD_H1.csv").bars("EUR/USD", "1h")
    bars.to_parquet(tmp_path / "EURUSD.parquet")
    source = FACTORIES["parquet"]({"path": "{symbol}.parquet"}, str(tmp_path))
    again = source.bars("EUR/USD", "1h")
    assert fingerprint(again) == fingerprint(bars)
    bars.reset_index().rename(columns={"time": "Date"}).to_parquet(tmp_path / "flat.parquet")
    flat = ParquetMarketDataSource(tmp_path / "flat.parquet").bars("X", "1h")
    assert fingerprint(flat) == fingerprint(bars)


def test_naive_local_timestamps_and_mapped_columns(tmp_path: Path) -> None:
    local = pd.date_range("2024-03-30 00:00", periods=48, freq="1h")  # Berlin DST starts 31 March
    local = local[local != pd.Timestamp("2024-03-31 02:00")]  # that hour does not exist
    close = np.linspace(10, 11, len(local))
    frame = pd.DataFrame(
        {
            "Zeit": local.strftime("%Y-%m-%d %H:%M"),
            "Eroeffnung": close,
            "HOCH": close + 0.1,
            "tief": close - 0.1,
            "Schluss": close,
            "Umsatz": 1.0,
        }
    )
    frame.to_csv(tmp_path / "de.csv", index=False)
    spec = {
        "path": "de.csv",
        "timezone": "Europe/Berlin",
        "timeframe": "1h",
        "columns": {
            "timestamp": "zeit",
            "open": "Eroeffnung",
            "high": "hoch",
            "low": "Tief",
            "close": "Schluss",
            "volume": "Umsatz",
        },
    }
    bars = FACTORIES["csv"](spec, str(tmp_path)).bars("DAX", "1h")
    assert bars.index[0] == pd.Timestamp("2024-03-29 23:00", tz="UTC")  # CET = UTC+1
    assert bars.index.is_unique and (np.diff(bars.index.asi8) == 3600 * 10**9).all()
    frame.loc[5, "Zeit"] = "2024-03-31 02:30"  # a local time that does not exist
    frame.to_csv(tmp_path / "de.csv", index=False)
    with pytest.raises(DataError, match="nonexistent time"):
        FACTORIES["csv"](spec, str(tmp_path)).bars("DAX", "1h")


def test_bad_file_and_bad_spec_messages(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(ConfigError) as info:
        FACTORIES["csv"]({"source": "csv", "pth": "x.csv", "timeframe": "2h"}, str(tmp_path))
    text = str(info.value)
    assert "data.pth: unknown key" in text and "data.path: is required" in text
    assert "data.timeframe: unknown timeframe '2h'" in text
    with pytest.raises(DataError, match=r"does not exist"):
        FACTORIES["csv"]({"path": "nope_{symbol}.csv"}, str(tmp_path)).bars("EUR/USD", "1h")
    frame = pd.read_csv(shared_data / "EURUSD_H1.csv").iloc[:50]
    frame.iloc[10, 2], frame.iloc[10, 3] = frame.iloc[10, 3], frame.iloc[10, 2] * 1.01
    pd.concat([frame, frame.iloc[[20]]]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError) as bad:
        CsvMarketDataSource(tmp_path / "bad.csv").bars("EUR/USD", "1h")
    assert "high < low" in str(bad.value) and "not sorted" in str(bad.value)
    assert "duplicate timestamps" in str(bad.value)


# --- SQL candles ----------------------------------------------------------------------------


def write_candles(url: str, shared_data: Path, *, epoch: bool = False) -> pd.DataFrame:
    """A host-style candles table with EUR/USD (as EURUSD) and a second symbol."""
    bars = CsvMarketDataSource(shared_data / "EURUSD_H1.csv").bars("EUR/USD", "1h").iloc[:600]
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    time_type: sa.types.TypeEngine[object] = (
        sa.BigInteger() if epoch else sa.DateTime(timezone=engine.dialect.name == "postgresql")
    )
    table = sa.Table(
        "Candles",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("Ticker", sa.String(16)),
        sa.Column("ts", time_type),
        *(sa.Column(c.upper(), sa.Float) for c in ("open", "high", "low", "close", "volume")),
    )
    meta.create_all(engine)
    rows = []
    for symbol, factor in (("EURUSD", 1.0), ("GBPUSD", 1.2)):
        for stamp, values in zip(bars.index, bars.to_numpy(), strict=True):
            when = stamp.value // 10**9 if epoch else stamp.to_pydatetime()
            if not epoch and engine.dialect.name != "postgresql":
                when = stamp.tz_localize(None).to_pydatetime()
            rows.append(
                {"Ticker": symbol, "ts": when}
                | dict(zip(("OPEN", "HIGH", "LOW", "CLOSE"), values[:4] * factor, strict=True))
                | {"VOLUME": values[4]}
            )
    rows.reverse()  # stored out of order: the query sorts
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    engine.dispose()
    return bars


def sql_spec(url: str) -> dict[str, object]:
    return {
        "source": "sql",
        "url": url,
        "table": "Candles",
        "symbol_column": "ticker",
        "columns": {"timestamp": "ts"},
    }


def check_sql_source(url: str, shared_data: Path, base_dir: str) -> None:
    bars = write_candles(url, shared_data)
    source = FACTORIES["sql"](sql_spec(url), base_dir)
    got = source.bars("EUR/USD", "1h")  # EURUSD in the table matches EUR/USD
    assert fingerprint(got) == fingerprint(bars)
    end = bars.index[300]
    cut = source.bars("EUR/USD", "4h", start=bars.index[100], end=end)
    # cut before resampling: the edge 4h bars hold only the hours inside [start, end]
    assert cut.index[0] == bars.index[100].floor("4h") and cut.index[-1] <= end
    assert cut["volume"].sum() == bars["volume"].iloc[100:301].sum()
    with pytest.raises(DataError, match="no candles of 'USD/JPY'"):
        source.bars("USD/JPY", "1h")
    with pytest.raises(DataError, match=r"data.columns.timestamp: no column 'when'"):
        FACTORIES["sql"]({**sql_spec(url), "columns": {"timestamp": "when"}}, base_dir).bars(
            "EUR/USD", "1h"
        )


def test_sql_candles_on_sqlite(tmp_path: Path, shared_data: Path) -> None:
    url = f"sqlite:///{tmp_path / 'host.db'}"
    check_sql_source(url, shared_data, str(tmp_path))
    relative = FACTORIES["sql"]({**sql_spec("sqlite:///host.db")}, str(tmp_path))
    assert len(relative.bars("EUR/USD", "1h")) == 600  # relative to the grid file's folder
    with pytest.raises(DataError, match="no table 'nope'"):
        FACTORIES["sql"]({**sql_spec(url), "table": "nope"}, str(tmp_path)).bars("EUR/USD", "1h")


def test_sql_candles_with_epoch_seconds(tmp_path: Path, shared_data: Path) -> None:
    url = f"sqlite:///{tmp_path / 'epoch.db'}"
    bars = write_candles(url, shared_data, epoch=True)
    source = FACTORIES["sql"]({**sql_spec(url), "epoch_unit": "s"}, str(tmp_path))
    assert fingerprint(source.bars("EURUSD", "1h")) == fingerprint(bars)
    cut = source.bars("EURUSD", "1h", end=bars.index[99].to_pydatetime())
    assert len(cut) == 100


def test_sql_candles_on_postgresql(pg_url: str, shared_data: Path, tmp_path: Path) -> None:
    check_sql_source(pg_url, shared_data, str(tmp_path))


# --- synthetic ------------------------------------------------------------------------------


def test_synthetic_source_is_seeded_and_knows_its_regimes() -> None:
    source = FACTORIES["synthetic"]({"source": "synthetic", "bars": 2000, "seed": 4}, ".")
    bars = source.bars("ANY", "1h")
    assert len(bars) == 2000 and len(source.labels) == 2000  # type: ignore[attr-defined]
    assert source.labels.index.equals(bars.index)  # type: ignore[attr-defined]
    again = FACTORIES["synthetic"]({"bars": 2000, "seed": 4}, ".").bars("X", "1h")
    assert fingerprint(again) == fingerprint(bars)
    assert len(source.bars("ANY", "4h")) == 500
    with pytest.raises(ConfigError, match=r"data.path: unknown key"):
        FACTORIES["synthetic"]({"bars": 10, "path": "x.csv"}, ".")
    with pytest.raises(ConfigError, match=r"data.bars: -1 is not a positive integer"):
        FACTORIES["synthetic"]({"bars": -1}, ".")
