"""Confidence of a forecast in [0, 1], causal and vectorised (no loop over bars).

For a lookback ``L`` (docs/inner-loop.md): with the model's own spread ``s``,
``z_t = |f_t| / sqrt(mean(s²) over bars t-L+1..t)``; without it,
``z_t = |f_t| / sqrt(mean(f²) over bars t-L+1..t)``. Bars with fewer than ``L`` bars of history
use the expanding window; a window needs at least 2 bars (the first bar has confidence 0).
``confidence = erf(z / √2)``: the probability mass of a normal within ``±z``. A zero denominator
gives ``z = inf`` (confidence 1) where ``f ≠ 0`` and ``z = 0`` where ``f = 0``.

numpy has no ``erf`` and the domain may not import scipy: :func:`erf` evaluates the construction
of Numerical Recipes (3rd ed., §6.2.2), ``erfc(z) = t·exp(-z² + P(2t - 1))`` with
``t = 2 / (2 + z)``, where ``P`` is a degree-22 polynomial fitted once to ``math.erfc`` at
Chebyshev nodes (the Maclaurin series below 0.05). Its largest absolute error against ``math.erf``
is about 1e-14.

The inner loop itself needs no erf per bar: ``confidence >= threshold`` is decided as
``z >= z_threshold(threshold)`` (see :func:`z_threshold`), and :class:`TrailingScale` computes the
cumulative squares once per ensemble for every lookback.
"""

from __future__ import annotations

import functools
import math
import struct
from typing import Final

import attrs
import numpy as np

#: Power-series coefficients of P (lowest degree first), from a Chebyshev interpolant of
#: ``log(erfc(z) / t) + z²`` in ``u = 2t - 1`` (fitted against math.erfc; see module docstring).
_ERFC_POLY: Final[tuple[float, ...]] = (
    -0.6717940840566932,
    0.672643223977776,
    0.04734330684206136,
    -0.04689561024171497,
    -0.00987268937128712,
    0.008824938837416462,
    0.0017589335989299697,
    -0.0023458159650474306,
    -0.00014624673856625364,
    0.0006737026714694267,
    -9.373901184077081e-05,
    -0.00017440357168636186,
    7.142848317968124e-05,
    3.201697641709638e-05,
    -3.028791615470847e-05,
    -3.4051079961480527e-07,
    8.783625626956166e-06,
    -2.4071406859666644e-06,
    -1.5806341727274343e-06,
    8.797149190365382e-07,
    1.0169257976762615e-07,
    -1.2300575769546887e-07,
    1.1744028281258501e-08,
)
#: Beyond this erf(x) is 1 to double precision; clipping keeps exp() away from underflow noise.
_ERF_SATURATES: Final[float] = 6.5
_SERIES_BELOW: Final[float] = 0.05
_TWO_OVER_SQRT_PI: Final[float] = 2.0 / math.sqrt(math.pi)
_MIN_WINDOW: Final[int] = 2
#: math.erf(z / √2) is exactly 1.0 here, so every threshold <= 1 is reached below it.
_ERF_ONE_AT: Final[float] = 40.0


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise (absolute error ≲ 3e-15; NaN stays NaN)."""
    values = np.asarray(x, dtype=np.float64)
    z = np.minimum(np.abs(values), _ERF_SATURATES)
    t = 2.0 / (2.0 + z)
    u = 2.0 * t - 1.0
    poly = np.full(z.shape, _ERFC_POLY[-1])
    for coefficient in _ERFC_POLY[-2::-1]:
        poly *= u
        poly += coefficient
    poly -= z * z
    np.exp(poly, out=poly)
    poly *= t
    result: np.ndarray = np.copysign(1.0 - poly, values)
    # Near 0, 1 - erfc loses relative precision; the Maclaurin series keeps erf(0) == 0 exactly.
    small = z < _SERIES_BELOW
    if small.any():
        s = values[small]
        s2 = s * s
        result[small] = _TWO_OVER_SQRT_PI * s * (1.0 - s2 / 3.0 + s2 * s2 / 10.0 - s2**3 / 42.0)
    return result


def _cumulative_squares(x: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(np.square(np.where(np.isfinite(x), x, 0.0)))))


def _window_means(cumulative: np.ndarray, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    n = cumulative.shape[0] - 1
    sums = cumulative[1:].copy()
    if lookback < n:
        # cumulative sums make any lookback O(n); rounding can leave a tiny negative difference
        sums[lookback:] -= cumulative[1 : n + 1 - lookback]
        np.maximum(sums, 0.0, out=sums)
    counts = np.minimum(np.arange(1, n + 1), lookback)
    return sums / counts, counts


def trailing_mean_square(x: np.ndarray, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``x²`` over the trailing ``lookback`` bars including t, and the window sizes.

    Non-finite values count as 0; the first bars use the expanding window.
    """
    return _window_means(_cumulative_squares(np.asarray(x, dtype=np.float64)), lookback)


@attrs.frozen(eq=False)
class TrailingScale:
    """``|f|`` and the cumulative squares of its scale (own spread, else ``f``), computed once
    per ensemble and shared by every lookback."""

    magnitude: np.ndarray
    cumulative: np.ndarray

    @classmethod
    def of(cls, forecast: np.ndarray, spread: np.ndarray | None = None) -> TrailingScale:
        """Prepare the z-scores of ``forecast`` (non-finite forecasts count as 0)."""
        f = np.where(np.isfinite(forecast), forecast, 0.0)
        return cls(np.abs(f), _cumulative_squares(f if spread is None else spread))

    def z(self, lookback: int) -> np.ndarray:
        """``|f_t|`` over the trailing RMS of the scale; 0 with fewer than 2 bars."""
        if lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {lookback}")
        mean_square, counts = _window_means(self.cumulative, lookback)
        rms = np.sqrt(mean_square)
        magnitude = self.magnitude
        z: np.ndarray = np.divide(magnitude, rms, out=np.zeros_like(magnitude), where=rms > 0)
        z[(rms <= 0) & (magnitude > 0)] = np.inf
        z[counts < _MIN_WINDOW] = 0.0
        return z


def z_scores(forecast: np.ndarray, lookback: int, spread: np.ndarray | None = None) -> np.ndarray:
    """``|f_t|`` over the trailing RMS of the spread (or of ``f``); 0 with under 2 bars."""
    return TrailingScale.of(forecast, spread).z(lookback)


def confidence(forecast: np.ndarray, lookback: int, spread: np.ndarray | None = None) -> np.ndarray:
    """Confidence in [0, 1] per bar: ``erf(z / √2)`` of :func:`z_scores`."""
    return erf(z_scores(forecast, lookback, spread) / math.sqrt(2.0))


def _bits(x: float) -> int:
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def _from_bits(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<q", bits))[0])


@functools.lru_cache(maxsize=1024)
def z_threshold(threshold: float) -> float:
    """The smallest double ``z >= 0`` with ``math.erf(z / √2) >= threshold``.

    ``erf(z / √2)`` rises with ``z``, so ``confidence >= threshold`` exactly when
    ``z >= z_threshold(threshold)``: the inner loop compares z-scores with these instead of
    evaluating erf for every bar (a bisection over the bit patterns of non-negative doubles,
    whose order is their numeric order).
    """
    if threshold <= 0.0:
        return 0.0
    if threshold > 1.0:
        return math.inf
    root2 = math.sqrt(2.0)
    low, high = 0, _bits(_ERF_ONE_AT)
    while low < high:
        mid = (low + high) // 2
        if math.erf(_from_bits(mid) / root2) >= threshold:
            high = mid
        else:
            low = mid + 1
    return _from_bits(low)
