"""Bars: every bad-data case is refused with a message naming the problem and a fix; resampling,
windows, timeframe inference and the data fingerprint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.errors import DataError
from regimeforge.domain.features import FeaturePipeline
from regimeforge.domain.marketdata import (
    check_enough_bars,
    fingerprint,
    infer_timeframe,
    resample_bars,
    select_window,
    validate_bars,
)
from regimeforge.domain.synthetic import generate_regime_bars


def raw_bars(n: int = 8, start: str = "2024-01-01 00:00") -> pd.DataFrame:
    """Hourly bars with file-style column names and a naive index."""
    close = 1.0 + 0.01 * np.arange(n)
    return pd.DataFrame(
        {
            "Open": close - 0.005,
            "High": close + 0.01,
            "Low": close - 0.01,
            "Close": close,
            "Volume": np.full(n, 100.0),
        },
        index=pd.date_range(start, periods=n, freq="1h", unit="us"),
    )


def refused(frame: pd.DataFrame) -> DataError:
    with pytest.raises(DataError) as info:
        validate_bars(frame)
    return info.value


def test_good_bars_are_normalised_to_lower_case_utc_nanoseconds() -> None:
    bars = validate_bars(raw_bars())
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert str(bars.index.dtype) == "datetime64[ns, UTC]"
    assert bars.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert all(str(t) == "float64" for t in bars.dtypes)


def test_unsorted_timestamps_are_refused_with_the_fix() -> None:
    frame = raw_bars().iloc[[0, 2, 1, 3]]
    error = refused(frame)
    assert "not sorted" in str(error) and "sort the rows by time" in str(error)


def test_duplicate_timestamps_are_refused_naming_the_first() -> None:
    frame = raw_bars()
    frame.index = frame.index[[0, 1, 2, 2, 4, 5, 6, 7]]
    error = refused(frame)
    assert "1 duplicate timestamps (first 2024-01-01 02:00:00+00:00)" in str(error)
    assert "one bar per timestamp" in str(error)


def test_non_positive_prices_are_refused_per_column() -> None:
    frame = raw_bars()
    frame.iloc[3, frame.columns.get_loc("Close")] = 0.0
    frame.iloc[5, frame.columns.get_loc("Low")] = -1.0
    error = refused(frame)
    paths = {p.path for p in error.problems}
    assert {"close", "low"} <= paths
    assert "non-positive prices" in str(error) and "prices must be > 0" in str(error)


def test_high_below_low_is_refused() -> None:
    frame = raw_bars()
    frame.iloc[4, frame.columns.get_loc("High")] = 0.5
    error = refused(frame)
    assert "high < low in 1 bars (first 2024-01-01 04:00:00+00:00)" in str(error)
    assert "swapped" in str(error)


def test_missing_columns_are_named_with_what_was_found() -> None:
    error = refused(raw_bars().drop(columns=["Volume", "High"]))
    text = str(error)
    assert "missing high, volume" in text and "found: Open, Low, Close" in text
    assert "columns: {close: Last}" in text


def test_missing_values_and_negative_volume_are_refused() -> None:
    frame = raw_bars()
    frame.iloc[2, frame.columns.get_loc("Open")] = np.nan
    frame.iloc[6, frame.columns.get_loc("Volume")] = -5.0
    error = refused(frame)
    assert "missing or non-numeric values" in str(error) and "negative volumes" in str(error)


def test_every_problem_is_reported_at_once() -> None:
    frame = raw_bars()
    frame.iloc[1, frame.columns.get_loc("Close")] = -1.0
    frame.iloc[4, frame.columns.get_loc("High")] = 0.1
    frame.index = frame.index[[0, 1, 2, 3, 4, 4, 6, 7]]
    error = refused(frame)
    assert len(error.problems) == 3 and all(p.fix for p in error.problems)


def test_too_few_bars_for_warmup_horizon_and_split() -> None:
    config = _config(horizon=10, warmup=64)
    with pytest.raises(DataError) as info:
        check_enough_bars(100, config)
    text = str(info.value)
    assert "100 bars of EUR/USD 1h are too few" in text and "need 134" in text
    assert "raise days_history" in text
    check_enough_bars(134, config)  # exactly enough passes
    bars = generate_regime_bars(120, 1).bars
    with pytest.raises(DataError, match="too few"):
        FeaturePipeline({}).prepare(bars, config)


def test_coverage_below_min_coverage_is_refused_naming_the_sparse_column() -> None:
    def sparse(bars: pd.DataFrame) -> pd.DataFrame:
        values = np.where(np.arange(len(bars)) % 2 == 0, 1.0, np.nan)
        return pd.DataFrame({"sparse": values}, index=bars.index)

    config = _config(indicators={"sparse": ["1h"]}, min_coverage=0.95)
    bars = generate_regime_bars(800, 2).bars
    with pytest.raises(DataError) as info:
        FeaturePipeline({"sparse": sparse}).prepare(bars, config)
    text = str(info.value)
    assert "below min_coverage 95%" in text and "sparse_1h 50%" in text
    lenient = _config(indicators={"sparse": ["1h"]}, min_coverage=0.5)
    data = FeaturePipeline({"sparse": sparse}).prepare(bars, lenient)
    assert not np.isnan(data.features).any()  # filled forward, never backward


def _config(
    *,
    horizon: int = 5,
    warmup: int = 64,
    indicators: dict[str, list[str]] | None = None,
    min_coverage: float = 0.9,
) -> ModelConfig:
    from regimeforge.domain.catalog import ConfigCatalog

    names = set(indicators or {})
    catalog = ConfigCatalog(model_types={"ridge": {}}, encoders={"none": {}}, indicators=names)
    return ModelConfig.from_mapping(
        {
            "model_type": "ridge",
            "symbol": "EUR/USD",
            "base_timeframe": "1h",
            "days_history": 365,
            "horizon": horizon,
            "indicator_tfs": indicators or {},
            "preprocessing": {"warmup_bars": warmup, "min_coverage": min_coverage},
        },
        catalog,
    )


# --- resampling, windows, inference, fingerprint --------------------------------------------


def test_resampling_aggregates_ohlcv_left_labelled() -> None:
    bars = validate_bars(raw_bars(8))
    four = resample_bars(bars, "4h")
    assert list(four.index.hour) == [0, 4]
    first = bars.iloc[:4]
    row = four.iloc[0]
    assert row["open"] == first["open"].iloc[0] and row["close"] == first["close"].iloc[-1]
    assert row["high"] == first["high"].max() and row["low"] == first["low"].min()
    assert row["volume"] == first["volume"].sum()


def test_resampling_drops_empty_bins_and_refuses_finer_timeframes() -> None:
    bars = validate_bars(pd.concat([raw_bars(4), raw_bars(4, "2024-01-01 12:00")]))
    assert list(resample_bars(bars, "4h").index.hour) == [0, 12]  # no empty 04:00, 08:00 bars
    with pytest.raises(DataError, match="cannot make 15m bars from 1h data"):
        resample_bars(bars, "15m")
    assert resample_bars(bars, "1h") is bars


def test_infer_timeframe_ignores_weekend_gaps() -> None:
    index = pd.date_range("2024-01-05 20:00", periods=4, freq="1h").append(
        pd.date_range("2024-01-07 22:00", periods=4, freq="1h")
    )
    bars = validate_bars(raw_bars(8).set_axis(index))
    assert infer_timeframe(bars) == "1h"
    assert infer_timeframe(bars.iloc[:1]) is None
    odd = validate_bars(raw_bars(4).set_axis(pd.date_range("2024-01-01", periods=4, freq="7min")))
    assert infer_timeframe(odd) is None


def test_select_window_ends_at_as_of_and_keeps_days_history() -> None:
    bars = generate_regime_bars(24 * 10, 1).bars
    last_two_days = select_window(bars, 2)
    assert len(last_two_days) == 48 and last_two_days.index[-1] == bars.index[-1]
    as_of = pd.Timestamp("2020-01-05 12:00")  # naive means UTC
    window = select_window(bars, 1, as_of)
    assert window.index[-1] == as_of.tz_localize("UTC") and len(window) == 24
    assert select_window(bars, 1, end=as_of).equals(window)


def test_fingerprint_follows_the_exact_bars_and_not_the_index_unit() -> None:
    bars = validate_bars(raw_bars(6))
    same = bars.copy()
    same.index = same.index.as_unit("us")
    assert fingerprint(bars) == fingerprint(same)
    assert len(fingerprint(bars)) == 64
    changed = bars.copy()
    changed.iloc[3, 2] *= 1.0000001
    assert fingerprint(changed) != fingerprint(bars)
    assert fingerprint(bars.iloc[1:]) != fingerprint(bars)


@settings(max_examples=30, deadline=None)
@given(st.integers(30, 300), st.integers(0, 10_000), st.sampled_from(["4h", "1d"]))
def test_resampled_bars_are_consistent_bars(n: int, seed: int, timeframe: str) -> None:
    bars = generate_regime_bars(n, seed).bars
    coarse = validate_bars(resample_bars(bars, timeframe))  # still valid bars
    assert coarse["volume"].sum() == pytest.approx(bars["volume"].sum())
    assert coarse["high"].max() == bars["high"].max() and coarse["low"].min() == bars["low"].min()
    assert coarse["close"].iloc[-1] == bars["close"].iloc[-1]
