"""Status enums and their legal transitions (the run, queue and queue-item state machines)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from regimeforge.domain.errors import IllegalTransitionError


class RunStatus(enum.StrEnum):
    """Life of one training run."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class QueueStatus(enum.StrEnum):
    """Life of a training queue."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ItemStatus(enum.StrEnum):
    """Life of one grid point in a queue (claimed by one worker at a time)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


RUN_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}

QUEUE_TRANSITIONS: Mapping[QueueStatus, frozenset[QueueStatus]] = {
    QueueStatus.PENDING: frozenset({QueueStatus.RUNNING, QueueStatus.CANCELLED}),
    QueueStatus.RUNNING: frozenset(
        {QueueStatus.PAUSED, QueueStatus.COMPLETED, QueueStatus.CANCELLED, QueueStatus.FAILED}
    ),
    # A paused or failed queue is resumed (running) or abandoned (cancelled).
    QueueStatus.PAUSED: frozenset({QueueStatus.RUNNING, QueueStatus.CANCELLED}),
    QueueStatus.FAILED: frozenset({QueueStatus.RUNNING, QueueStatus.CANCELLED}),
    # `queue retry-failed` re-opens a completed queue that has failed items, as paused.
    QueueStatus.COMPLETED: frozenset({QueueStatus.PAUSED}),
    QueueStatus.CANCELLED: frozenset(),
}

ITEM_TRANSITIONS: Mapping[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.PENDING: frozenset({ItemStatus.RUNNING, ItemStatus.SKIPPED, ItemStatus.CANCELLED}),
    # running -> pending: the claim of a crashed worker is released.
    ItemStatus.RUNNING: frozenset(
        {
            ItemStatus.COMPLETED,
            ItemStatus.FAILED,
            ItemStatus.SKIPPED,
            ItemStatus.PENDING,
            ItemStatus.CANCELLED,
        }
    ),
    # failed -> pending: `queue retry-failed`.
    ItemStatus.FAILED: frozenset({ItemStatus.PENDING}),
    ItemStatus.COMPLETED: frozenset(),
    ItemStatus.SKIPPED: frozenset(),
    ItemStatus.CANCELLED: frozenset({ItemStatus.PENDING}),
}


S = TypeVar("S", RunStatus, QueueStatus, ItemStatus)


def check_transition(table: Mapping[S, frozenset[S]], current: S, target: S, what: str) -> None:
    """Raise IllegalTransitionError unless ``current -> target`` is in ``table``."""
    if target not in table[current]:
        allowed = ", ".join(sorted(s.value for s in table[current])) or "nothing (final)"
        raise IllegalTransitionError(
            f"{what} cannot go from {current.value} to {target.value}; allowed: {allowed}"
        )
