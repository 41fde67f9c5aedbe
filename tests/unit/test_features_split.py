"""Targets, the purged chronological split and train-only scaling of ``FeaturePipeline.prepare``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.errors import ConfigError, DataError
from regimeforge.domain.feature_prep import forward_log_returns, purged_split, scale
from regimeforge.domain.features import FeaturePipeline
from regimeforge.domain.synthetic import generate_regime_bars
from regimeforge.plugins.builtin.indicators import register_indicators

BARS = generate_regime_bars(1500, 5).bars
PIPELINE = FeaturePipeline({d.name: d for d in register_indicators()})
CATALOG = ConfigCatalog(
    model_types={"ridge": {}}, encoders={"none": {}}, indicators=BUILTIN_INDICATORS
)


def config(**overrides: object) -> ModelConfig:
    data: dict[str, object] = {
        "model_type": "ridge",
        "symbol": "EUR/USD",
        "base_timeframe": "1h",
        "days_history": 365,
        "horizon": 6,
        "indicator_tfs": {"rsi": ["1h", "4h"], "macd": ["1h"]},
        "additional_features": {"returns_volatility": True, "trading_sessions": True},
        "seed": 17,
    }
    data.update(overrides)
    return ModelConfig.from_mapping(data, CATALOG)


def test_segments_are_chronological_with_purge_gaps_of_horizon_bars() -> None:
    data = PIPELINE.prepare(BARS, config())
    h = data.horizon
    assert data.train.start == 0 and data.test.stop == data.n_bars
    assert data.validation.start - data.train.stop == h
    assert data.test.start - data.validation.stop == h
    assert data.train.stop == int(data.n_bars * 0.6)
    assert data.validation.stop == int(data.n_bars * 0.8)
    # no train target reaches a bar of the validation segment
    last_train_target_bar = data.train.stop - 1 + h
    assert last_train_target_bar < data.validation.start
    assert data.seed == 17 and data.features.dtype == np.float64
    assert data.features.flags["C_CONTIGUOUS"]


def test_targets_are_the_next_horizon_one_bar_log_returns() -> None:
    data = PIPELINE.prepare(BARS, config())
    close = BARS["close"]
    for row in (0, 100, data.n_bars - 7):
        t = BARS.index.get_loc(data.index[row])
        expected = [np.log(close.iloc[t + j] / close.iloc[t + j - 1]) for j in range(1, 7)]
        np.testing.assert_allclose(data.targets[row], expected, rtol=1e-12)
    assert np.array_equal(data.close, close.loc[data.index].to_numpy())
    # the last horizon rows of the test segment do not know their future (documented)
    nan_rows = np.isnan(data.targets).any(axis=1)
    assert nan_rows[-6:].all() and not nan_rows[:-6].any()
    assert np.isnan(data.targets[-1]).all() and np.isnan(data.targets[-6]).sum() == 1
    assert not np.isnan(data.targets[data.train]).any()
    assert not np.isnan(data.targets[data.validation]).any()


def test_forward_log_returns_pad_the_unknown_future_with_nan() -> None:
    close = np.array([1.0, 2.0, 4.0, 2.0])
    out = forward_log_returns(close, 2)
    expected = np.log([[2.0, 2.0], [2.0, 0.5], [0.5, np.nan], [np.nan, np.nan]])
    np.testing.assert_allclose(out, expected)


def test_standard_scaling_uses_train_statistics_only() -> None:
    data = PIPELINE.prepare(BARS, config())
    train = data.features[data.train]
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-9)
    varying = train.std(axis=0) > 0
    np.testing.assert_allclose(train.std(axis=0)[varying], 1.0, rtol=1e-9)
    # changing only test-segment bars changes no scaled train feature
    later = BARS.copy()
    cut = BARS.index.get_loc(data.index[data.test.start + 20])
    later.iloc[cut:, :4] = later.iloc[cut:, :4].to_numpy() * 1.7
    changed = PIPELINE.prepare(later, config())
    np.testing.assert_array_equal(changed.features[data.train], train)
    assert not np.allclose(changed.features[data.test], data.features[data.test])


def test_robust_scaling_centres_train_medians_and_none_keeps_values() -> None:
    robust = PIPELINE.prepare(BARS, config(preprocessing={"scaling": "robust"}))
    np.testing.assert_allclose(np.median(robust.features[robust.train], axis=0), 0.0, atol=1e-9)
    raw = PIPELINE.prepare(BARS, config(preprocessing={"scaling": "none"}))
    lag0 = raw.feature_names.index("ret_lag_0")
    t = BARS.index.get_loc(raw.index[10])
    expected = np.log(BARS["close"].iloc[t] / BARS["close"].iloc[t - 1])
    assert raw.features[10, lag0] == pytest.approx(expected, rel=1e-12)


def test_lagged_returns_are_always_there_and_groups_follow_their_flags() -> None:
    bare = PIPELINE.prepare(BARS, config(indicator_tfs={}, additional_features={}))
    assert bare.feature_names == tuple(f"ret_lag_{k}" for k in range(5))
    full = PIPELINE.prepare(BARS, config())
    names = set(full.feature_names)
    assert {"rsi_1h", "rsi_4h", "macd_hist_1h", "rv_realized", "session_london"} <= names
    assert not any(n.startswith(("candle_", "vp_", "vsa_")) for n in names)


def test_warm_up_rows_are_dropped() -> None:
    data = PIPELINE.prepare(BARS, config(preprocessing={"warmup_bars": 200}))
    assert data.index[0] == BARS.index[200]
    # rsi on 4h needs 28 4h bars (+ the first close): 28*4 + 3 = 115 < 200; the config wins
    assert PIPELINE.warmup_for(config(preprocessing={"warmup_bars": 10})) == 115


def test_an_unknown_indicator_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"indicator_tfs\.rsi: no such indicator is loaded"):
        FeaturePipeline({}).prepare(BARS, config())


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(60, 5000),
    horizon=st.integers(1, 12),
    train=st.floats(0.3, 0.7),
    validation=st.floats(0.1, 0.25),
)
def test_purged_split_property(n: int, horizon: int, train: float, validation: float) -> None:
    try:
        tr, va, te = purged_split(n, horizon, train, validation)
    except DataError as exc:
        assert "too few rows" in str(exc)
        return
    assert tr.start == 0 and te.stop == n
    assert va.start == tr.stop + horizon and te.start == va.stop + horizon
    assert min(tr.stop - tr.start, va.stop - va.start, te.stop - te.start) >= 10


def test_scale_keeps_constant_columns_finite() -> None:
    values = np.column_stack([np.ones(20), np.arange(20.0)])
    out = scale(values, slice(0, 10), "standard")
    assert np.isfinite(out).all() and (out[:, 0] == 0).all()
