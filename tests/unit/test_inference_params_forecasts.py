"""Inference ``params`` reach the model: one forecast per (method, params), used by their configs.

A diffusion model's ``n_samples`` or ``sampling_steps`` change its forecasts without retraining,
so the inner loop must read, for each inference config, the forecasts made with that config's
params; models without inference parameters keep one forecast per method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import pytest
from inner_loop_cases import REGIMES, make_input

from regimeforge.domain.backtest import forecast_key, grid_forecasts, run_inner_loop
from regimeforge.domain.backtest_reference import backtest_one
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.forecasts import MemberForecasts
from regimeforge.domain.inference_grid import expand_inference_grid
from regimeforge.domain.metrics import builtin_metrics

METRICS = builtin_metrics()
OPTIONS: dict[str, Any] = {"regimes": REGIMES, "min_bars": 30, "min_trades": 3}


class SamplingModel:
    """A fake trained model whose forecasts depend on ``params["n_samples"]``; records calls."""

    feature_count = 2
    training_metrics: Mapping[str, float] = {}

    def __init__(self, base: Mapping[str, MemberForecasts]) -> None:
        self.base = base
        self.calls: list[tuple[str, dict[str, Any] | None]] = []

    def forecast(
        self, features: np.ndarray, method: str, params: Mapping[str, Any] | None = None
    ) -> MemberForecasts:
        self.calls.append((method, None if params is None else dict(params)))
        member = self.base[method]
        shift = 1e-4 * int((params or {}).get("n_samples", 0))
        return MemberForecasts(
            member.values + shift, member.val_errors, member.stack_coef, member.stack_intercept,
            member.spread,
        )  # fmt: skip

    def to_bytes(self) -> bytes:
        return b""


def test_forecast_keys_name_the_method_and_the_params() -> None:
    bare = InferenceConfig("direct", "mean", 0.5, 50)
    assert forecast_key(bare) == "direct"
    with_params = InferenceConfig.from_mapping(
        {**bare.to_dict(), "params": {"sampler": "ddim", "n_samples": 16}}
    )
    assert forecast_key(with_params) == 'direct {"n_samples":16,"sampler":"ddim"}'


def test_one_forecast_per_method_and_params_set() -> None:
    inp = make_input(seed=3)
    grid = expand_inference_grid(
        {"prediction_method": ["direct", "recursive"], "params": {"n_samples": [8, 32]}}
    )
    model = SamplingModel(inp.forecasts)
    forecasts = grid_forecasts(model, np.zeros((260, 2)), grid)
    assert len(grid) == 2 * 3 * 5 * 3 * 2
    assert sorted(model.calls, key=str) == sorted(
        [(m, {"n_samples": s}) for m in ("direct", "recursive") for s in (8, 32)], key=str
    )
    assert set(forecasts) == {forecast_key(c) for c in grid}
    inp = attrs.evolve(inp, forecasts=forecasts)
    by_samples: dict[int, list[float]] = {8: [], 32: []}
    for result in run_inner_loop(inp, list(grid), METRICS, **OPTIONS):
        slow = backtest_one(inp, result.inference, METRICS, **OPTIONS)
        assert result.metrics == pytest.approx(slow.metrics, rel=1e-9, abs=1e-12)
        by_samples[int(result.inference.params["n_samples"])].append(result.metrics["total_return"])
    assert by_samples[8] != by_samples[32]  # each config read its own params' forecasts


def test_configs_with_params_fall_back_to_the_method_forecasts() -> None:
    inp = make_input(seed=4)
    plain = [InferenceConfig("direct", "mean", 0.3, 50)]
    with_params = [InferenceConfig.from_mapping({**plain[0].to_dict(), "params": {"n": 1}})]
    a = run_inner_loop(inp, plain, METRICS, **OPTIONS)[0]
    b = run_inner_loop(inp, with_params, METRICS, **OPTIONS)[0]
    assert a.metrics == b.metrics
