"""A fake worker for coordinator tests: deterministic results per config, scripted failures.

Scores are derived from SHA-256 of (config hash, inference hash, regime), so the same config
always produces the same backtests, artifact bytes and regime candidates (distinct scores, no
ties), whichever order or session trains it.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from fakes import FakeArtifactStore
from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.errors import CancelledError, ConfigError, ModelTimeoutError, Problem
from regimeforge.domain.events import Event, InferenceProgress
from regimeforge.domain.ports import ArtifactInfo
from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.usecases.tasks import BacktestRecord, TaskRequest, WorkerResult

CATALOG = ConfigCatalog(
    model_types={"ridge": {"alpha": 1.0}, "lasso": {"alpha": 0.001}},
    encoders={"none": {}},
    indicators=BUILTIN_INDICATORS,
)
INFERENCE = [
    InferenceConfig.from_mapping(
        {
            "prediction_method": "direct",
            "ensemble_method": m,
            "confidence_threshold": c,
            "lookback_window": 50,
        }
    )
    for m in ("mean", "weighted")
    for c in (0.0, 0.5)
]


def make_configs(n: int, *, symbol: str = "EUR/USD") -> list[ModelConfig]:
    """``n`` distinct valid ridge configs (alpha varies)."""
    return [
        ModelConfig.from_mapping(
            {
                "model_type": "ridge",
                "symbol": symbol,
                "base_timeframe": "1h",
                "days_history": 60,
                "horizon": 5,
                "model_hyperparams": {"alpha": 0.1 * (i + 1)},
            },
            CATALOG,
        )
        for i in range(n)
    ]


def unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from strings."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return int(digest[:12], 16) / 16**12


def fake_result(
    config: Mapping[str, Any], store: FakeArtifactStore, fingerprint: str
) -> WorkerResult:
    """The deterministic result of training ``config`` (artifact written to ``store``)."""
    chash = ModelConfig.from_mapping(config, CATALOG).config_hash
    backtests = []
    for inference in INFERENCE:
        ihash = inference.config_hash
        regimes: dict[str, dict[str, Any]] = {}
        for regime in DEFAULT_REGIMES:
            score = 4 * unit(chash, ihash, regime) - 1.5
            # Negative scores in bear markets are "insufficient" (too few trades).
            sufficient = not (regime == "bear_trending" and score < 0)
            regimes[regime] = {"sharpe": score, "bars": 120, "trades": 12, "sufficient": sufficient}
        backtests.append(
            BacktestRecord(
                inference.to_dict(), ihash, {"sharpe": unit(chash, ihash)}, regimes, 0.01
            )
        )
    info: ArtifactInfo = store.put(f"model {chash}".encode() * 10)
    return WorkerResult(fingerprint, info, {"val_mse": unit(chash)}, 12, {"fit": 0.5},
                        tuple(backtests))  # fmt: skip


def fake_task(
    config: dict[str, Any],
    store: FakeArtifactStore,
    fingerprint: str,
    behaviour: str | None,
    should_stop: Callable[[], bool] | None,
    progress: Callable[[Event], None] | None,
    run_uuid: str,
) -> WorkerResult:
    """What the fake worker does; ``behaviour`` scripts failures."""
    if behaviour == "raise":
        raise RuntimeError("the model diverged")
    if behaviour == "timeout":
        raise ModelTimeoutError("training took longer than 3600 s")
    if behaviour == "interrupt":
        raise KeyboardInterrupt
    if behaviour == "disk":
        raise OSError(errno.ENOSPC, "No space left on device")
    if should_stop is not None and should_stop():
        raise CancelledError("cancelled between inner-loop batches")
    if progress is not None:
        progress(InferenceProgress(run_uuid, len(INFERENCE), len(INFERENCE)))
    return fake_result(config, store, fingerprint)


@attrs.define
class FakeTaskFactory:
    """Configs by index; ``behaviours`` maps an item index to a scripted failure.

    ``behaviours`` entries are used once (a retried item then succeeds) unless ``sticky``.
    """

    configs: list[ModelConfig]
    store: FakeArtifactStore
    behaviours: dict[int, str] = attrs.field(factory=dict)
    sticky: bool = False
    bad_data: set[int] = attrs.field(factory=set)
    trained: list[int] = attrs.field(factory=list)

    def config_for(self, queue: TrainingQueue, item: QueueItem) -> ModelConfig:
        return self.configs[item.index]

    def data_fingerprint(self, queue: TrainingQueue, config: ModelConfig) -> str:
        index = self.configs.index(config)
        if index in self.bad_data:
            raise ConfigError([Problem("data", "no bars for this window")])
        return f"fp-{config.symbol_slug}"

    def task(self, request: TaskRequest) -> tuple[Callable[..., WorkerResult], tuple[Any, ...]]:
        index = request.item.index
        self.trained.append(index)
        behaviour = self.behaviours.get(index)
        if behaviour and not self.sticky:
            del self.behaviours[index]
        fp = self.data_fingerprint(request.queue, request.config)
        return fake_task, (request.config.to_dict(), self.store, fp, behaviour,
                           request.should_stop, request.progress, request.run_uuid)  # fmt: skip


@attrs.frozen
class ListGrid:
    """A grid over a list of configs; ``invalid`` indexes raise ConfigError like a bad point."""

    configs: list[ModelConfig]
    invalid: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.configs)

    def __getitem__(self, index: int) -> ModelConfig:
        if index in self.invalid:
            raise ConfigError([Problem("horizon", "too long for days_history", "shorten it")])
        return self.configs[index]
