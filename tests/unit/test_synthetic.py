"""The seeded synthetic regime-switching generator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.synthetic import AR_PHI, generate_regime_bars


def test_same_seed_same_bars_and_different_seed_different_bars() -> None:
    a, b = generate_regime_bars(2000, 7), generate_regime_bars(2000, 7)
    pd.testing.assert_frame_equal(a.bars, b.bars)
    assert (a.labels == b.labels).all()
    assert not np.allclose(a.bars["close"], generate_regime_bars(2000, 8).bars["close"])


def test_bars_are_contiguous_utc_ohlcv_with_one_known_label_each() -> None:
    data = generate_regime_bars(5000, 1, timeframe="4h", start="2021-03-01")
    bars = data.bars
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert str(bars.index.tz) == "UTC" and bars.index[0] == pd.Timestamp("2021-03-01", tz="UTC")
    assert (bars.index.to_series().diff().dropna() == pd.Timedelta("4h")).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars[["open", "high", "low", "close", "volume"]] > 0).all().all()
    assert len(data.labels) == 5000 and set(data.labels) <= set(DEFAULT_REGIMES)


def test_regimes_persist_and_have_their_dynamics() -> None:
    data = generate_regime_bars(100_000, 3)
    labels = data.labels
    changes = int((labels[1:] != labels[:-1]).sum())
    assert 100_000 / (changes + 1) > 150  # a few hundred bars per regime on average
    returns = np.diff(np.log(data.bars["close"].to_numpy()), prepend=np.log(1.10))
    stats = {n: (returns[labels == n].mean(), returns[labels == n].std()) for n in DEFAULT_REGIMES}
    assert stats["bull_trending"][0] > 0 > stats["bear_trending"][0]
    assert stats["volatile_ranging"][1] > stats["bull_trending"][1] > stats["calm_ranging"][1]
    assert abs(stats["calm_ranging"][0]) < 0.2 * stats["calm_ranging"][1]


def test_within_regime_noise_has_the_planted_ar1_coefficient() -> None:
    data = generate_regime_bars(200_000, 5)
    returns = np.diff(np.log(data.bars["close"].to_numpy()), prepend=np.log(1.10))
    calm = data.labels == "calm_ranging"
    both = calm[1:] & calm[:-1]
    x, y = returns[:-1][both], returns[1:][both]
    assert abs(np.corrcoef(x, y)[0, 1] - AR_PHI) < 0.03
