"""Runs, backtests, queues and queue items: frozen records whose status changes are checked.

They are changed with methods that return an evolved copy (``run.start(at)``), never in place,
so a use case can hold the before and after of a change. Identity is the uuid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.states import (
    ITEM_TRANSITIONS,
    QUEUE_TRANSITIONS,
    RUN_TRANSITIONS,
    ItemStatus,
    QueueStatus,
    RunStatus,
    check_transition,
)

JsonMap = Mapping[str, Any]
_EMPTY: JsonMap = MappingProxyType({})


@attrs.frozen
class TrainingRun:
    """One training of one model configuration (the outer loop's unit)."""

    run_uuid: str
    config: ModelConfig
    config_hash: str
    status: RunStatus = RunStatus.PENDING
    data_fingerprint: str = ""
    seed: int = 0
    queue_uuid: str | None = None
    created_by: str = ""
    package_version: str = ""
    training_metrics: JsonMap = _EMPTY
    feature_count: int | None = None
    training_duration_seconds: float | None = None
    model_file_path: str | None = None
    model_file_size_bytes: int | None = None
    model_file_sha256: str | None = None
    is_model_kept: bool = False
    best_regimes: tuple[str, ...] = ()
    error_message: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None

    def _to(self, status: RunStatus, **changes: Any) -> TrainingRun:
        check_transition(RUN_TRANSITIONS, self.status, status, f"run {self.run_uuid}")
        return attrs.evolve(self, status=status, **changes)

    def start(self, at: datetime, data_fingerprint: str = "") -> TrainingRun:
        """pending -> running."""
        fingerprint = data_fingerprint or self.data_fingerprint
        return self._to(
            RunStatus.RUNNING, started_at=at, updated_at=at, data_fingerprint=fingerprint
        )

    def complete(self, at: datetime, **results: Any) -> TrainingRun:
        """running -> completed, with the training results (metrics, file fields, ...)."""
        return self._to(RunStatus.COMPLETED, completed_at=at, updated_at=at, **results)

    def fail(self, at: datetime, error: str) -> TrainingRun:
        """running -> failed, keeping the error message."""
        return self._to(RunStatus.FAILED, completed_at=at, updated_at=at, error_message=error)

    def cancel(self, at: datetime) -> TrainingRun:
        """pending|running -> cancelled."""
        return self._to(RunStatus.CANCELLED, completed_at=at, updated_at=at)


@attrs.frozen
class InferenceBacktest:
    """One inference configuration backtested against one trained model (the inner loop's unit).

    ``regime_metrics`` maps regime name -> metric name -> value, plus ``bars``, ``trades`` and
    ``sufficient`` (False when below the minimum bars or trades: never eligible as a best).
    """

    backtest_uuid: str
    run_uuid: str
    inference: InferenceConfig
    inference_hash: str
    backtest_metrics: JsonMap = _EMPTY
    regime_metrics: Mapping[str, JsonMap] = _EMPTY
    duration_seconds: float = 0.0
    created_at: datetime | None = None


@attrs.frozen
class TrainingQueue:
    """A grid being worked through; items live in ``QueueItem`` rows."""

    queue_uuid: str
    name: str
    config_grid: JsonMap
    total_configs: int
    status: QueueStatus = QueueStatus.PENDING
    current_index: int = 0
    completed_count: int = 0
    failed_count: int = 0
    skipped_count: int = 0
    priority: int = 0
    max_parallel: int = 1
    inference_grid: JsonMap = _EMPTY
    pause_requested: bool = False
    cancel_requested: bool = False
    coordinator_host: str | None = None
    coordinator_pid: int | None = None
    heartbeat_at: datetime | None = None
    consecutive_failures: int = 0
    message: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None

    def to(self, status: QueueStatus, at: datetime, **changes: Any) -> TrainingQueue:
        """Move to ``status`` (checked), stamping the time fields that go with it."""
        check_transition(QUEUE_TRANSITIONS, self.status, status, f"queue {self.name}")
        stamps: dict[str, Any] = {"updated_at": at}
        if status is QueueStatus.RUNNING and self.started_at is None:
            stamps["started_at"] = at
        if status in (QueueStatus.COMPLETED, QueueStatus.CANCELLED, QueueStatus.FAILED):
            stamps["completed_at"] = at
        if status is not QueueStatus.RUNNING:
            stamps.update(pause_requested=False)
        return attrs.evolve(self, status=status, **{**stamps, **changes})

    @property
    def done_count(self) -> int:
        """Items finished one way or another."""
        return self.completed_count + self.failed_count + self.skipped_count


@attrs.frozen
class QueueItem:
    """One grid point of a queue; claimed by one worker at a time."""

    queue_uuid: str
    index: int
    config_hash: str
    status: ItemStatus = ItemStatus.PENDING
    attempts: int = 0
    claimed_by: str | None = None
    heartbeat_at: datetime | None = None
    run_uuid: str | None = None
    error: str | None = None

    def to(self, status: ItemStatus, **changes: Any) -> QueueItem:
        """Move to ``status`` (checked)."""
        check_transition(ITEM_TRANSITIONS, self.status, status, f"queue item {self.index}")
        return attrs.evolve(self, status=status, **changes)
