"""Built-in metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regimeforge.domain.metrics import (
    LOG_RETURN_CAP,
    METRIC_NAMES,
    PROFIT_FACTOR_CAP,
    BuiltinMetric,
    bar_facts,
    builtin_metrics,
    metric_table,
)


def table_of(
    pnl: list[float], positions: list[float], returns: list[float] | None = None, ppy: float = 1.0
) -> dict[str, float]:
    p = np.array([positions], dtype=float)
    turnover, entries, hits = bar_facts(p, None if returns is None else np.array([returns]))
    table = metric_table(
        np.array([pnl], dtype=float), p, turnover, entries, hits, periods_per_year=ppy
    )
    return {k: float(v[0]) for k, v in table.items()}


def test_the_worked_example_of_the_docs() -> None:
    positions = [1, 1, 0, -1, -1]
    returns = [0.01, -0.02, 0.03, -0.01, 0.02]
    pnl = [p * r for p, r in zip(positions, returns, strict=True)]  # cost 0
    t = table_of(pnl, positions, returns, ppy=4.0)
    mean, std = -0.004, math.sqrt(9.2e-4 / 4)
    assert t["sharpe"] == pytest.approx(mean / std * 2.0)
    assert t["sortino"] == pytest.approx(mean / math.sqrt(8e-4 / 5) * 2.0)
    assert t["max_drawdown"] == pytest.approx(1 - math.exp(-0.03))
    assert t["calmar"] == pytest.approx(mean * 4.0 / (1 - math.exp(-0.03)))
    assert t["total_return"] == pytest.approx(math.exp(-0.02) - 1)
    assert t["win_rate"] == 0.5
    assert t["profit_factor"] == pytest.approx(0.5)
    assert t["n_trades"] == 2.0
    assert t["exposure"] == 0.8
    assert t["turnover"] == pytest.approx(0.6)
    assert t["hit_rate"] == 0.5


def test_a_flip_is_one_trade_and_two_units_of_turnover() -> None:
    t = table_of([0.01, 0.02], [1, -1], [0.01, -0.02])
    assert t["n_trades"] == 2.0 and t["turnover"] == pytest.approx(1.5)
    assert t["hit_rate"] == 1.0


def test_drawdown_counts_from_the_starting_equity() -> None:
    assert table_of([-0.1, 0.05], [1, 1])["max_drawdown"] == pytest.approx(1 - math.exp(-0.1))
    assert table_of([0.1, 0.2], [1, 1])["max_drawdown"] == 0.0


def test_undefined_ratios_are_zero_and_profit_factor_is_capped() -> None:
    flat = table_of([0.0] * 4, [0] * 4, [0.1] * 4)
    assert all(v == 0.0 for v in flat.values())
    gains_only = table_of([0.01, 0.02, 0.01], [1, 1, 1])
    assert gains_only["profit_factor"] == PROFIT_FACTOR_CAP
    assert gains_only["sortino"] == 0.0 and gains_only["calmar"] == 0.0
    constant = table_of([1e-4] * 50, [1] * 50)
    assert constant["sharpe"] == 0.0  # std is rounding noise of a constant series
    assert table_of([1e-9, 1e-3], [1, 1])["profit_factor"] == PROFIT_FACTOR_CAP


def test_annualisation_scales_sharpe_by_the_root_of_periods() -> None:
    pnl, pos = [0.01, -0.005, 0.02, 0.0], [1, 1, 1, 1]
    assert table_of(pnl, pos, ppy=252)["sharpe"] == pytest.approx(
        table_of(pnl, pos, ppy=1)["sharpe"] * math.sqrt(252)
    )


def test_everything_stays_finite() -> None:
    huge = table_of([500.0, 500.0], [1, 1])
    assert huge["total_return"] == math.expm1(LOG_RETURN_CAP)
    one = table_of([0.01], [1])
    assert one["sharpe"] == 0.0 and one["n_trades"] == 1.0
    empty = metric_table(
        *(np.zeros((3, 0)),) * 2,
        np.zeros((3, 0)),
        np.zeros((3, 0), bool),
        np.zeros((3, 0), bool),
        periods_per_year=252.0,
    )
    assert set(empty) == set(METRIC_NAMES) and all((v == 0).all() for v in empty.values())


def test_builtin_metric_objects_compute_columns() -> None:
    metrics = {m.name: m for m in builtin_metrics()}
    assert list(metrics) == list(METRIC_NAMES)
    assert not metrics["max_drawdown"].higher_is_better and metrics["sharpe"].higher_is_better
    pnl = np.array([[0.01, -0.02, 0.0], [0.0, 0.0, 0.0]])
    positions = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(metrics["exposure"].compute(pnl, positions, 252.0), [2 / 3, 0.0])
    returns = np.array([0.01, -0.02, 0.5])
    np.testing.assert_allclose(
        metrics["hit_rate"].compute(pnl, positions, 252.0, returns=returns), [0.5, 0.0]
    )
    with pytest.raises(ValueError, match="returns"):
        BuiltinMetric("hit_rate", True).compute(pnl, positions, 252.0)
