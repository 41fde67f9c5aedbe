"""Targets, the purged chronological split and train-only scaling (used by ``domain.features``).

- ``forward_log_returns``: ``targets[t, j-1] = log(close[t+j] / close[t+j-1])`` for j = 1..h,
  NaN where bar t+j is not in the data.
- ``purged_split``: train | gap | validation | gap | test, each gap ``horizon`` rows, so that the
  targets of one segment (which look ``horizon`` bars ahead) never reach into the next segment.
- ``scale``: ``standard`` (mean/std) or ``robust`` (median/IQR) statistics of the train rows
  only, applied to every row; ``none`` leaves the values as they are.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from regimeforge.domain.config import MIN_SEGMENT_BARS
from regimeforge.domain.errors import DataError, Problem


def forward_log_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """(n, horizon) matrix of the next ``horizon`` one-bar log returns of every bar."""
    r = np.diff(np.log(np.asarray(close, dtype=np.float64)))
    padded = np.concatenate([r, np.full(horizon, np.nan)])
    out: np.ndarray = sliding_window_view(padded, horizon)[: len(close)].copy()
    return out


def purged_split(
    n: int, horizon: int, train_fraction: float, validation_fraction: float
) -> tuple[slice, slice, slice]:
    """Row slices train, validation, test of ``n`` rows with purge gaps of ``horizon`` rows.

    The train segment ends at ``int(n * train_fraction)``, the validation segment at
    ``int(n * (train_fraction + validation_fraction))``; each later segment starts ``horizon``
    rows after the end of the one before. DataError when a segment would hold fewer than
    MIN_SEGMENT_BARS rows.
    """
    train_end = int(n * train_fraction)
    val_end = int(n * (train_fraction + validation_fraction))
    train = slice(0, train_end)
    validation = slice(train_end + horizon, val_end)
    test = slice(val_end + horizon, n)
    sizes = {
        "train": train_end,
        "validation": val_end - train_end - horizon,
        "test": n - val_end - horizon,
    }
    small = {k: v for k, v in sizes.items() if v < MIN_SEGMENT_BARS}
    if small:
        detail = ", ".join(f"{k} {max(v, 0)}" for k, v in small.items())
        raise DataError(
            [
                Problem(
                    "preprocessing.train_fraction",
                    f"{n} rows split with purge gaps of {horizon} leave too few rows ({detail}; "
                    f"each segment needs {MIN_SEGMENT_BARS})",
                    "raise days_history, shorten the horizon or change the split fractions",
                )
            ]
        )
    return train, validation, test


def scale(values: np.ndarray, train: slice, method: str) -> np.ndarray:
    """``values`` scaled with statistics of ``values[train]``; constant columns are centred only."""
    if method == "none":
        return np.asarray(values, dtype=np.float64)
    fit = values[train]
    gaps = bool(np.isnan(fit).any())  # the nan-aware reductions are several times slower
    if method == "standard":
        centre = np.nanmean(fit, axis=0) if gaps else fit.mean(axis=0)
        spread = np.nanstd(fit, axis=0) if gaps else fit.std(axis=0)
    elif method == "robust":
        quantile = np.nanpercentile if gaps else np.percentile
        q25, centre, q75 = quantile(fit, [25.0, 50.0, 75.0], axis=0)
        spread = q75 - q25
    else:
        raise ValueError(f"unknown scaling {method!r}; use standard, robust or none")
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
    centre = np.where(np.isfinite(centre), centre, 0.0)
    out: np.ndarray = (values - centre) / spread
    return out
