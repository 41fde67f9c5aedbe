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
    if m == 0:
        names = METRIC_NAMES if hits is not None else METRIC_NAMES[:-1]
        return {name: np.zeros(c) for name in names}
    annualiser = np.sqrt(periods_per_year)
    mean = pnl.mean(axis=1)
    if m > 1:
        std = np.sqrt(np.square(pnl - mean[:, None]).sum(axis=1) / (m - 1))
    else:
        std = np.zeros(c)
    sharpe = np.where(std > FLAT_STD_RATIO * np.abs(mean), _ratio(mean, std), 0.0) * annualiser
    downside = np.sqrt(np.square(np.minimum(pnl, 0.0)).sum(axis=1) / m)
    equity = np.cumsum(pnl, axis=1)
    peak = np.maximum(np.maximum.accumulate(equity, axis=1), 0.0)
    max_drawdown = -np.expm1(np.minimum((equity - peak).min(axis=1), 0.0))
    gains = np.maximum(pnl, 0.0).sum(axis=1)
    losses = np.maximum(-pnl, 0.0).sum(axis=1)
    active = positions != 0
    n_active = active.sum(axis=1)
    table = {
        "sharpe": sharpe,
        "sortino": _ratio(mean, downside) * annualiser,
        "max_drawdown": max_drawdown,
        "calmar": _ratio(mean * periods_per_year, max_drawdown),
        "total_return": np.expm1(np.minimum(pnl.sum(axis=1), LOG_RETURN_CAP)),
        "win_rate": _ratio((active & (pnl > 0)).sum(axis=1), n_active),
        "profit_factor": np.where(
            losses > 0,
            np.minimum(_ratio(gains, losses), PROFIT_FACTOR_CAP),
            np.where(gains > 0, PROFIT_FACTOR_CAP, 0.0),
        ),
        "n_trades": entries.sum(axis=1).astype(np.float64),
        "exposure": n_active / m,
        "turnover": turnover.sum(axis=1) / m,
    }
    if hits is not None:
        table["hit_rate"] = _ratio(hits.sum(axis=1), n_active)
    return table


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
