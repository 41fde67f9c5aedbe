"""A seeded generator of regime-switching OHLCV bars whose true regime is known.

Used by demos (the ``synthetic`` data source), tests and the detection-accuracy benchmark.

How the bars are made (all from one ``numpy.random.Generator`` seeded with ``seed``):

* **Regime path.** Trending phases (``bull_trending`` / ``bear_trending``) and ranging phases
  (``volatile_ranging`` / ``calm_ranging``) alternate, each lasting an explicit random number of
  bars (a semi-Markov chain): trends 350-850 bars (mean 600), ranges 120-240 bars (mean 180).
  Ranges are kept shorter than half of the detector's 500-bar percentile window so that a trailing
  volatility median always has other regimes to compare against, as in real markets where
  volatility clusters revert. Which range comes next is a fair coin; whether a trend is up or down
  leans against the distance of the price from ``start_price`` so that a million bars stay at
  sensible price levels.
* **Returns.** ``r_t = mu_regime + sigma_regime * x_t`` where ``x`` is a unit-variance AR(1)
  process with ``phi = AR_PHI`` (a small, learnable one-step autocorrelation). Trends drift by one
  sigma per bar (+ or -) with moderate sigma; volatile ranges have high sigma and no drift; calm
  ranges low sigma and no drift.
* **OHLCV.** Open is the previous close; high/low extend the body by a half-normal multiple of
  the regime's sigma; volume is lognormal and grows with sigma.
"""

from __future__ import annotations

from typing import Final

import attrs
import numpy as np
import pandas as pd

from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.timeframes import PANDAS_OFFSET

#: Lag-one autocorrelation of the standardised return noise (the signal models can learn).
AR_PHI: Final[float] = 0.08
#: Per-bar (drift, sigma) of each default regime, in the order of ``DEFAULT_REGIMES``.
REGIME_DYNAMICS: Final[dict[str, tuple[float, float]]] = {
    "bull_trending": (0.001, 0.001),
    "bear_trending": (-0.001, 0.001),
    "volatile_ranging": (0.0, 0.0022),
    "calm_ranging": (0.0, 0.0005),
}
#: Inclusive bounds of a phase's length in bars.
TREND_BARS: Final[tuple[int, int]] = (350, 850)
RANGE_BARS: Final[tuple[int, int]] = (120, 240)


@attrs.frozen
class SyntheticBars:
    """Generated bars and the true regime name of every bar (same length, same order)."""

    bars: pd.DataFrame
    labels: np.ndarray


def _regime_path(n_bars: int, rng: np.random.Generator, drifts: np.ndarray) -> np.ndarray:
    """Regime index per bar: alternating trend/range phases of random length."""
    states = np.empty(n_bars, dtype=np.int64)
    filled, trending, log_level = 0, bool(rng.integers(2)), 0.0
    while filled < n_bars:
        if trending:
            length = int(rng.integers(TREND_BARS[0], TREND_BARS[1] + 1))
            # Lean against the accumulated log-price move so the price level mean-reverts.
            p_bull = 1.0 / (1.0 + np.exp(4.0 * log_level))
            state = 0 if rng.random() < p_bull else 1
        else:
            length = int(rng.integers(RANGE_BARS[0], RANGE_BARS[1] + 1))
            state = 2 if rng.random() < 0.5 else 3
        length = min(length, n_bars - filled)
        states[filled : filled + length] = state
        log_level += drifts[state] * length
        filled += length
        trending = not trending
    return states


def _ar1(n_bars: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise with coefficient ``AR_PHI``.

    ``x_t = sum_k phi^k e_{t-k}``; phi^30 is below 1e-32, so a 30-tap filter is exact in floats.
    """
    shocks = rng.standard_normal(n_bars) * np.sqrt(1.0 - AR_PHI**2)
    taps = AR_PHI ** np.arange(30)
    return np.convolve(shocks, taps)[:n_bars]


def generate_regime_bars(
    n_bars: int,
    seed: int,
    *,
    timeframe: str = "1h",
    start: str = "2020-01-01",
    start_price: float = 1.10,
) -> SyntheticBars:
    """``n_bars`` contiguous UTC bars of ``timeframe`` from ``start``, and their true regimes.

    The same ``(n_bars, seed, timeframe, start, start_price)`` always gives the same bars.
    """
    if n_bars < 1:
        raise ValueError("n_bars must be at least 1")
    rng = np.random.default_rng(seed)
    names = np.array(DEFAULT_REGIMES)
    drifts = np.array([REGIME_DYNAMICS[n][0] for n in DEFAULT_REGIMES])
    sigmas = np.array([REGIME_DYNAMICS[n][1] for n in DEFAULT_REGIMES])
    states = _regime_path(n_bars, rng, drifts)
    mu, sigma = drifts[states], sigmas[states]
    returns = mu + sigma * _ar1(n_bars, rng)
    close = start_price * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([start_price], close[:-1]))
    body_high, body_low = np.maximum(open_, close), np.minimum(open_, close)
    high = body_high * np.exp(0.5 * sigma * np.abs(rng.standard_normal(n_bars)))
    low = body_low * np.exp(-0.5 * sigma * np.abs(rng.standard_normal(n_bars)))
    volume = 1000.0 * (sigma / sigmas[0]) * np.exp(0.3 * rng.standard_normal(n_bars))
    index = pd.date_range(
        pd.Timestamp(start, tz="UTC"), periods=n_bars, freq=PANDAS_OFFSET[timeframe], name="time"
    )
    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
    return SyntheticBars(bars=bars, labels=names[states])
