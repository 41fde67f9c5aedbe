"""Queue control: create, pause, cancel, retry failed items, status.

Pause and cancel work from another terminal: they set a flag on the queue row, and the running
coordinator looks at it between models (cancel also between inner-loop batches). A queue that is
not running is paused or cancelled at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from regimeforge.domain.canonical import normalise, sha256_of
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.errors import ConfigError, InputError, Problem
from regimeforge.domain.ids import new_id
from regimeforge.domain.ports import CheckpointStore, UnitOfWork
from regimeforge.domain.states import ItemStatus, QueueStatus
from regimeforge.domain.usecases.items import recount_queue

_FINAL = (QueueStatus.COMPLETED, QueueStatus.CANCELLED)


class Grid(Protocol):
    """What ``create_queue`` needs of a grid: its size and random access to its points.

    ``grid[i]`` returns the canonical ``ModelConfig`` or raises ``ConfigError`` for a point
    that is invalid (e.g. a horizon too long for its history).
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> ModelConfig: ...


@attrs.frozen
class QueueView:
    """A queue with its item counts and the errors of its failed items (for ``queue status``)."""

    queue: TrainingQueue
    counts: Mapping[ItemStatus, int]
    failures: tuple[tuple[int, str], ...]


def create_queue(
    uow: UnitOfWork,
    *,
    name: str,
    config_grid: Mapping[str, Any],
    grid: Grid,
    inference_grid: Mapping[str, Any],
    at: datetime,
    priority: int = 0,
    max_parallel: int = 1,
    ids: Callable[[], str] = new_id,
) -> TrainingQueue:
    """A new pending queue with one item per grid point; invalid points are failed items.

    An invalid point is recorded (status failed, its problems as the error, a hash of its
    index) rather than dropped, so that ``queue status`` shows it and the counts add up.
    """
    items: list[QueueItem] = []
    failed = 0
    queue_uuid = ids()
    for index in range(len(grid)):
        try:
            config_hash = grid[index].config_hash
        except ConfigError as exc:
            failed += 1
            items.append(
                QueueItem(
                    queue_uuid,
                    index,
                    sha256_of({"invalid_grid_point": index, "grid": config_grid}),
                    status=ItemStatus.FAILED,
                    error=str(exc),
                )
            )
            continue
        items.append(QueueItem(queue_uuid, index, config_hash))
    queue = TrainingQueue(
        queue_uuid=queue_uuid,
        name=name,
        config_grid=normalise(config_grid),
        total_configs=len(items),
        priority=priority,
        max_parallel=max_parallel,
        inference_grid=normalise(inference_grid),
        failed_count=failed,
        current_index=failed,
        created_at=at,
        updated_at=at,
    )
    with uow:
        uow.queues.add(queue, items)
        uow.commit()
    return queue


def request_pause(uow: UnitOfWork, queue_uuid: str, at: datetime) -> TrainingQueue:
    """Ask the coordinator to pause after the current model (a paused queue stays paused)."""
    with uow:
        queue = uow.queues.get(queue_uuid)
        if queue.status is QueueStatus.PAUSED:
            return queue
        if queue.status is not QueueStatus.RUNNING:
            raise InputError(
                [
                    Problem(
                        "queue",
                        f"{queue.name} is {queue.status.value}; only a running queue can pause",
                        "start it with `regimeforge queue start`",
                    )
                ]
            )
        queue = attrs.evolve(queue, pause_requested=True, updated_at=at)
        uow.queues.update(queue)
        uow.commit()
    return queue


def request_cancel(
    uow: UnitOfWork, queue_uuid: str, at: datetime, checkpoints: CheckpointStore | None = None
) -> TrainingQueue:
    """Cancel: a running queue is flagged (its coordinator stops now); others cancel at once.

    Completed work is kept; pending items become cancelled; the checkpoints are deleted.
    """
    with uow:
        queue = uow.queues.get(queue_uuid)
        if queue.status in _FINAL:
            raise InputError([Problem("queue", f"{queue.name} is already {queue.status.value}")])
        if queue.status is QueueStatus.RUNNING:
            queue = attrs.evolve(queue, cancel_requested=True, updated_at=at)
            uow.queues.update(queue)
            uow.commit()
            return queue
        queue = cancel_now(uow, queue, at)
        uow.commit()
    if checkpoints is not None:
        checkpoints.delete_for(queue_uuid)
    return queue


def cancel_now(uow: UnitOfWork, queue: TrainingQueue, at: datetime) -> TrainingQueue:
    """Inside the caller's unit of work: pending items cancelled, the queue cancelled."""
    for item in uow.queues.items(queue.queue_uuid, ItemStatus.PENDING):
        uow.queues.update_item(item.to(ItemStatus.CANCELLED, heartbeat_at=at))
    queue = queue.to(QueueStatus.CANCELLED, at, cancel_requested=False)
    uow.queues.update(queue)
    return queue


def retry_failed(uow: UnitOfWork, queue_uuid: str, at: datetime) -> int:
    """Failed items go back to pending; returns how many. The queue is left paused to resume."""
    with uow:
        queue = uow.queues.get(queue_uuid)
        if queue.status is QueueStatus.CANCELLED:
            raise InputError([Problem("queue", f"{queue.name} was cancelled")])
        failed = uow.queues.items(queue_uuid, ItemStatus.FAILED)
        for item in failed:
            uow.queues.update_item(item.to(ItemStatus.PENDING, error=None, claimed_by=None))
        if not failed:
            return 0
        queue = attrs.evolve(recount_queue(uow, queue_uuid, at), consecutive_failures=0)
        message = f"{len(failed)} failed item(s) re-queued"
        if queue.status is QueueStatus.COMPLETED:
            # re-opened as paused, to be resumed (the one way out of completed)
            queue = queue.to(QueueStatus.PAUSED, at, completed_at=None, message=message)
        else:
            queue = attrs.evolve(queue, message=message)
        uow.queues.update(queue)
        uow.commit()
    return len(failed)


def queue_status(uow: UnitOfWork, queue_uuid: str, *, max_failures: int = 20) -> QueueView:
    """A queue, its item counts per status and the first failures (index, error)."""
    with uow:
        queue = uow.queues.get(queue_uuid)
        counts = uow.queues.count_items(queue_uuid)
        failed = uow.queues.items(queue_uuid, ItemStatus.FAILED)[:max_failures]
    return QueueView(queue, counts, tuple((i.index, i.error or "") for i in failed))
