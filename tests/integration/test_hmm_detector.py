"""The HMM detector (real hmmlearn): forward filtering only, stable labels across refits."""

from __future__ import annotations

import numpy as np
import pytest

from regimeforge.domain.synthetic import generate_regime_bars

pytest.importorskip("hmmlearn", reason="the HMM detector needs the hmm extra")

from regimeforge.plugins.builtin.hmm_detector import (
    HmmRegimeDetector,
    forward_filter,
)


def test_labels_at_t_ignore_bars_after_t_given_the_same_fitted_parameters() -> None:
    bars = generate_regime_bars(3000, 4).bars
    detector = HmmRegimeDetector()
    model, center, scale = detector.fit(bars)
    full = detector.label_with(bars, model, center, scale)
    cut = 2000
    changed = bars.copy()
    changed.iloc[cut:, changed.columns.get_loc("close")] *= np.exp(
        np.random.default_rng(0).normal(0, 0.02, len(bars) - cut)
    )
    partial = detector.label_with(changed, model, center, scale)
    assert (full[:cut] == partial[:cut]).all()
    assert (full[cut:] != partial[cut:]).any()


def test_forward_filter_is_a_filter_not_a_smoother() -> None:
    rng = np.random.default_rng(1)
    loglik = rng.normal(size=(50, 3))
    start, trans = np.full(3, 1 / 3), np.full((3, 3), 0.1) + np.eye(3) * 0.7
    head = forward_filter(loglik[:20], start, trans)
    assert np.allclose(forward_filter(loglik, start, trans)[:20], head)
    assert np.allclose(head.sum(axis=1), 1.0)


def test_refits_are_stable_and_accurate_on_synthetic_data() -> None:
    data = generate_regime_bars(20_000, 6)
    first = HmmRegimeDetector(seed=0).detect(data.bars, [])
    assert (first == HmmRegimeDetector(seed=0).detect(data.bars, [])).all()
    other = HmmRegimeDetector(seed=1).detect(data.bars, [])
    assert (first[20:] == other[20:]).mean() > 0.99  # deterministic starting point
    assert (first[20:] == data.labels[20:]).mean() > 0.7
