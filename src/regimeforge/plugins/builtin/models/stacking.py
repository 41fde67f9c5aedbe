"""What training stores for the ensembles: validation errors and the stacking meta-model.

Both are fitted per prediction method on the members' forecasts of the validation segment against
the realised cumulative horizon return (rows whose return is unknown are left out):

- ``val_errors[k]``: member k's mean squared error (``weighted`` uses 1 / error);
- stacking: non-negative least squares with an intercept, ``y ≈ c0 + Σ_k c_k v_k`` with
  ``c_k >= 0`` (the members and the realised return centred, NNLS on the centred values, then
  ``c0 = mean(y) - Σ c_k mean(v_k)``). Without at least two usable rows it falls back to the mean
  (``c_k = 1/K``, ``c0 = 0``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls


def _usable(predictions: np.ndarray, truth: np.ndarray) -> np.ndarray:
    ok: np.ndarray = np.isfinite(truth) & np.isfinite(predictions).all(axis=0)
    return ok


def validation_errors(predictions: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(K,) mean squared errors of the members' (K, n) forecasts (NaN without usable rows)."""
    ok = _usable(predictions, truth)
    if not ok.any():
        return np.full(predictions.shape[0], np.nan)
    errors: np.ndarray = np.mean(np.square(predictions[:, ok] - truth[ok]), axis=1)
    return errors


def fit_stacking(predictions: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, float]:
    """Non-negative stacking coefficients (K,) and intercept from (K, n) validation forecasts."""
    k = predictions.shape[0]
    ok = _usable(predictions, truth)
    if ok.sum() < 2:
        return np.full(k, 1.0 / k), 0.0
    x, y = predictions[:, ok].T, truth[ok]
    mx, my = x.mean(axis=0), float(y.mean())
    xc = x - mx
    # Forecasts are ~1e-3; scaling the columns keeps NNLS's tolerances meaningful.
    scale = np.sqrt(np.mean(np.square(xc), axis=0))
    scale[scale <= 0] = 1.0
    coef, _ = nnls(xc / scale, y - my, maxiter=50 * k)
    coef = coef / scale
    intercept = my - float(coef @ mx)
    return coef.astype(np.float64), intercept
