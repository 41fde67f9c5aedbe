"""A worker hands each inference config's ``params`` to the model (no retraining): one forecast
per (prediction method, params), each read by the configs that carry those params."""

from __future__ import annotations

from typing import Any

import pytest

from fake_tasks import CATALOG
from fakes import FakeClock, FakeDataSource, FakeFeatureBuilder, FakeTrainer
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.costs import CostModel
from regimeforge.domain.inference_grid import expand_inference_grid
from regimeforge.domain.metrics import builtin_metrics
from regimeforge.domain.regime_detection import RuleRegimeDetector
from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS
from regimeforge.domain.usecases.pipeline import evaluate_config

pytest.importorskip("regimeforge.domain.marketdata")

CONFIG = ModelConfig.from_mapping(
    {"model_type": "ridge", "symbol": "EUR/USD", "base_timeframe": "1h", "days_history": 120,
     "horizon": 3},
    CATALOG,
)  # fmt: skip


class SamplingTrainer(FakeTrainer):
    """The fake trainer whose models' forecasts flip sign with ``n_samples`` and record calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def fit(self, data: Any, config: Any) -> Any:
        model = super().fit(data, config)
        plain, calls = model.forecast, self.calls

        def forecast(features: Any, method: str, params: Any = None) -> Any:
            calls.append((method, params))
            member = plain(features, method, params)
            if (params or {}).get("n_samples") == 8:
                return type(member)(-member.values, member.val_errors, member.stack_coef)
            return member

        model.forecast = forecast
        return model


def test_each_params_set_gets_its_own_forecasts() -> None:
    grid = expand_inference_grid(
        {"prediction_method": ["direct", "recursive"], "ensemble_method": ["mean"],
         "confidence_threshold": [0.0], "lookback_window": [50],
         "params": {"n_samples": [4, 8]}}
    )  # fmt: skip
    trainer = SamplingTrainer()
    evaluation = evaluate_config(
        CONFIG, source=FakeDataSource(), features=FakeFeatureBuilder(), trainer=trainer,
        detector=RuleRegimeDetector(percentile_window=200), regimes=DEFAULT_REGIME_DEFINITIONS,
        inference_grid=grid, metrics=builtin_metrics(), cost=CostModel(0.0, 0.0), min_bars=20,
        min_trades=2, clock=FakeClock(),
    )  # fmt: skip
    assert trainer.fits == 1
    assert sorted(trainer.calls, key=str) == sorted(
        [(m, {"n_samples": n}) for m in ("direct", "recursive") for n in (4, 8)], key=str
    )
    returns = {
        (b.inference.prediction_method, b.inference.params["n_samples"]):
            b.metrics["total_return"] for b in evaluation.backtests
    }  # fmt: skip
    for method in ("direct", "recursive"):
        assert returns[(method, 4)] != returns[(method, 8)]  # opposite positions, without costs
