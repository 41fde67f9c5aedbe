"""A third-party metric, registered by a tiny plugin class, is used by the inner loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from regimeforge import hookimpl
from regimeforge.domain.backtest import InnerLoopInput, run_inner_loop
from regimeforge.domain.backtest_reference import backtest_one
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.costs import CostModel
from regimeforge.domain.errors import PluginError
from regimeforge.domain.forecasts import MemberForecasts
from regimeforge.plugins.descriptors import MetricDescriptor
from regimeforge.plugins.manager import get_plugin_manager

REGIMES = ["calm", "wild"]


class WorstBar:
    """The worst bar's PnL (a tail-risk metric; higher is better)."""

    name = "worst_bar"
    higher_is_better = True

    def compute(
        self, pnl: np.ndarray, positions: np.ndarray, periods_per_year: float
    ) -> np.ndarray:
        if pnl.shape[1] == 0:
            return np.zeros(pnl.shape[0])
        return pnl.min(axis=1)


class Broken:
    name = "broken"
    higher_is_better = True

    def __init__(self, value: float | None) -> None:
        self.value = value

    def compute(
        self, pnl: np.ndarray, positions: np.ndarray, periods_per_year: float
    ) -> np.ndarray:
        if self.value is None:
            return np.zeros(7)  # wrong shape: the blocks hold 3 thresholds
        return np.full(pnl.shape[0], self.value)


class TailRiskPlugin:
    @hookimpl
    def register_metrics(self) -> list[MetricDescriptor]:
        return [MetricDescriptor("worst_bar", WorstBar(), "worst bar PnL")]


def make_input(n: int = 150) -> InnerLoopInput:
    rng = np.random.default_rng(7)
    returns = rng.normal(0, 1e-3, n)
    member = MemberForecasts(
        rng.normal(0, 1e-3, (3, n)) + 0.5 * returns, np.ones(3), np.full(3, 1 / 3)
    )
    labels = np.where(np.arange(n) % 20 < 12, "calm", "wild").astype(object)
    return InnerLoopInput({"direct": member}, returns, labels, 252.0, CostModel())


GRID = [
    InferenceConfig("direct", e, t, 30)
    for e, t in itertools.product(("mean", "weighted"), (0.0, 0.5, 0.8))
]


def test_a_plugin_metric_reaches_every_result_and_regime() -> None:
    registry = get_plugin_manager(entry_points=False, extra_plugins=[TailRiskPlugin()])
    assert registry.origin("metrics", "worst_bar") == "TailRiskPlugin"
    metrics = [d.metric for d in registry.metrics.values()]
    assert {"sharpe", "hit_rate", "worst_bar"} <= {m.name for m in metrics}
    inp = make_input()
    results = run_inner_loop(inp, GRID, metrics, regimes=REGIMES, min_bars=10, min_trades=1)
    for result in results:
        slow = backtest_one(
            inp, result.inference, metrics, regimes=REGIMES, min_bars=10, min_trades=1
        )
        assert result.metrics["worst_bar"] == pytest.approx(slow.metrics["worst_bar"], rel=1e-12)
        assert result.metrics["worst_bar"] < 0
        for regime in REGIMES:
            assert result.regime_metrics[regime]["worst_bar"] == pytest.approx(
                slow.regime_metrics[regime]["worst_bar"], rel=1e-12
            )
    # a higher threshold trades less, so its worst bar can only be milder
    worst = [r.metrics["worst_bar"] for r in results[:3]]
    assert worst == sorted(worst)


def test_plugin_values_are_stored_finite_and_bad_shapes_name_the_metric() -> None:
    inp = make_input(40)
    for value, stored in ((np.nan, 0.0), (np.inf, 1e12), (-np.inf, -1e12)):
        [result] = run_inner_loop(
            inp, GRID[:1], [Broken(value)], regimes=REGIMES, min_bars=1, min_trades=0
        )
        assert result.metrics["broken"] == stored
        assert result.regime_metrics["calm"]["broken"] == stored
    with pytest.raises(PluginError, match="'broken' returned shape"):
        run_inner_loop(inp, GRID, [Broken(None)], regimes=REGIMES, min_bars=1, min_trades=0)
