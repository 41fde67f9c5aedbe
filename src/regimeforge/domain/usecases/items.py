"""The small transactions of one queue item: start (or skip), fail, release.

Each function enters the unit of work it is given, commits once, and returns what it wrote.
The queue's counters are re-read inside the same transaction, so that a pause or cancel flag set
from another terminal in the meantime is not overwritten.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import attrs

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.ports import UnitOfWork
from regimeforge.domain.states import ItemStatus, RunStatus


@attrs.frozen
class Started:
    """A run row was inserted (status running) for the item."""

    run: TrainingRun
    item: QueueItem


@attrs.frozen
class Skipped:
    """A completed run with the same config hash and data fingerprint exists."""

    existing_run_uuid: str
    item: QueueItem
    queue: TrainingQueue


def start_or_skip(
    uow: UnitOfWork,
    *,
    item: QueueItem,
    config: ModelConfig,
    fingerprint: str,
    run_uuid: str,
    at: datetime,
    created_by: str = "",
    package_version: str = "",
) -> Started | Skipped:
    """Skip the item when its (config hash, data fingerprint) was completed; else start a run."""
    key = (config.config_hash, fingerprint)
    with uow:
        existing = uow.runs.find_completed([key]).get(key)
        if existing is not None:
            item = item.to(ItemStatus.SKIPPED, run_uuid=existing, heartbeat_at=at)
            uow.queues.update_item(item)
            queue = advance_queue(uow, item.queue_uuid, at, finished=ItemStatus.SKIPPED)
            uow.commit()
            return Skipped(existing, item, queue)
        run = TrainingRun(
            run_uuid=run_uuid,
            config=config,
            config_hash=config.config_hash,
            seed=config.seed,
            queue_uuid=item.queue_uuid,
            created_by=created_by,
            package_version=package_version,
            created_at=at,
        ).start(at, fingerprint)
        uow.runs.add(run)
        item = attrs.evolve(item, run_uuid=run.run_uuid, heartbeat_at=at)
        uow.queues.update_item(item)
        uow.commit()
        return Started(run, item)


@attrs.frozen
class Failed:
    """The item (and its run, if any) failed; the queue with its counters advanced."""

    item: QueueItem
    queue: TrainingQueue


def record_failure(
    uow: UnitOfWork,
    *,
    item: QueueItem,
    run: TrainingRun | None,
    error: str,
    at: datetime,
) -> Failed:
    """The run (if any) and the item failed with ``error``; the failed item and the queue."""
    with uow:
        if run is not None:
            stored = uow.runs.get(run.run_uuid)
            if stored.status is RunStatus.RUNNING:
                uow.runs.update(stored.fail(at, error))
        item = item.to(ItemStatus.FAILED, error=error, heartbeat_at=at, run_uuid=item.run_uuid)
        uow.queues.update_item(item)
        queue = advance_queue(uow, item.queue_uuid, at, finished=ItemStatus.FAILED)
        uow.commit()
    return Failed(item, queue)


def release_items(
    uow: UnitOfWork,
    queue_uuid: str,
    indexes: Collection[int],
    *,
    at: datetime,
    to: ItemStatus = ItemStatus.PENDING,
) -> list[int]:
    """Interrupted items go back to ``to`` (pending or cancelled); their running runs cancelled.

    The items are read again inside the transaction, so that an interruption that struck while
    an item was being recorded (committed or not) is judged by what the database holds: only
    items still running are released. Returns the indexes released.
    """
    wanted = set(indexes)
    released = []
    with uow:
        for item in uow.queues.items(queue_uuid, ItemStatus.RUNNING):
            if item.index not in wanted:
                continue
            if item.run_uuid is not None:
                run = uow.runs.get(item.run_uuid)
                if run.status is RunStatus.RUNNING:
                    uow.runs.update(run.cancel(at))
            uow.queues.update_item(item.to(to, claimed_by=None, run_uuid=None, heartbeat_at=at))
            released.append(item.index)
        uow.commit()
    return released


def advance_queue(
    uow: UnitOfWork,
    queue_uuid: str,
    at: datetime,
    *,
    finished: ItemStatus,
    locked: TrainingQueue | None = None,
) -> TrainingQueue:
    """Inside the caller's unit: one more item ``finished`` (completed, failed or skipped).

    The queue is read here, which on PostgreSQL locks its row (``FOR UPDATE``) until the commit:
    coordinators sharing a queue then increment its counters one at a time and none is lost.
    A failure extends the streak of consecutive failures, a completed item ends it, a skip
    leaves it alone. ``locked``: the queue as this unit already read (and locked) it.
    """
    queue = locked if locked is not None else uow.queues.get(queue_uuid)
    streak = queue.consecutive_failures
    if finished is ItemStatus.FAILED:
        streak += 1
    elif finished is ItemStatus.COMPLETED:
        streak = 0
    changed = attrs.evolve(
        queue,
        completed_count=queue.completed_count + (finished is ItemStatus.COMPLETED),
        failed_count=queue.failed_count + (finished is ItemStatus.FAILED),
        skipped_count=queue.skipped_count + (finished is ItemStatus.SKIPPED),
        consecutive_failures=streak,
        heartbeat_at=at,
        updated_at=at,
    )
    changed = attrs.evolve(changed, current_index=changed.done_count)
    uow.queues.update(changed)
    return changed


def recount_queue(uow: UnitOfWork, queue_uuid: str, at: datetime) -> TrainingQueue:
    """Inside the caller's unit: the queue's counters recounted from its items (exact).

    Used where items change in bulk (``retry-failed``) and once when a queue completes.
    """
    queue = uow.queues.get(queue_uuid)
    counts = uow.queues.count_items(queue_uuid)
    changed = attrs.evolve(
        queue,
        completed_count=counts.get(ItemStatus.COMPLETED, 0),
        failed_count=counts.get(ItemStatus.FAILED, 0),
        skipped_count=counts.get(ItemStatus.SKIPPED, 0),
        updated_at=at,
    )
    changed = attrs.evolve(changed, current_index=changed.done_count)
    uow.queues.update(changed)
    return changed
