"""What training hands to the inner loop: prepared data and per-member forecasts.

Conventions (documented in docs/models.md):
- ``targets[t, j-1]`` is the log return of bar t+j, ``log(close[t+j] / close[t+j-1])``, for
  j = 1..horizon; NaN where the future is not known.
- A forecast at bar t is the expected cumulative log return over bars t+1..t+horizon.
- The inner loop trades bar by bar: position at t earns ``targets[t, 0]``.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd


@attrs.frozen(eq=False)
class PreparedData:
    """Features, targets and the chronological split of one model's data (after warm-up).

    ``train``, ``validation`` and ``test`` are slices into the rows, separated by purge gaps of
    ``horizon`` bars so that no target of one segment overlaps the next.
    """

    index: pd.DatetimeIndex
    features: np.ndarray  # (n, f) float64, scaled with statistics of the train segment only
    feature_names: tuple[str, ...]
    targets: np.ndarray  # (n, horizon) float64
    close: np.ndarray  # (n,) float64
    train: slice
    validation: slice
    test: slice
    horizon: int
    seed: int = 0

    @property
    def n_bars(self) -> int:
        """Rows in the prepared data."""
        return int(self.features.shape[0])


@attrs.frozen(eq=False)
class MemberForecasts:
    """Forecasts of the K ensemble members for one prediction method over a block of bars.

    ``values`` is (K, n); ``spread`` is (K, n) when the model has its own predictive spread (tree
    spread, diffusion sample std) and None otherwise; ``val_errors`` (K,) are the members'
    validation mean squared errors (the ``weighted`` ensemble uses 1/error); the stacking
    meta-model is linear: ``stack_intercept + stack_coef @ values``.
    """

    values: np.ndarray
    val_errors: np.ndarray
    stack_coef: np.ndarray
    stack_intercept: float = 0.0
    spread: np.ndarray | None = None

    def __attrs_post_init__(self) -> None:
        k = self.values.shape[0]
        if self.values.ndim != 2 or self.val_errors.shape != (k,) or self.stack_coef.shape != (k,):
            raise ValueError(
                f"member forecasts need values (K, n), val_errors (K,) and stack_coef (K,); got "
                f"{self.values.shape}, {self.val_errors.shape}, {self.stack_coef.shape}"
            )
        if self.spread is not None and self.spread.shape != self.values.shape:
            raise ValueError(f"spread {self.spread.shape} must match values {self.values.shape}")
