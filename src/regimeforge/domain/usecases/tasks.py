"""What travels between the coordinator and its workers.

Decision: a worker writes the model file to the *shared* artifact store itself and returns a
``WorkerResult`` with the file's ``ArtifactInfo`` (name, size, SHA-256) and plain-data backtests.
Model bytes never travel back through the executor (they may be large, and Dask or a process pool
would copy them twice); the coordinator only records, and deletes the file when the model is not
kept or the recording fails. Everything here pickles (no ``MappingProxyType``), so the process
pool and Dask can move it.

The coordinator gets its tasks from a ``TaskFactory``: the grid point of an item, the data
fingerprint of a config (for the dedup check before training) and a picklable callable + args.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.events import Event
from regimeforge.domain.ports import ArtifactInfo
from regimeforge.domain.regimes import RegimeDefinition


@attrs.frozen
class BacktestRecord:
    """One inner-loop result as plain data: inference config dict, its hash and the metrics.

    ``regime_metrics`` maps regime -> metric -> value plus ``bars``, ``trades``, ``sufficient``.
    """

    inference: dict[str, Any]
    inference_hash: str
    backtest_metrics: dict[str, float]
    regime_metrics: dict[str, dict[str, Any]]
    duration_seconds: float = 0.0


@attrs.frozen
class WorkerResult:
    """What a worker returns: the artifact it wrote and everything the coordinator records."""

    data_fingerprint: str
    artifact: ArtifactInfo
    training_metrics: dict[str, float]
    feature_count: int
    durations: dict[str, float]
    backtests: tuple[BacktestRecord, ...]

    @property
    def training_seconds(self) -> float:
        """Seconds spent fitting the model (``durations["fit"]``, 0 when unknown)."""
        return float(self.durations.get("fit", 0.0))


@attrs.frozen
class TaskRequest:
    """Everything a task factory may need to build the task of one queue item.

    ``should_stop`` and ``progress`` are in-process callbacks: an inline task passes them to the
    inner loop (cancel between batches, "inference j of n"); tasks that run in other processes
    ignore them (the executor kills those instead).
    """

    run_uuid: str
    config: ModelConfig
    queue: TrainingQueue
    item: QueueItem
    regimes: Sequence[RegimeDefinition]
    should_stop: Callable[[], bool] | None = None
    progress: Callable[[Event], None] | None = None


class TaskFactory(Protocol):
    """Turns queue items into worker tasks (built by the composition root or by tests)."""

    def config_for(self, queue: TrainingQueue, item: QueueItem) -> ModelConfig:
        """The model config of ``item`` (grid point ``item.index`` of the queue's grid)."""

    def data_fingerprint(self, queue: TrainingQueue, config: ModelConfig) -> str:
        """Hash of the exact bars ``config`` would train on (dedup key, with the config hash)."""

    def task(self, request: TaskRequest) -> tuple[Callable[..., WorkerResult], tuple[Any, ...]]:
        """A picklable top-level callable and its picklable arguments."""


def plain(value: Any) -> Any:
    """``value`` with mappings as dicts and tuples as lists (picklable, JSON-friendly)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and not isinstance(value, str | bytes):
        return item()
    return value
