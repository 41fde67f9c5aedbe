"""Domain events: what the CLI, the dashboard, the lifecycle hooks and the notifiers observe."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs


@attrs.frozen
class Event:
    """Base of every domain event."""


@attrs.frozen
class RunStarted(Event):
    """A queue item started training (``index`` of ``total`` in the queue)."""

    queue_uuid: str
    run_uuid: str
    index: int
    total: int
    config: Mapping[str, Any]


@attrs.frozen
class InferenceProgress(Event):
    """The inner loop of a run finished ``done`` of ``total`` inference configurations."""

    run_uuid: str
    done: int
    total: int


@attrs.frozen
class RunCompleted(Event):
    """A run and its backtests were recorded; ``kept`` tells whether its model file stays."""

    queue_uuid: str | None
    run_uuid: str
    config_hash: str
    kept: bool
    best_regimes: tuple[str, ...]
    duration_seconds: float


@attrs.frozen
class RunFailed(Event):
    """A run failed (exception or timeout); the queue goes on."""

    queue_uuid: str | None
    run_uuid: str
    config_hash: str
    error: str


@attrs.frozen
class RunSkipped(Event):
    """A queue item was skipped: a completed run with the same hash and data exists."""

    queue_uuid: str
    config_hash: str
    existing_run_uuid: str


@attrs.frozen
class RegimeImproved(Event):
    """A run entered a regime's top-N; ``percent`` only when the old score was positive."""

    regime_name: str
    run_uuid: str
    backtest_uuid: str
    rank: int
    score: float
    previous_score: float | None
    delta: float | None
    percent: float | None


@attrs.frozen
class ModelDeleted(Event):
    """A model file was deleted (never kept, or pushed out of every top-N)."""

    run_uuid: str
    path: str
    size_bytes: int


@attrs.frozen
class QueuePaused(Event):
    """A queue paused (request, Ctrl-C, too many failures, low disk); ``reason`` says which."""

    queue_uuid: str
    reason: str
    checkpoint_path: str | None = None


@attrs.frozen
class QueueCompleted(Event):
    """A queue worked through every item."""

    queue_uuid: str
    statistics: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen
class QueueCancelled(Event):
    """A queue was cancelled; completed work is kept."""

    queue_uuid: str


@attrs.frozen
class QueueFailed(Event):
    """A queue stopped on an error it could not go past."""

    queue_uuid: str
    error: str


@attrs.frozen
class Progress(Event):
    """Overall progress of a queue, with elapsed time and an estimate of what is left."""

    queue_uuid: str
    done: int
    total: int
    kept: int
    deleted: int
    elapsed_seconds: float
    eta_seconds: float | None


# --- the outer loop (orchestrator) ----------------------------------------------------------


@attrs.frozen
class QueueStarted(Event):
    """A coordinator started (or resumed: ``resumed``) a queue; ``done`` items were finished."""

    queue_uuid: str
    name: str
    total: int
    done: int
    resumed: bool


@attrs.frozen
class ModelKept(Event):
    """A run's model file stays: the run entered the top-N of ``regimes``."""

    run_uuid: str
    path: str
    size_bytes: int
    regimes: tuple[str, ...]


@attrs.frozen
class ArtifactDeleteFailed(Event):
    """A model file that should go could not be deleted (logged; ``models cleanup`` retries)."""

    run_uuid: str
    path: str
    error: str


@attrs.frozen
class CheckpointSaved(Event):
    """A checkpoint of a queue was written to ``path``."""

    queue_uuid: str
    path: str
    current_index: int


@attrs.frozen
class CheckpointRejected(Event):
    """A checkpoint was refused (corrupt, truncated, wrong version, other queue).

    The database state is used instead; ``reason`` is the message of the CheckpointError.
    """

    queue_uuid: str
    path: str
    reason: str


@attrs.frozen
class DiskSpaceWarning(Event):
    """The estimated space for the rest of a queue exceeds the free space (before the start)."""

    queue_uuid: str
    free_bytes: int
    needed_bytes: int
    message: str


@attrs.frozen
class ClaimsReleased(Event):
    """Items claimed by a dead coordinator or worker went back to pending."""

    queue_uuid: str
    indexes: tuple[int, ...]
