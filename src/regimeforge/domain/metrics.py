"""The built-in backtest metrics, vectorised over columns (one column = one configuration).

Every function takes (C, m) arrays and returns (C,) finite floats; the exact definitions are in
docs/inner-loop.md. Inputs besides ``pnl`` and ``positions`` are what a bar-by-bar view of the
full test segment knows and a masked subset of bars does not: ``turnover`` (``|p_t - p_{t-1}|``
with the previous bar of the *whole* segment), ``entries`` (moves into a nonzero position) and
``hits`` (``sign(p_t) = sign(r_{t+1}) ≠ 0``). :func:`bar_facts` derives them from one
contiguous block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs
import numpy as np

#: Built-in metric name -> higher is better.
BUILTIN_METRICS: Final[Mapping[str, bool]] = {
    "sharpe": True,
    "sortino": True,
    "max_drawdown": False,
    "calmar": True,
    "total_return": True,
    "win_rate": True,
    "profit_factor": True,
    "n_trades": True,
    "exposure": True,
    "turnover": False,
    "hit_rate": True,
}
METRIC_NAMES: Final[tuple[str, ...]] = tuple(BUILTIN_METRICS)
#: Cap of profit_factor (also its value with gains and no losses), so JSON can store it.
PROFIT_FACTOR_CAP: Final[float] = 1000.0
#: total_return = expm1(min(Σ pnl, cap)): beyond ~709 the exponential overflows.
LOG_RETURN_CAP: Final[float] = 700.0
#: A standard deviation this small relative to the mean is rounding noise of a constant series.
FLAT_STD_RATIO: Final[float] = 1e-12


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.divide(num, den, out=np.zeros(np.shape(num)), where=den > 0)
    return out


def bar_facts(
    positions: np.ndarray, returns: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``|Δp|``, entries and hits of a contiguous (C, m) block that starts flat."""
    previous = np.zeros_like(positions)
    previous[:, 1:] = positions[:, :-1]
    turnover = np.abs(positions - previous)
    entries = (positions != 0) & (positions != previous)
    hits = None if returns is None else (positions * returns) > 0
    return turnover, entries, hits


@attrs.frozen(eq=False)
class BarSums:
    """Sufficient statistics of PnL blocks (arrays of any one shape, e.g. (C,) or (C, G)).

    ``count`` bars; ``total`` Σ pnl; ``squared_deviations`` Σ (pnl - mean)²; ``downside``
    Σ min(pnl, 0)²; ``gains`` Σ max(pnl, 0); ``losses`` Σ max(-pnl, 0); ``active`` bars with a
    position; ``wins`` of those with pnl > 0; ``hits`` of those where sign(p) = sign(r) (None
    when unknown); ``entries`` moves into a nonzero position; ``turnover`` Σ |Δp|; ``worst``
    min(equity - running peak, 0) with the equity starting at 0.
    """

    count: np.ndarray
    total: np.ndarray
    squared_deviations: np.ndarray
    downside: np.ndarray
    gains: np.ndarray
    losses: np.ndarray
    active: np.ndarray
    wins: np.ndarray
    hits: np.ndarray | None
    entries: np.ndarray
    turnover: np.ndarray
    worst: np.ndarray


def metrics_from_sums(sums: BarSums, *, periods_per_year: float) -> dict[str, np.ndarray]:
    """Every built-in metric from its sufficient statistics (the one place of the formulas)."""
    m = sums.count
    annualiser = np.sqrt(periods_per_year)
    mean = _ratio(sums.total, m)
    std = np.sqrt(_ratio(sums.squared_deviations, m - 1))
    max_drawdown = -np.expm1(np.minimum(sums.worst, 0.0))
    table = {
        "sharpe": np.where(std > FLAT_STD_RATIO * np.abs(mean), _ratio(mean, std), 0.0)
        * annualiser,
        "sortino": _ratio(mean, np.sqrt(_ratio(sums.downside, m))) * annualiser,
        "max_drawdown": max_drawdown,
        "calmar": _ratio(mean * periods_per_year, max_drawdown),
        "total_return": np.expm1(np.minimum(sums.total, LOG_RETURN_CAP)),
        "win_rate": _ratio(sums.wins, sums.active),
        "profit_factor": np.where(
            sums.losses > 0,
            np.minimum(_ratio(sums.gains, sums.losses), PROFIT_FACTOR_CAP),
            np.where(sums.gains > 0, PROFIT_FACTOR_CAP, 0.0),
        ),
        "n_trades": np.asarray(sums.entries, dtype=np.float64),
        "exposure": _ratio(sums.active, m),
        "turnover": _ratio(sums.turnover, m),
    }
    if sums.hits is not None:
        table["hit_rate"] = _ratio(sums.hits, sums.active)
    return table


def worst_drawdown(pnl: np.ndarray) -> np.ndarray:
    """min over t of (equity - running peak) per row, the equity starting at 0 before bar 0."""
    if pnl.shape[-1] == 0:
        return np.zeros(pnl.shape[:-1])
    equity = np.cumsum(pnl, axis=-1)
    peak = np.maximum(np.maximum.accumulate(equity, axis=-1), 0.0)
    worst: np.ndarray = np.minimum((equity - peak).min(axis=-1), 0.0)
    return worst


def metric_table(
    pnl: np.ndarray,
    positions: np.ndarray,
    turnover: np.ndarray,
    entries: np.ndarray,
    hits: np.ndarray | None,
    *,
    periods_per_year: float,
) -> dict[str, np.ndarray]:
    """Every built-in metric of (C, m) blocks: name -> (C,) (``hit_rate`` only with ``hits``)."""
    c, m = pnl.shape
    active = positions != 0
    mean = pnl.sum(axis=1) / m if m else np.zeros(c)
    sums = BarSums(
        count=np.full(c, float(m)),
        total=pnl.sum(axis=1),
        squared_deviations=np.square(pnl - mean[:, None]).sum(axis=1),
        downside=np.square(np.minimum(pnl, 0.0)).sum(axis=1),
        gains=np.maximum(pnl, 0.0).sum(axis=1),
        losses=np.maximum(-pnl, 0.0).sum(axis=1),
        active=active.sum(axis=1).astype(np.float64),
        wins=(active & (pnl > 0)).sum(axis=1).astype(np.float64),
        hits=None if hits is None else hits.sum(axis=1).astype(np.float64),
        entries=entries.sum(axis=1).astype(np.float64),
        turnover=turnover.sum(axis=1),
        worst=worst_drawdown(pnl),
    )
    return metrics_from_sums(sums, periods_per_year=periods_per_year)


@attrs.define
class BuiltinMetric:
    """A built-in metric as a ``Metric`` port: kernels compute it in their fused pass.

    Not frozen only because the port declares ``name`` and ``higher_is_better`` as plain
    (settable) attributes, which a frozen class does not satisfy for type checkers.

    ``compute`` evaluates it on its own for a contiguous block that starts flat; ``hit_rate``
    needs the bar ``returns`` (keyword) because the sign of a return is not in ``pnl`` net of
    costs.
    """

    name: str
    higher_is_better: bool
    description: str = ""

    def compute(
        self,
        pnl: np.ndarray,
        positions: np.ndarray,
        periods_per_year: float,
        *,
        returns: np.ndarray | None = None,
    ) -> np.ndarray:
        """(C,) values of this metric for (C, m) ``pnl`` and ``positions``."""
        if self.name == "hit_rate" and returns is None:
            raise ValueError("hit_rate needs the bar returns: compute(..., returns=r)")
        turnover, entries, hits = bar_facts(positions, returns)
        table = metric_table(
            pnl, positions, turnover, entries, hits, periods_per_year=periods_per_year
        )
        return table[self.name]


_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "sharpe": "mean / std of bar PnL, annualised (0 when std is 0)",
    "sortino": "mean / downside deviation of bar PnL, annualised (0 without losing bars)",
    "max_drawdown": "largest fall of the equity curve from its peak, as a fraction",
    "calmar": "annualised log return / max_drawdown (0 without drawdown)",
    "total_return": "exp(Σ PnL) - 1",
    "win_rate": "bars in the market with PnL > 0 / bars in the market",
    "profit_factor": f"gross gains / gross losses (capped at {PROFIT_FACTOR_CAP:g})",
    "n_trades": "moves into a nonzero position",
    "exposure": "share of bars in the market",
    "turnover": "mean |Δposition| per bar",
    "hit_rate": "bars in the market whose direction matched the bar return / bars in the market",
}


def builtin_metrics() -> tuple[BuiltinMetric, ...]:
    """One :class:`BuiltinMetric` per built-in name, in the documented order."""
    return tuple(
        BuiltinMetric(name, better, _DESCRIPTIONS[name]) for name, better in BUILTIN_METRICS.items()
    )
