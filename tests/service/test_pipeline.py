"""evaluate_config: what a worker does with one config, against fake data, features and trainer
(the inner loop, the regime detector and the metrics are the real domain code)."""

from __future__ import annotations

import pickle

import pytest

from fake_tasks import CATALOG
from fakes import FakeClock, FakeDataSource, FakeFeatureBuilder, FakeTrainer
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.costs import CostModel
from regimeforge.domain.errors import CancelledError
from regimeforge.domain.events import InferenceProgress
from regimeforge.domain.metrics import builtin_metrics
from regimeforge.domain.ports import ArtifactInfo
from regimeforge.domain.regime_detection import RuleRegimeDetector
from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS, DEFAULT_REGIMES
from regimeforge.domain.usecases.pipeline import evaluate_config, to_worker_result

pytest.importorskip("regimeforge.domain.marketdata")

CONFIG = ModelConfig.from_mapping(
    {
        "model_type": "ridge",
        "symbol": "EUR/USD",
        "base_timeframe": "1h",
        "days_history": 120,
        "horizon": 3,
    },
    CATALOG,
)
GRID = [
    InferenceConfig.from_mapping(
        {
            "prediction_method": p,
            "ensemble_method": e,
            "confidence_threshold": c,
            "lookback_window": 50,
        }
    )
    for p in ("direct", "recursive")
    for e in ("mean", "weighted", "stacking")
    for c in (0.0, 0.5)
]


def evaluate(source: FakeDataSource | None = None, **kwargs):
    return evaluate_config(
        CONFIG,
        source=source or FakeDataSource(),
        features=FakeFeatureBuilder(),
        trainer=kwargs.pop("trainer", FakeTrainer()),
        detector=RuleRegimeDetector(percentile_window=200),
        regimes=DEFAULT_REGIME_DEFINITIONS,
        inference_grid=GRID,
        metrics=builtin_metrics(),
        cost=CostModel(),
        min_bars=20,
        min_trades=2,
        clock=FakeClock(),
        **kwargs,
    )


def test_one_training_backtests_every_inference_config() -> None:
    trainer = FakeTrainer()
    events = []
    evaluation = evaluate(trainer=trainer, progress=events.append, run_uuid="r1")
    assert trainer.fits == 1
    assert [b.inference for b in evaluation.backtests] == GRID
    first = evaluation.backtests[0]
    assert "sharpe" in first.metrics and set(first.regime_metrics) == set(DEFAULT_REGIMES)
    assert {"bars", "trades", "sufficient"} <= set(first.regime_metrics["calm_ranging"])
    assert evaluation.feature_count == 5 and evaluation.durations["fit"] > 0
    assert events and all(isinstance(e, InferenceProgress) for e in events)
    assert events[-1].done == events[-1].total == len(GRID)


def test_the_fingerprint_follows_the_bars() -> None:
    assert evaluate().data_fingerprint == evaluate().data_fingerprint
    assert evaluate().data_fingerprint != evaluate(FakeDataSource(seed=8)).data_fingerprint


def test_a_cancel_between_batches_stops_the_inner_loop() -> None:
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(CancelledError):
        evaluate(should_stop=stop)


def test_the_worker_result_is_plain_and_picklable() -> None:
    evaluation = evaluate()
    result = to_worker_result(evaluation, ArtifactInfo("m.bin", 10, "ab" * 32))
    again = pickle.loads(pickle.dumps(result))
    assert again == result and len(again.backtests) == len(GRID)
    record = again.backtests[0]
    assert InferenceConfig.from_mapping(record.inference) == GRID[0]
    assert record.inference_hash == GRID[0].config_hash
