"""The worker task with the real plugins: synthetic data, features, a ridge model, the inner loop,
the model file in a real artifact store; in this process and in a child process."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from regimeforge.adapters.artifacts import FilesystemArtifactStore
from regimeforge.adapters.executors.process import LocalProcessExecutor
from regimeforge.adapters.worker import WorkerSpec, run_task
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS, DEFAULT_REGIMES
from regimeforge.domain.usecases.tasks import WorkerResult, plain

CONFIG = {"model_type": "ridge", "encoder": "none", "symbol": "EUR/USD", "base_timeframe": "1h",
          "days_history": 150, "horizon": 3}  # fmt: skip
INFERENCE = [
    {"prediction_method": p, "ensemble_method": e, "confidence_threshold": c, "lookback_window": 50}
    for p in ("direct", "recursive")
    for e in ("mean", "stacking")
    for c in (0.0, 0.6)
]


def spec(tmp_path: Path, **changes) -> WorkerSpec:
    regimes = [
        plain(attrs.asdict(r, recurse=False, filter=lambda a, _: a.name != "created_at"))
        for r in DEFAULT_REGIME_DEFINITIONS
    ]
    base = WorkerSpec(
        run_uuid="r1",
        config=CONFIG,
        data={"source": "synthetic", "bars": 4000, "seed": 3},
        base_dir=str(tmp_path),
        inference=INFERENCE,
        regimes=regimes,
        artifacts_dir=str(tmp_path / "artifacts"),
        settings={
            "plugins": {"entry_points": False, "allow": [], "block": []},
            "regimes": {"detector": "rules", "percentile_window": 200},
            "costs": {"default": {"spread_bps": 1.0, "commission_bps": 0.5}, "symbols": {}},
            "min_bars": 20,
            "min_trades": 2,
            "compress": False,
            "as_of": None,
        },
    )
    return attrs.evolve(base, **changes)


def check(result: WorkerResult, tmp_path: Path) -> None:
    assert isinstance(result, WorkerResult) and len(result.backtests) == len(INFERENCE)
    assert [InferenceConfig.from_mapping(b.inference).to_dict() for b in result.backtests] == [
        InferenceConfig.from_mapping(i).to_dict() for i in INFERENCE
    ]
    assert set(result.backtests[0].regime_metrics) == set(DEFAULT_REGIMES)
    store = FilesystemArtifactStore(tmp_path / "artifacts")
    payload = store.open(result.artifact.name, result.artifact.sha256)
    assert len(payload) == result.artifact.size_bytes > 0
    assert result.feature_count > 0 and len(result.data_fingerprint) == 64


def test_the_worker_trains_and_backtests_in_this_process(tmp_path: Path) -> None:
    events = []
    result = run_task(spec(tmp_path), lambda: False, events.append)
    check(result, tmp_path)
    assert events and events[-1].done == len(INFERENCE)


@pytest.mark.slow
def test_the_worker_runs_in_a_child_process(tmp_path: Path) -> None:
    executor = LocalProcessExecutor(1, timeout_seconds=300)
    try:
        handle = executor.submit(run_task, spec(tmp_path))
        [(_, result, error)] = list(executor.as_completed([handle]))
    finally:
        executor.shutdown()
    assert error is None, error
    check(result, tmp_path)
    again = run_task(spec(tmp_path))
    assert again.data_fingerprint == result.data_fingerprint  # same bars, same hash
    assert [b.backtest_metrics for b in again.backtests] == [
        b.backtest_metrics for b in result.backtests
    ]
