"""The numba backtest kernel: positions, PnL and every metric in one fused pass per threshold.

Same numbers as the domain's ``NumpyBacktestKernel`` (tests check 1e-9 on random inputs with
regime masks), without its (T, n) temporaries: one walk over the bars accumulates every sum of
every regime, a second walk the squared deviations from each regime's mean (two passes keep the
standard deviation exact for near-constant PnL). numba is optional (the ``fast`` extra):
:func:`default_kernel` falls back to the numpy kernel when it is missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import attrs
import numpy as np

from regimeforge.domain.kernel import BacktestKernel, NumpyBacktestKernel, SignalBlock
from regimeforge.domain.metrics import (
    FLAT_STD_RATIO,
    LOG_RETURN_CAP,
    METRIC_NAMES,
    PROFIT_FACTOR_CAP,
)

numba: ModuleType | None
try:  # optional dependency: the kernel is a speed-up, never a requirement
    import numba
except ImportError:  # pragma: no cover - exercised by the fallback test with numba hidden
    numba = None

# Accumulator slots per regime row (all bars = row 0).
_N, _SUM, _DOWN, _GAINS, _LOSSES, _ACTIVE, _WINS, _HITS, _ENTRIES, _TURN, _EQ, _PEAK, _WORST = (
    range(13)
)
_SS = 13
_SLOTS = 14


def _identity(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


# Lazy compilation on first call; cache=True keeps the machine code between processes.
_jit: Callable[[Callable[..., Any]], Callable[..., Any]] = (
    numba.njit(cache=True, nogil=True) if numba is not None else _identity
)


@_jit
def _accumulate(a: np.ndarray, x: float, p: float, previous: float, r: float) -> None:
    """Add one bar to a regime row's sums (the equity, peak and worst drawdown too)."""
    a[_N] += 1.0
    a[_SUM] += x
    if x < 0.0:
        a[_DOWN] += x * x
        a[_LOSSES] -= x
    elif x > 0.0:
        a[_GAINS] += x
    if p != 0.0:
        a[_ACTIVE] += 1.0
        if x > 0.0:
            a[_WINS] += 1.0
        if p * r > 0.0:
            a[_HITS] += 1.0
        if p != previous:
            a[_ENTRIES] += 1.0
    a[_TURN] += abs(p - previous)
    a[_EQ] += x
    a[_PEAK] = max(a[_PEAK], a[_EQ])
    a[_WORST] = min(a[_WORST], a[_EQ] - a[_PEAK])


@_jit
def _finish(a: np.ndarray, annualiser: float, ppy: float, o: np.ndarray) -> None:
    """The metrics of one regime row from its sums, in METRIC_NAMES order."""
    m = a[_N]
    if m == 0.0:
        o[:] = 0.0
        return
    mean = a[_SUM] / m
    std = math.sqrt(a[_SS] / (m - 1.0)) if m > 1.0 else 0.0
    downside = math.sqrt(a[_DOWN] / m)
    drawdown = -math.expm1(min(a[_WORST], 0.0))
    active = a[_ACTIVE]
    o[0] = (mean / std if std > FLAT_STD_RATIO * abs(mean) else 0.0) * annualiser
    o[1] = (mean / downside if downside > 0.0 else 0.0) * annualiser
    o[2] = drawdown
    o[3] = mean * ppy / drawdown if drawdown > 0.0 else 0.0
    o[4] = math.expm1(min(a[_SUM], LOG_RETURN_CAP))
    o[5] = a[_WINS] / active if active > 0.0 else 0.0
    if a[_LOSSES] > 0.0:
        o[6] = min(a[_GAINS] / a[_LOSSES], PROFIT_FACTOR_CAP)
    else:
        o[6] = PROFIT_FACTOR_CAP if a[_GAINS] > 0.0 else 0.0
    o[7] = a[_ENTRIES]
    o[8] = active / m
    o[9] = a[_TURN] / m
    o[10] = a[_HITS] / active if active > 0.0 else 0.0


@_jit
def _fused(  # noqa: PLR0917 - numba entry point: positional arrays only
    signs: np.ndarray,
    confidence: np.ndarray,
    thresholds: np.ndarray,
    returns: np.ndarray,
    groups: np.ndarray,
    cost: float,
    ppy: float,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (G + 1, M, T): one walk over the bars per threshold, then the deviations."""
    n = signs.shape[0]
    pnl = np.empty(n)
    acc = np.zeros((out.shape[0], _SLOTS))
    annualiser = math.sqrt(ppy)
    for j in range(thresholds.shape[0]):
        acc[:, :] = 0.0
        previous = 0.0
        for t in range(n):
            p = signs[t] if confidence[t] >= thresholds[j] else 0.0
            x = p * returns[t] - cost * abs(p - previous)
            pnl[t] = x
            _accumulate(acc[0], x, p, previous, returns[t])
            if groups[t] >= 0:
                _accumulate(acc[groups[t] + 1], x, p, previous, returns[t])
            previous = p
        for t in range(n):
            acc[0, _SS] += (pnl[t] - acc[0, _SUM] / acc[0, _N]) ** 2
            g = groups[t] + 1
            if g > 0:
                acc[g, _SS] += (pnl[t] - acc[g, _SUM] / acc[g, _N]) ** 2
        for row in range(out.shape[0]):
            _finish(acc[row], annualiser, ppy, out[row, :, j])


def numba_available() -> bool:
    """Whether numba can be imported here."""
    return numba is not None


@attrs.frozen
class NumbaBacktestKernel:
    """The fused numba kernel (compiled on first use, cached on disk by numba)."""

    name: str = "numba"

    def evaluate(self, block: SignalBlock, thresholds: np.ndarray) -> np.ndarray:
        """See ``regimeforge.domain.kernel.BacktestKernel``."""
        thresholds = np.ascontiguousarray(thresholds, dtype=np.float64)
        out = np.zeros((block.n_groups + 1, len(METRIC_NAMES), len(thresholds)))
        if numba is None:
            raise RuntimeError("numba is not installed (pip install 'regimeforge[fast]')")
        _fused(
            np.ascontiguousarray(block.signs, dtype=np.float64),
            np.ascontiguousarray(block.confidence, dtype=np.float64),
            thresholds,
            np.ascontiguousarray(block.returns, dtype=np.float64),
            np.ascontiguousarray(block.groups, dtype=np.int64),
            float(block.cost),
            float(block.periods_per_year),
            out,
        )
        return out


def default_kernel(prefer: str = "numba") -> BacktestKernel:
    """The numba kernel when asked for and available, the numpy kernel otherwise."""
    if prefer == "numba" and numba_available():
        return NumbaBacktestKernel()
    return NumpyBacktestKernel()
