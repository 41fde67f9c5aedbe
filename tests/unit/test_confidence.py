"""Confidence: vectorised erf against math.erf, trailing windows, causality, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.confidence import (
    TrailingScale,
    confidence,
    erf,
    trailing_mean_square,
    z_scores,
    z_threshold,
)


def test_erf_matches_math_erf_everywhere() -> None:
    x = np.concatenate([np.linspace(-10, 10, 200_001), np.geomspace(1e-300, 10, 5000)])
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - expected)) < 1e-13
    assert np.max(np.abs(erf(-x) + expected)) < 1e-13


@given(st.floats(allow_nan=False, allow_infinity=True))
def test_erf_of_any_float(x: float) -> None:
    assert float(erf(np.array([x]))[0]) == pytest.approx(math.erf(x), abs=1e-13)


def test_erf_edges() -> None:
    out = erf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 40.0]))
    assert out[0] == 0.0 and out[1] == 0.0 and out[2] == 1.0 and out[3] == -1.0
    assert math.isnan(out[4]) and out[5] == 1.0
    assert erf(np.zeros((2, 3))).shape == (2, 3)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=80), st.integers(1, 30))
def test_trailing_mean_square_equals_explicit_windows(xs: list[float], lookback: int) -> None:
    x = np.array(xs)
    mean_square, counts = trailing_mean_square(x, lookback)
    for t in range(len(xs)):
        window = x[max(0, t - lookback + 1) : t + 1]
        assert counts[t] == len(window)
        assert mean_square[t] == pytest.approx(np.mean(window**2), rel=1e-9, abs=1e-9)


def test_confidence_by_hand() -> None:
    f = np.array([1.0, -1.0, 2.0, 0.0, 3.0])
    z = z_scores(f, lookback=2)
    # t=0: one bar -> 0; t=1: rms(1,1)=1; t=2: rms(1,2)=sqrt(2.5); t=3: f=0; t=4: rms(0,3)
    np.testing.assert_allclose(z, [0.0, 1.0, 2 / math.sqrt(2.5), 0.0, 3 / math.sqrt(4.5)])
    conf = confidence(f, lookback=2)
    np.testing.assert_allclose(conf, [math.erf(v / math.sqrt(2)) for v in z], atol=1e-14)
    # the expanding window before L bars: t=2 with lookback 10 uses bars 0..2
    assert z_scores(f, 10)[2] == pytest.approx(2 / math.sqrt(2.0))


def test_own_spread_and_its_zero_edge() -> None:
    f = np.array([0.5, 1.0, -2.0, 0.0])
    spread = np.array([1.0, 1.0, 3.0, 0.0])
    np.testing.assert_allclose(z_scores(f, 2, spread), [0.0, 1.0, 2 / math.sqrt(5.0), 0.0])
    zero = z_scores(np.array([1.0, 1.0, 0.0]), 3, np.zeros(3))
    assert zero[1] == np.inf and zero[2] == 0.0
    assert confidence(np.array([1.0, 1.0]), 3, np.zeros(2))[1] == 1.0


def test_non_finite_forecasts_have_zero_confidence_and_bad_lookback_is_refused() -> None:
    conf = confidence(np.array([1.0, np.nan, np.inf, 1.0]), 3)
    assert conf[1] == 0.0 and conf[2] == 0.0 and 0 < conf[3] < 1
    with pytest.raises(ValueError, match="lookback"):
        confidence(np.ones(3), 0)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 120), st.integers(1, 60), st.booleans())
def test_confidence_is_causal_and_in_range(seed: int, n: int, lookback: int, spread: bool) -> None:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    s = rng.uniform(0.1, 2, n) if spread else None
    full = confidence(f, lookback, s)
    assert np.all((full >= 0) & (full <= 1))
    t = int(rng.integers(0, n))
    prefix = confidence(f[: t + 1], lookback, None if s is None else s[: t + 1])
    np.testing.assert_array_equal(full[: t + 1], prefix)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 12.0))
def test_z_threshold_decides_exactly_like_the_confidence(threshold: float, z: float) -> None:
    z_star = z_threshold(threshold)
    assert (math.erf(z / math.sqrt(2)) >= threshold) == (z >= z_star)
    below = float(np.nextafter(z_star, 0.0))
    assert z_star == 0.0 or math.erf(below / math.sqrt(2)) < threshold


def test_z_threshold_edges() -> None:
    assert z_threshold(0.0) == 0.0 and z_threshold(-1.0) == 0.0
    assert z_threshold(1.5) == math.inf
    assert 8 < z_threshold(1.0) < 9  # where math.erf rounds to exactly 1.0
    assert z_threshold(0.5) == pytest.approx(0.6744897501960817)


def test_trailing_scale_serves_every_lookback() -> None:
    rng = np.random.default_rng(3)
    f, s = rng.normal(size=50), rng.uniform(0.5, 1.5, 50)
    scale = TrailingScale.of(f, s)
    for lookback in (1, 2, 7, 50, 80):
        np.testing.assert_array_equal(scale.z(lookback), z_scores(f, lookback, s))
