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

# Accumulator slots of a regime row (all bars = row 0), in the order _finish reads them.
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
def _squared_deviations(pnl: np.ndarray, groups: np.ndarray, acc: np.ndarray) -> None:
    """Second pass: Σ (pnl - mean)² of every row (exact for near-constant PnL)."""
    means = np.zeros(acc.shape[0])
    for row in range(acc.shape[0]):
        means[row] = acc[row, _SUM] / acc[row, _N] if acc[row, _N] > 0.0 else 0.0
    for t in range(pnl.shape[0]):
        d = pnl[t] - means[0]
        acc[0, _SS] += d * d
        g = groups[t] + 1
        if g > 0:
            d = pnl[t] - means[g]
            acc[g, _SS] += d * d


@_jit
def _fused(  # noqa: PLR0917 - a numba entry point takes positional arrays
    signs: np.ndarray,
    score: np.ndarray,
    thresholds: np.ndarray,
    returns: np.ndarray,
    groups: np.ndarray,
    cost: float,
    ppy: float,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (G + 1, M, T): one walk over the bars per threshold, then the deviations.

    The sums of all bars (``a*``) and of the regime of the current run of bars (``c*``) are
    scalars so that they stay in registers; regimes come in runs, so the regime's sums are
    swapped with ``acc`` only when the label changes. Flags are arithmetic, not branches: with
    random positions, branches would be mispredicted half of the time.
    """
    n = signs.shape[0]
    pnl = np.empty(n)
    acc = np.zeros((out.shape[0], _SLOTS))
    for j in range(thresholds.shape[0]):
        acc[:, :] = 0.0
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = a12 = 0.0
        c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = c12 = 0.0
        cur = 0
        previous = 0.0
        for t in range(n):
            p = signs[t] * (1.0 * (score[t] >= thresholds[j]))
            r = returns[t]
            dp = abs(p - previous)
            x = p * r - cost * dp
            pnl[t] = x
            neg = min(x, 0.0)
            gain = max(x, 0.0)
            act = 1.0 * (p != 0.0)
            win = act * (x > 0.0)
            hit = 1.0 * (p * r > 0.0)
            entry = act * (p != previous)
            a0 += 1.0
            a1 += x
            a2 += neg * neg
            a3 += gain
            a4 -= neg
            a5 += act
            a6 += win
            a7 += hit
            a8 += entry
            a9 += dp
            a10 += x
            a11 = max(a11, a10)
            a12 = min(a12, a10 - a11)
            g = groups[t] + 1
            if g != cur:
                if cur > 0:
                    acc[cur, :13] = (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12)
                cur = g
                if cur > 0:
                    c0, c1, c2, c3, c4, c5, c6 = (
                        acc[cur, 0],
                        acc[cur, 1],
                        acc[cur, 2],
                        acc[cur, 3],
                        acc[cur, 4],
                        acc[cur, 5],
                        acc[cur, 6],
                    )
                    c7, c8, c9, c10, c11, c12 = (
                        acc[cur, 7],
                        acc[cur, 8],
                        acc[cur, 9],
                        acc[cur, 10],
                        acc[cur, 11],
                        acc[cur, 12],
                    )
            if cur > 0:
                c0 += 1.0
                c1 += x
                c2 += neg * neg
                c3 += gain
                c4 -= neg
                c5 += act
                c6 += win
                c7 += hit
                c8 += entry
                c9 += dp
                c10 += x
                c11 = max(c11, c10)
                c12 = min(c12, c10 - c11)
            previous = p
        if cur > 0:
            acc[cur, :13] = (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12)
        acc[0, :13] = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)
        _squared_deviations(pnl, groups, acc)
        for row in range(out.shape[0]):
            _finish(acc[row], math.sqrt(ppy), ppy, out[row, :, j])


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
            np.ascontiguousarray(block.score, dtype=np.float64),
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
