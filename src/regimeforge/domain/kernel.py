"""The backtest kernel port and its numpy implementation.

A kernel evaluates one *block*: the configurations that share a prediction method, an ensemble
and a lookback differ only in their confidence threshold, so the block is one forecast sign and
one confidence per bar, and a vector of thresholds. It returns every built-in metric (in
:data:`~regimeforge.domain.metrics.METRIC_NAMES` order) over all bars and over the bars of each
regime, as one (G + 1, M, T) array: row 0 is all bars, row g + 1 regime g.

The numba kernel (``regimeforge.plugins.builtin.numba_kernel``) computes the same numbers in one
fused pass per threshold; this module keeps the domain free of numba.
"""

from __future__ import annotations

from typing import Protocol

import attrs
import numpy as np

from regimeforge.domain.metrics import METRIC_NAMES, bar_facts, metric_table


@attrs.frozen(eq=False)
class SignalBlock:
    """The inputs of one block, over the bars whose return is known (NaN returns removed).

    ``signs`` (n,) in {-1, 0, 1}; ``score`` (n,) the bar's confidence score, in the units of the
    thresholds (the inner loop passes z-scores and thresholds mapped to z, which decides exactly
    like confidence against the configured thresholds); ``returns`` (n,) finite bar returns earned
    by a position held at t; ``groups`` (n,) int64 regime codes, -1 for none; ``cost`` per unit of
    turnover in log-return units.
    """

    signs: np.ndarray
    score: np.ndarray
    returns: np.ndarray
    groups: np.ndarray
    n_groups: int
    cost: float
    periods_per_year: float


class BacktestKernel(Protocol):
    """Positions, PnL and every built-in metric of a block, for all thresholds at once."""

    @property
    def name(self) -> str:
        """Short name for logs and benchmarks (``numpy``, ``numba``)."""
        ...

    def evaluate(self, block: SignalBlock, thresholds: np.ndarray) -> np.ndarray:
        """(G + 1, len(METRIC_NAMES), T) metric values; row 0 all bars, row g + 1 regime g."""
        ...


def positions_and_pnl(
    block: SignalBlock, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions, PnL, ``|Δp|``, entries and hits, each (T, n), in one 2-D operation.

    ``p[j, t] = sign(f_t)`` where ``score_t >= thresholds[j]``, else 0;
    ``pnl[j, t] = p[j, t] * r_t - cost * |p[j, t] - p[j, t-1]|`` with ``p[j, -1] = 0``.
    """
    in_market = block.score[None, :] >= np.asarray(thresholds, dtype=np.float64)[:, None]
    positions = in_market * block.signs[None, :]
    turnover, entries, hits = bar_facts(positions, block.returns[None, :])
    assert hits is not None  # returns were given
    pnl = positions * block.returns[None, :] - block.cost * turnover
    return positions, pnl, turnover, entries, hits


@attrs.frozen
class NumpyBacktestKernel:
    """The pure-numpy kernel: 2-D array operations, one masked copy per regime."""

    name: str = "numpy"

    def evaluate(self, block: SignalBlock, thresholds: np.ndarray) -> np.ndarray:
        """See :class:`BacktestKernel`."""
        positions, pnl, turnover, entries, hits = positions_and_pnl(block, thresholds)
        out = np.empty((block.n_groups + 1, len(METRIC_NAMES), len(thresholds)))
        for row in range(block.n_groups + 1):
            if row == 0:
                parts = (pnl, positions, turnover, entries, hits)
            else:
                cols = np.flatnonzero(block.groups == row - 1)
                parts = (
                    pnl[:, cols],
                    positions[:, cols],
                    turnover[:, cols],
                    entries[:, cols],
                    hits[:, cols],
                )
            table = metric_table(*parts, periods_per_year=block.periods_per_year)
            out[row] = np.stack([table[name] for name in METRIC_NAMES])
        return out
