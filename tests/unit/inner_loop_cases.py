"""Random inner-loop inputs shared by the backtest, confidence and kernel tests."""

from __future__ import annotations

import itertools

import numpy as np

from regimeforge.domain.backtest import InnerLoopInput
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.costs import CostModel
from regimeforge.domain.forecasts import MemberForecasts

REGIMES = ["bull_trending", "bear_trending", "volatile_ranging", "calm_ranging"]
METHODS = ("direct", "recursive", "direct_multi")
DEFAULT_GRID = [
    InferenceConfig(m, e, t, lb)
    for m, e, t, lb in itertools.product(
        METHODS, ("mean", "weighted", "stacking"), (0.0, 0.3, 0.5, 0.7, 0.9), (50, 100, 200)
    )
]


def make_input(
    seed: int = 0, n: int = 260, k: int = 4, cost: CostModel | None = None, nan_tail: int = 3
) -> InnerLoopInput:
    """Forecasts that partly know the next return; ``direct`` has its own spread; the last
    ``nan_tail`` returns are unknown; labels include "" and a name outside REGIMES."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 1e-3, n)
    forecasts = {
        method: MemberForecasts(
            values=rng.normal(0.0, 1e-3, (k, n)) + 0.3 * returns[None, :],
            val_errors=rng.uniform(0.5, 2.0, k),
            stack_coef=rng.normal(0.3, 0.2, k),
            stack_intercept=1e-5,
            spread=rng.uniform(5e-4, 2e-3, (k, n)) if method == "direct" else None,
        )
        for method in METHODS
    }
    if nan_tail:
        returns[-nan_tail:] = np.nan
    names = np.array([*REGIMES, "", "unlisted"], dtype=object)
    labels = names[np.repeat(rng.integers(0, len(names), n // 10 + 1), 10)[:n]]
    return InnerLoopInput(forecasts, returns, labels, 6240.0, cost or CostModel())
