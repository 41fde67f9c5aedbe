"""The backtest kernel port and its numpy implementation.

A kernel evaluates one *block*: the configurations that share a prediction method, an ensemble
and a lookback differ only in their confidence threshold, so the block is one forecast sign and
one confidence per bar, and a vector of thresholds. It returns every built-in metric (in
:data:`~regimeforge.domain.metrics.METRIC_NAMES` order) over all bars and over the bars of each
regime, as one (G + 1, M, T) array: row 0 is all bars, row g + 1 regime g.

The numba kernel (``regimeforge.plugins.builtin.numba_kernel``) computes the same numbers in one
fused pass per threshold; this module keeps the domain free of numba. Both build the metrics from
the same sufficient statistics (``metrics.BarSums``).
"""

from __future__ import annotations

from typing import Protocol

import attrs
import numpy as np

from regimeforge.domain.metrics import (
    METRIC_NAMES,
    BarSums,
    bar_facts,
    metrics_from_sums,
    worst_drawdown,
)


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
    """The pure-numpy kernel: 2-D array operations over (thresholds × bars).

    Per-regime sums are one matrix product with the (bars × regimes) indicator matrix; the
    drawdown of a regime walks the equity of that regime's bars only.
    """

    name: str = "numpy"

    def evaluate(self, block: SignalBlock, thresholds: np.ndarray) -> np.ndarray:
        """See :class:`BacktestKernel`."""
        positions, pnl, turnover, entries, hits = positions_and_pnl(block, thresholds)
        rows = block.n_groups + 1
        member = block.groups >= 0
        indicator = np.zeros((pnl.shape[1], rows))
        indicator[:, 0] = 1.0
        indicator[np.flatnonzero(member), block.groups[member] + 1] = 1.0

        def per_row(values: np.ndarray) -> np.ndarray:
            return np.asarray(values, dtype=np.float64) @ indicator  # (T, rows)

        count = np.broadcast_to(indicator.sum(axis=0), (len(thresholds), rows))
        total = per_row(pnl)
        mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        # two-pass deviations: every bar against the mean of all bars and of its own regime
        deviations = np.empty_like(total)
        deviations[:, 0] = np.square(pnl - mean[:, :1]).sum(axis=1)
        own_mean = mean[:, np.where(member, block.groups + 1, 0)]
        deviations[:, 1:] = per_row(np.square(pnl - own_mean))[:, 1:]
        worst = np.empty_like(total)
        worst[:, 0] = worst_drawdown(pnl)
        # one gather puts each regime's bars side by side, in time order; slices are views
        order = np.argsort(block.groups, kind="stable")
        by_regime = pnl[:, order]
        bounds = np.searchsorted(block.groups[order], np.arange(-1, block.n_groups + 1))
        for g in range(block.n_groups):
            worst[:, g + 1] = worst_drawdown(by_regime[:, bounds[g + 1] : bounds[g + 2]])
        negative = np.minimum(pnl, 0.0)
        active = positions != 0
        sums = BarSums(
            count=count,
            total=total,
            squared_deviations=deviations,
            downside=per_row(np.square(negative)),
            gains=per_row(np.maximum(pnl, 0.0)),
            losses=per_row(-negative),
            active=per_row(active),
            wins=per_row(active & (pnl > 0)),
            hits=per_row(hits),
            entries=per_row(entries),
            turnover=per_row(turnover),
            worst=worst,
        )
        table = metrics_from_sums(sums, periods_per_year=block.periods_per_year)
        return np.stack([table[name].T for name in METRIC_NAMES], axis=1)
