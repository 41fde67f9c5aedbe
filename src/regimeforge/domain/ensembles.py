"""Ensembles of member forecasts: mean, weighted (1 / validation error) and stacking.

Every ensemble is derived from the members' forecasts of one prediction method, so that the inner
loop computes member forecasts once and every ensemble from them. Definitions (docs/inner-loop.md):

- ``mean``: ``f = values.mean(0)``.
- ``weighted``: ``f = Σ_k w_k values_k`` with ``w_k ∝ 1 / val_error_k``, normalised to sum 1.
  Members with a NaN, infinite or negative error get weight 0; errors are floored at 1e-12 so that
  a zero error is a very large but finite weight; when no member has a usable error the weights
  are equal.
- ``stacking``: ``f = stack_intercept + stack_coef @ values``.

Ensemble spread, when the model has its own (``spread`` not None): the spread of the mixture of
the members, ``sqrt(Σ w_k s_k² + Σ w_k (v_k - f_w)²)`` with ``f_w = Σ w_k v_k`` (law of total
variance: within-member variance plus between-member variance). ``mean`` uses ``w_k = 1/K``,
``weighted`` its weights, ``stacking`` the mixture with ``w_k = |c_k| / Σ|c|`` scaled by ``Σ|c|``
(how much the meta-model amplifies its members); with all coefficients 0 it uses equal weights and
no scaling.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from regimeforge.domain.forecasts import MemberForecasts

ENSEMBLE_METHODS: Final[tuple[str, ...]] = ("mean", "weighted", "stacking")
_ERROR_FLOOR: Final[float] = 1e-12


def member_weights(val_errors: np.ndarray) -> np.ndarray:
    """Normalised weights ``∝ 1 / error``; unusable errors weigh 0, all unusable -> equal."""
    errors = np.asarray(val_errors, dtype=np.float64)
    usable = np.isfinite(errors) & (errors >= 0)
    if not usable.any():
        return np.full(errors.shape, 1.0 / max(errors.size, 1))
    inverse = np.zeros(errors.shape)
    inverse[usable] = 1.0 / np.maximum(errors[usable], _ERROR_FLOOR)
    weights: np.ndarray = inverse / inverse.sum()
    return weights


def _mixture_spread(values: np.ndarray, spread: np.ndarray, weights: np.ndarray) -> np.ndarray:
    centre = weights @ values
    within = weights @ np.square(spread)
    between = weights @ np.square(values - centre)
    result: np.ndarray = np.sqrt(within + between)
    return result


def ensemble(member: MemberForecasts, method: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The ensemble forecast (n,) of ``method`` and its spread (n,) (None without own spread)."""
    values = np.asarray(member.values, dtype=np.float64)
    k = values.shape[0]
    spread = None if member.spread is None else np.asarray(member.spread, dtype=np.float64)
    if method == "mean":
        weights = np.full(k, 1.0 / k)
        forecast = values.mean(axis=0)
        scale = 1.0
    elif method == "weighted":
        weights = member_weights(member.val_errors)
        forecast = weights @ values
        scale = 1.0
    elif method == "stacking":
        coef = np.asarray(member.stack_coef, dtype=np.float64)
        forecast = float(member.stack_intercept) + coef @ values
        total = float(np.abs(coef).sum())
        weights = np.abs(coef) / total if total > 0 else np.full(k, 1.0 / k)
        scale = total if total > 0 else 1.0
    else:
        raise ValueError(f"unknown ensemble method {method!r}; use one of {ENSEMBLE_METHODS}")
    if spread is None:
        return forecast, None
    return forecast, scale * _mixture_spread(values, spread, weights)
