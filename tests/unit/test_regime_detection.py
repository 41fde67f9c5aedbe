"""The rule regime detector: one label per bar after warm-up, causality, accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.errors import ConfigError
from regimeforge.domain.regime_detection import RuleRegimeDetector, compute_indicators
from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS, RegimeDefinition
from regimeforge.domain.synthetic import generate_regime_bars

SMALL = RuleRegimeDetector(rv_window=5, trend_window=10, percentile_window=30)


def _bars(close: np.ndarray) -> pd.DataFrame:
    index = pd.date_range("2020-01-01", periods=close.size, freq="1h", tz="UTC")
    return pd.DataFrame({"close": close}, index=index)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-0.05, 0.05, allow_nan=False), min_size=1, max_size=120),
    st.sampled_from([0.0, 1e-9]),
)
def test_default_definitions_label_every_bar_after_warmup_exactly_once(
    returns: list[float], flat: float
) -> None:
    close = 100 * np.exp(np.cumsum(np.asarray(returns) * (flat == 0.0)))
    labels = SMALL.detect(_bars(close), DEFAULT_REGIME_DEFINITIONS)
    assert labels.shape == close.shape
    assert (labels[: SMALL.warmup] == "").all()
    names = {d.name for d in DEFAULT_REGIME_DEFINITIONS}
    assert all(label in names for label in labels[SMALL.warmup :])


def test_indicators_are_bounded_and_causal() -> None:
    close = generate_regime_bars(2000, 4).bars["close"].to_numpy()
    full = compute_indicators(close)
    cut = 1200
    changed = close.copy()
    changed[cut:] *= np.exp(np.random.default_rng(1).standard_normal(2000 - cut) * 0.05)
    partial = compute_indicators(changed)
    strength = full["trend_strength"][~np.isnan(full["trend_strength"])]
    assert ((strength >= 0) & (strength <= 1)).all()
    for name, values in full.items():
        np.testing.assert_array_equal(values[:cut], partial[name][:cut], err_msg=name)
    detector = RuleRegimeDetector()
    a = detector.detect(_bars(close), DEFAULT_REGIME_DEFINITIONS)
    b = detector.detect(_bars(changed), DEFAULT_REGIME_DEFINITIONS)
    assert (a[:cut] == b[:cut]).all() and (a[cut:] != b[cut:]).any()


def test_accuracy_on_synthetic_data_is_at_least_90_percent() -> None:
    data = generate_regime_bars(60_000, 11)
    detector = RuleRegimeDetector()
    labels = detector.detect(data.bars, DEFAULT_REGIME_DEFINITIONS)
    accuracy = (labels[detector.warmup :] == data.labels[detector.warmup :]).mean()
    assert accuracy >= 0.9


def test_priority_order_and_inactive_regimes() -> None:
    close = 100 * np.exp(np.cumsum(np.full(100, 0.01)))
    everything = RegimeDefinition("anything", {"trend_strength": ">= 0"}, priority=50)
    uptrend = RegimeDefinition("up", {"signed_return": "> 0"}, priority=60)
    assert set(SMALL.detect(_bars(close), [uptrend, everything])[SMALL.warmup :]) == {"anything"}
    off = attrs_evolve(everything, is_active=False)
    assert set(SMALL.detect(_bars(close), [uptrend, off])[SMALL.warmup :]) == {"up"}


def attrs_evolve(regime: RegimeDefinition, **changes: object) -> RegimeDefinition:
    import attrs

    return attrs.evolve(regime, **changes)


def test_bad_rules_and_unknown_indicators_are_all_reported() -> None:
    bad = RegimeDefinition("odd", {"trend_strength": "> 0.5 x", "moon_phase": "> 1"})
    with pytest.raises(ConfigError) as info:
        SMALL.detect(_bars(np.linspace(1, 2, 50)), [bad])
    text = str(info.value)
    assert "odd.trend_strength" in text and "character 7" in text and "moon_phase" in text
