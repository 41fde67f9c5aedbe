"""No look-ahead: changing any bar after t changes no feature at t.

Covers every built-in indicator on the base timeframe and on higher timeframes (4h and 1d over
hourly bars), the five feature groups and the lagged returns, both on the raw feature frame and
through ``prepare`` (scaling none). A deliberately leaky indicator shows the check can fail.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.catalog import ADDITIONAL_FEATURES, BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.features import FeaturePipeline, align_higher_timeframe
from regimeforge.domain.forecasts import PreparedData
from regimeforge.domain.synthetic import generate_regime_bars
from regimeforge.plugins.builtin.indicators import register_indicators

N_BARS = 900
BARS = generate_regime_bars(N_BARS, 11).bars
PIPELINE = FeaturePipeline({d.name: d for d in register_indicators()})


def config(tfs: list[str], indicators: frozenset[str] = BUILTIN_INDICATORS) -> ModelConfig:
    catalog = ConfigCatalog(model_types={"ridge": {}}, encoders={"none": {}}, indicators=indicators)
    return ModelConfig.from_mapping(
        {
            "model_type": "ridge",
            "symbol": "EUR/USD",
            "base_timeframe": "1h",
            "days_history": 365,
            "horizon": 4,
            "indicator_tfs": {name: tfs for name in indicators},
            "additional_features": dict.fromkeys(ADDITIONAL_FEATURES, True),
            "preprocessing": {"scaling": "none", "warmup_bars": 0, "min_coverage": 0.0},
        },
        catalog,
    )


ALL_TFS = config(["1h", "4h", "1d"])
PREPARE_TFS = config(["1h", "4h"])


@functools.cache
def unperturbed(kind: str) -> pd.DataFrame:
    """Features of the unchanged bars (computed once for every example)."""
    if kind == "raw":
        return PIPELINE.raw_features(BARS, ALL_TFS)
    data = PIPELINE.prepare(BARS, PREPARE_TFS)
    return as_frame(data)


def as_frame(data: PreparedData) -> pd.DataFrame:
    return pd.DataFrame(data.features, index=data.index, columns=data.feature_names)


def perturb(bars: pd.DataFrame, t: int, seed: int, how: str) -> pd.DataFrame:
    """Bars with everything after position ``t`` changed (and still valid bars)."""
    out = bars.copy()
    rng = np.random.default_rng(seed)
    tail = slice(t + 1, None)
    if how == "scale":  # a jump of the whole future path and random volumes
        out.iloc[tail, :4] = out.iloc[tail, :4].to_numpy() * rng.uniform(0.5, 2.0)
        out.iloc[tail, 4] = rng.uniform(0, 5000, len(out) - t - 1)
    else:  # replace the future with a different synthetic path at the same price level
        other = generate_regime_bars(len(out), seed + 1).bars.to_numpy()
        level = out["close"].iloc[t] / other[t + 1, 3]
        prices = other[t + 1 :, :4] * level
        out.iloc[tail, :4] = prices
        out.iloc[tail, 4] = other[t + 1 :, 4]
    return out


def assert_same_up_to(a: pd.DataFrame, b: pd.DataFrame, t_time: pd.Timestamp) -> None:
    left, right = a[a.index <= t_time], b[b.index <= t_time]
    assert left.shape == right.shape and len(left) > 0
    diff = ~np.isclose(left.to_numpy(), right.to_numpy(), rtol=0, atol=0, equal_nan=True)
    if diff.any():
        rows, cols = np.nonzero(diff)
        raise AssertionError(
            f"look-ahead: {sorted({left.columns[c] for c in cols})} changed at "
            f"{left.index[rows[0]]} when bars after {t_time} changed"
        )


@settings(max_examples=25, deadline=None)
@given(
    t=st.integers(min_value=30, max_value=N_BARS - 2),
    seed=st.integers(0, 1000),
    how=st.sampled_from(["scale", "replace"]),
)
def test_no_raw_feature_at_t_depends_on_bars_after_t(t: int, seed: int, how: str) -> None:
    before = unperturbed("raw")
    after = PIPELINE.raw_features(perturb(BARS, t, seed, how), ALL_TFS)
    assert_same_up_to(before, after, BARS.index[t])
    assert len(before.columns) > 80  # every indicator x 3 timeframes and all five groups


@settings(max_examples=15, deadline=None)
@given(t=st.integers(min_value=200, max_value=N_BARS - 2), seed=st.integers(0, 1000))
def test_prepared_features_at_t_do_not_depend_on_bars_after_t(t: int, seed: int) -> None:
    after = PIPELINE.prepare(perturb(BARS, t, seed, "replace"), PREPARE_TFS)
    assert_same_up_to(unperturbed("prepared"), as_frame(after), BARS.index[t])


def test_a_leaky_indicator_is_caught() -> None:
    def leaky(bars: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"leaky": bars["close"].shift(-1)}, index=bars.index)

    cfg = config(["4h"], frozenset({"leaky"}))
    pipeline = FeaturePipeline({"leaky": leaky})
    t = 400
    before = pipeline.raw_features(BARS, cfg)
    after = pipeline.raw_features(perturb(BARS, t, 3, "scale"), cfg)
    with pytest.raises(AssertionError, match="look-ahead"):
        assert_same_up_to(before, after, BARS.index[t])


def test_a_higher_bar_is_seen_only_from_the_base_bar_that_closes_with_it() -> None:
    base = pd.date_range("2024-01-01 08:00", periods=9, freq="1h", tz="UTC")
    htf = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.DatetimeIndex(base[[0, 4]]))
    aligned = align_higher_timeframe(htf, "4h", base, "1h")["v"]
    # The 08:00 4h bar closes at 12:00: the 11:00 hourly bar (closing 12:00) is the first to see it.
    assert aligned.iloc[:3].isna().all()  # 08:00, 09:00, 10:00
    assert aligned.loc["2024-01-01 11:00"] == 1.0
    assert aligned.loc["2024-01-01 14:00"] == 1.0
    assert aligned.loc["2024-01-01 15:00"] == 2.0  # the 12:00 bar closes at 16:00


def test_the_last_unfinished_higher_bar_is_never_visible() -> None:
    bars = BARS.iloc[:103]  # ends at 06:00 on day 5: the 04:00 4h bar is still open
    values = PIPELINE.raw_features(bars, config(["4h"], frozenset({"rsi"})))["rsi_4h"]
    full = PIPELINE.raw_features(BARS, config(["4h"], frozenset({"rsi"})))["rsi_4h"]
    assert values.iloc[-1] == full.iloc[102]
    assert full.iloc[102] == full.iloc[100]  # still the 00:00 4h bar, closed at 04:00
