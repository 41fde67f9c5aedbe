"""The vectorised inner loop equals the slow bar-by-bar reference, and its core rules hold."""

from __future__ import annotations

import json
import math
import random

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inner_loop_cases import DEFAULT_GRID, REGIMES, make_input

from regimeforge.domain.backtest import BacktestResult, InnerLoopInput, run_inner_loop
from regimeforge.domain.backtest_reference import backtest_one
from regimeforge.domain.confidence import confidence
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.costs import EQUITY_COSTS, FX_COSTS, CostModel, cost_for_symbol
from regimeforge.domain.ensembles import ensemble, member_weights
from regimeforge.domain.errors import CancelledError, ConfigError, DataError
from regimeforge.domain.forecasts import MemberForecasts
from regimeforge.domain.kernel import SignalBlock, positions_and_pnl
from regimeforge.domain.metrics import builtin_metrics

METRICS = builtin_metrics()


def run(inp: InnerLoopInput, grid: list[InferenceConfig], **kw: object) -> list[BacktestResult]:
    options: dict = {"regimes": REGIMES, "min_bars": 30, "min_trades": 3, **kw}
    return run_inner_loop(inp, grid, METRICS, **options)


def assert_same(fast: BacktestResult, slow: BacktestResult) -> None:
    assert fast.inference == slow.inference
    assert fast.metrics.keys() == slow.metrics.keys()
    for name, value in slow.metrics.items():
        assert fast.metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert fast.regime_metrics.keys() == slow.regime_metrics.keys()
    for regime, values in slow.regime_metrics.items():
        for name, value in values.items():
            got = fast.regime_metrics[regime][name]
            assert type(got) is type(value), (regime, name)
            assert got == pytest.approx(value, rel=1e-9, abs=1e-12), (regime, name)


def test_vectorised_equals_the_bar_by_bar_reference_for_all_135_configs() -> None:
    inp = make_input(seed=1)
    fast = run(inp, DEFAULT_GRID)
    assert len(fast) == 135
    for result in fast:
        slow = backtest_one(
            inp, result.inference, METRICS, regimes=REGIMES, min_bars=30, min_trades=3
        )
        assert_same(result, slow)
    # the grid exercises both outcomes of the regime gate
    flags = {r.regime_metrics[g]["sufficient"] for r in fast for g in REGIMES}
    assert flags == {True, False}


def test_results_follow_the_grid_order_and_are_json_safe() -> None:
    inp = make_input(seed=2, n=120)
    grid = DEFAULT_GRID[:]
    random.Random(3).shuffle(grid)
    results = run(inp, grid)
    assert [r.inference for r in results] == grid
    for r in results:
        json.dumps(
            {"m": dict(r.metrics), "r": {k: dict(v) for k, v in r.regime_metrics.items()}},
            allow_nan=False,
        )
        assert set(r.metrics) == {m.name for m in METRICS}
        assert all(
            set(v) == {*r.metrics, "bars", "trades", "sufficient"}
            for v in r.regime_metrics.values()
        )


def test_degenerate_inputs_give_finite_zeros() -> None:
    n = 40
    flat = MemberForecasts(
        values=np.zeros((2, n)),
        val_errors=np.array([0.0, np.nan]),
        stack_coef=np.zeros(2),
        spread=np.zeros((2, n)),
    )
    inp = InnerLoopInput(
        {"direct": flat}, np.full(n, np.nan), np.full(n, "", dtype=object), 252.0, CostModel()
    )
    grid = [InferenceConfig("direct", e, 0.0, 20) for e in ("mean", "weighted", "stacking")]
    for r in run(inp, grid):
        assert all(v == 0.0 for v in r.metrics.values())
        assert all(not v["sufficient"] and v["bars"] == 0 for v in r.regime_metrics.values())


def test_cancel_between_batches_and_progress_after_each() -> None:
    inp = make_input(seed=4, n=80)
    seen: list[tuple[int, int]] = []
    results = run(inp, DEFAULT_GRID, progress=lambda d, t: seen.append((d, t)))
    assert len(results) == 135
    assert seen == [(5 * i, 135) for i in range(1, 28)]
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    seen.clear()
    with pytest.raises(CancelledError, match="15 of 135"):
        run(inp, DEFAULT_GRID, should_stop=stop, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(5, 135), (10, 135), (15, 135)]


def test_clock_time_of_a_batch_is_shared_by_its_configs() -> None:
    ticks = iter(range(1000))
    results = run(make_input(seed=5, n=60), DEFAULT_GRID[:10], clock=lambda: float(next(ticks)))
    # the first ten configs are three batches: lookback 50 (4 configs), 100 and 200 (3 each)
    sizes = {50: 4, 100: 3, 200: 3}
    assert [r.duration_seconds for r in results] == [
        pytest.approx(1 / sizes[r.inference.lookback_window]) for r in results
    ]
    assert all(r.duration_seconds == 0.0 for r in run(make_input(n=60), DEFAULT_GRID[:5]))


def test_bad_grid_and_bad_shapes_are_reported_at_once() -> None:
    inp = make_input(n=50)
    grid = [
        InferenceConfig("sideways", "median", 0.5, 50),
        InferenceConfig("direct", "mean", 0.5, 0),
    ]
    with pytest.raises(ConfigError) as exc:
        run(inp, grid)
    assert {p.path for p in exc.value.problems} == {
        "grid[0].prediction_method",
        "grid[0].ensemble_method",
        "grid[1].lookback_window",
    }
    short = attrs.evolve(inp, bar_returns=inp.bar_returns[:-1])
    with pytest.raises(DataError, match="regime_labels"):
        run(short, DEFAULT_GRID[:1])


# --- properties -----------------------------------------------------------------------------

small_inputs = st.builds(
    make_input,
    seed=st.integers(0, 10_000),
    n=st.integers(3, 90),
    k=st.integers(1, 4),
    nan_tail=st.integers(0, 2),
)
GRID_ONE_BATCH_EACH = [
    InferenceConfig(m, e, t, 20)
    for m in ("direct", "recursive")
    for e in ("mean", "stacking")
    for t in (0.0, 0.3, 0.6, 0.95)
]


@settings(max_examples=30, deadline=None)
@given(small_inputs)
def test_threshold_zero_is_always_in_the_market_where_the_forecast_is_not_zero(
    inp: InnerLoopInput,
) -> None:
    valid = np.isfinite(inp.bar_returns)
    for r in run(inp, [c for c in GRID_ONE_BATCH_EACH if c.confidence_threshold == 0.0]):
        f, _ = ensemble(inp.forecasts[r.inference.prediction_method], r.inference.ensemble_method)
        expected = np.mean(f[valid] != 0) if valid.any() else 0.0
        assert r.metrics["exposure"] == pytest.approx(expected)


@settings(max_examples=30, deadline=None)
@given(small_inputs)
def test_exposure_never_grows_with_the_threshold(inp: InnerLoopInput) -> None:
    results = run(inp, GRID_ONE_BATCH_EACH)
    for i in range(0, len(results), 4):
        batch = results[i : i + 4]
        assert [r.inference.confidence_threshold for r in batch] == [0.0, 0.3, 0.6, 0.95]
        exposure = [r.metrics["exposure"] for r in batch]
        assert exposure == sorted(exposure, reverse=True)
        for g in REGIMES:
            per = [r.regime_metrics[g]["exposure"] for r in batch]
            assert per == sorted(per, reverse=True)


@settings(max_examples=30, deadline=None)
@given(small_inputs, st.floats(0.01, 50.0), st.floats(0.0, 20.0))
def test_costs_reduce_pnl(inp: InnerLoopInput, spread: float, commission: float) -> None:
    free = run(attrs.evolve(inp, cost=CostModel(0.0, 0.0)), GRID_ONE_BATCH_EACH)
    paid = run(attrs.evolve(inp, cost=CostModel(spread, commission)), GRID_ONE_BATCH_EACH)
    for a, b in zip(free, paid, strict=True):
        assert b.metrics["total_return"] <= a.metrics["total_return"]
        if a.metrics["n_trades"] > 0:
            assert b.metrics["total_return"] < a.metrics["total_return"]
        assert b.metrics["exposure"] == a.metrics["exposure"]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 60), st.integers(1, 40), st.booleans())
def test_no_look_ahead(seed: int, n: int, lookback: int, own_spread: bool) -> None:
    """Positions and PnL up to t never depend on forecasts or returns after t."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    spread = rng.uniform(0.5, 2.0, n) if own_spread else None
    r = rng.normal(size=n)
    t = int(rng.integers(0, n))
    changed_f, changed_r = f.copy(), r.copy()
    changed_f[t + 1 :] = rng.normal(size=n - t - 1) * 5
    changed_r[t + 1 :] = rng.normal(size=n - t - 1) * 5
    changed_s = None if spread is None else np.where(np.arange(n) > t, 9.0, spread)
    thresholds = np.array([0.0, 0.2, 0.5, 0.8])

    def trade(f_: np.ndarray, r_: np.ndarray, s_: np.ndarray | None) -> tuple[np.ndarray, ...]:
        block = SignalBlock(
            np.sign(f_),
            confidence(f_, lookback, s_),
            r_,
            np.zeros(n, dtype=np.int64),
            1,
            1e-4,
            252.0,
        )
        positions, pnl, *_ = positions_and_pnl(block, thresholds)
        return positions[:, : t + 1], pnl[:, : t + 1]

    before, after = trade(f, r, spread), trade(changed_f, changed_r, changed_s)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


# --- ensembles and costs --------------------------------------------------------------------


def test_member_weights_guard_zero_nan_and_negative_errors() -> None:
    np.testing.assert_allclose(member_weights(np.array([1.0, 3.0])), [0.75, 0.25])
    w = member_weights(np.array([0.0, 1.0, np.nan, -1.0, np.inf]))
    assert w[0] == pytest.approx(1.0) and w[2] == w[3] == w[4] == 0.0 and w.sum() == 1.0
    np.testing.assert_allclose(member_weights(np.array([np.nan, -2.0])), [0.5, 0.5])


def test_ensembles_and_their_spreads() -> None:
    values = np.array([[1.0, 2.0], [3.0, 6.0]])
    spread = np.array([[1.0, 1.0], [1.0, 3.0]])
    m = MemberForecasts(values, np.array([1.0, 3.0]), np.array([2.0, -1.0]), 0.5, spread)
    f, s = ensemble(m, "mean")
    np.testing.assert_allclose(f, [2.0, 4.0])
    # within: mean of s² = [1, 5]; between: population variance = [1, 4]
    np.testing.assert_allclose(s, np.sqrt([2.0, 9.0]))
    f, s = ensemble(m, "weighted")
    np.testing.assert_allclose(f, [0.75 * 1 + 0.25 * 3, 0.75 * 2 + 0.25 * 6])
    np.testing.assert_allclose(
        s, np.sqrt([1 + 0.75 * 0.25 * 4, 0.75 + 0.25 * 9 + 0.75 * 0.25 * 16])
    )
    f, s = ensemble(m, "stacking")
    np.testing.assert_allclose(f, [0.5 + 2 - 3, 0.5 + 4 - 6])
    w = np.array([2 / 3, 1 / 3])
    centre = w @ values
    mixture = np.sqrt(w @ spread**2 + w @ (values - centre) ** 2)
    np.testing.assert_allclose(s, 3.0 * mixture)
    assert ensemble(attrs.evolve(m, spread=None), "mean")[1] is None
    with pytest.raises(ValueError, match="median"):
        ensemble(m, "median")


def test_costs_per_unit_turnover_and_per_symbol() -> None:
    assert CostModel(1.0, 0.5).per_unit_turnover == pytest.approx(1e-4)
    assert cost_for_symbol("EUR/USD") == FX_COSTS
    assert cost_for_symbol("GOOG") == EQUITY_COSTS
    assert EQUITY_COSTS.per_unit_turnover > FX_COSTS.per_unit_turnover
    costs = {"default": {"spread_bps": 0.8}, "symbols": {"GOOG": {"commission_bps": 3}}}
    assert cost_for_symbol("EUR/USD", costs) == CostModel(0.8, 0.5)
    assert cost_for_symbol("GOOG", costs) == CostModel(0.8, 3.0)
    bad = {
        "default": {"spread_bps": -1},
        "symbols": {"X": {"commission_bps": "a", "spread_bps": True}},
    }
    with pytest.raises(ConfigError) as exc:
        cost_for_symbol("X", bad)
    assert {p.path for p in exc.value.problems} == {
        "costs.default.spread_bps",
        "costs.symbols.X.commission_bps",
        "costs.symbols.X.spread_bps",
    }
    assert math.isfinite(cost_for_symbol("X", {}).per_unit_turnover)
