"""Builders of domain objects for the storage tests (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from regimeforge.domain.catalog import ConfigCatalog
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.entities import InferenceBacktest, QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.states import RunStatus

T0 = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def new_uuid() -> str:
    """A fresh uuid4 string."""
    return str(uuid.uuid4())


def model_config(catalog: ConfigCatalog, **changes: Any) -> ModelConfig:
    """A valid EUR/USD ridge config with indicators, features and hyperparameters."""
    data: dict[str, Any] = {
        "model_type": "ridge",
        "encoder": "pca",
        "symbol": "EUR/USD",
        "base_timeframe": "1h",
        "days_history": 120,
        "horizon": 5,
        "indicator_tfs": {"rsi": ["4h", "1h"], "macd": ["1h"]},
        "additional_features": {"returns_volatility": True, "trading_sessions": True},
        "preprocessing": {"warmup_bars": 32, "min_coverage": 0.95},
        "model_hyperparams": {"alpha": 0.25},
        "encoder_params": {"n_components": 0.9},
        "seed": 7,
    }
    data.update(changes)
    return ModelConfig.from_mapping(data, catalog)


def make_run(
    config: ModelConfig,
    *,
    status: RunStatus = RunStatus.COMPLETED,
    fingerprint: str = "f" * 64,
    queue_uuid: str | None = None,
    at: datetime = T0,
) -> TrainingRun:
    """A run of ``config`` in ``status`` with every field filled in."""
    run = TrainingRun(
        run_uuid=new_uuid(),
        config=config,
        config_hash=config.config_hash,
        seed=config.seed,
        queue_uuid=queue_uuid,
        created_by="tester@host",
        package_version="0.1.0",
        created_at=at,
    )
    if status is RunStatus.PENDING:
        return run
    if status is RunStatus.CANCELLED:
        return run.cancel(at + timedelta(seconds=1))
    run = run.start(at + timedelta(seconds=1), fingerprint)
    if status is RunStatus.FAILED:
        return run.fail(at + timedelta(seconds=2), "boom: it broke")
    if status is RunStatus.COMPLETED:
        return run.complete(
            at + timedelta(seconds=90),
            training_metrics={"val_mse": 0.5, "members": 5},
            feature_count=42,
            training_duration_seconds=88.5,
            model_file_path="model-00001.bin",
            model_file_size_bytes=12_345_678_901,
            model_file_sha256="a" * 64,
            is_model_kept=True,
            best_regimes=("bull_trending", "calm_ranging"),
        )
    return run


def make_backtest(run_uuid: str, i: int, *, sharpe: float = 1.0, drawdown: float = -0.1):
    """Backtest number ``i`` of a run (distinct inference configs and hashes)."""
    inference = InferenceConfig.from_mapping(
        {
            "prediction_method": ("direct", "recursive", "direct_multi")[i % 3],
            "ensemble_method": ("mean", "weighted", "stacking")[i % 3],
            "confidence_threshold": (i % 10) / 10,
            "lookback_window": 20 + i,
            "params": {"n_samples": 8} if i % 2 else {},
        }
    )
    return InferenceBacktest(
        backtest_uuid=new_uuid(),
        run_uuid=run_uuid,
        inference=inference,
        inference_hash=inference.config_hash,
        backtest_metrics={"sharpe": sharpe, "max_drawdown": drawdown, "trades": 12 + i},
        regime_metrics={
            "bull_trending": {"sharpe": sharpe + 0.5, "bars": 300, "sufficient": True},
            "calm_ranging": {"sharpe": -0.2, "bars": 12, "sufficient": False},
        },
        duration_seconds=0.125,
        created_at=T0 + timedelta(minutes=i),
    )


def make_queue(n_items: int, name: str = "grid-a", at: datetime = T0):
    """A pending queue of ``n_items`` items with distinct config hashes."""
    queue = TrainingQueue(
        queue_uuid=new_uuid(),
        name=name,
        config_grid={"grid": {"model_type": ["ridge", "rf"], "horizon": [5, 10]}, "data": {}},
        total_configs=n_items,
        inference_grid={"confidence_threshold": [0.0, 0.5]},
        max_parallel=2,
        priority=3,
        created_at=at,
        updated_at=at,
    )
    items = [QueueItem(queue.queue_uuid, i, f"{i:064x}") for i in range(n_items)]
    return queue, items
