"""The fused numba kernel gives the numpy kernel's numbers; without numba we fall back."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inner_loop_cases import DEFAULT_GRID, REGIMES, make_input

import regimeforge.plugins.builtin.numba_kernel as nk
from regimeforge.domain.backtest import run_inner_loop
from regimeforge.domain.kernel import NumpyBacktestKernel, SignalBlock
from regimeforge.domain.metrics import builtin_metrics

pytestmark = pytest.mark.skipif(not nk.numba_available(), reason="numba is not installed")


def random_block(seed: int, n: int, n_groups: int, cost: float) -> SignalBlock:
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 0.0, 1.0], n, p=[0.45, 0.1, 0.45])
    confidence = rng.uniform(0, 1, n)
    confidence[rng.random(n) < 0.05] = 1.0
    returns = rng.normal(0, 1e-3, n)
    returns[rng.random(n) < 0.05] = 0.0
    groups = rng.integers(-1, n_groups, n) if n_groups else np.full(n, -1)
    return SignalBlock(signs, confidence, returns, groups.astype(np.int64), n_groups, cost, 6240.0)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 100_000),
    st.integers(0, 300),
    st.integers(0, 5),
    st.sampled_from([0.0, 1e-4, 5e-3]),
)
def test_numba_equals_numpy_on_random_blocks(seed: int, n: int, n_groups: int, cost: float) -> None:
    block = random_block(seed, n, n_groups, cost)
    thresholds = np.array([0.0, 0.3, 0.5, 0.7, 0.9, 1.0])
    fast = nk.NumbaBacktestKernel().evaluate(block, thresholds)
    slow = NumpyBacktestKernel().evaluate(block, thresholds)
    assert fast.shape == slow.shape == (n_groups + 1, 11, 6)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)


def test_numba_kernel_through_the_inner_loop_for_all_135_configs() -> None:
    inp = make_input(seed=11, n=400)
    metrics = builtin_metrics()
    kw = {"regimes": REGIMES, "min_bars": 30, "min_trades": 3}
    fast = run_inner_loop(inp, DEFAULT_GRID, metrics, kernel=nk.NumbaBacktestKernel(), **kw)
    slow = run_inner_loop(inp, DEFAULT_GRID, metrics, kernel=NumpyBacktestKernel(), **kw)
    for a, b in zip(fast, slow, strict=True):
        assert a.inference == b.inference
        assert a.metrics == pytest.approx(b.metrics, rel=1e-9, abs=1e-9)
        for regime in REGIMES:
            assert a.regime_metrics[regime] == pytest.approx(
                b.regime_metrics[regime], rel=1e-9, abs=1e-9
            )


def test_default_kernel_prefers_numba_and_falls_back_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert nk.default_kernel().name == "numba"
    assert nk.default_kernel(prefer="numpy").name == "numpy"
    monkeypatch.setattr(nk, "numba", None)
    assert not nk.numba_available()
    assert isinstance(nk.default_kernel(), NumpyBacktestKernel)
    with pytest.raises(RuntimeError, match="numba is not installed"):
        nk.NumbaBacktestKernel().evaluate(random_block(0, 5, 1, 0.0), np.array([0.5]))
