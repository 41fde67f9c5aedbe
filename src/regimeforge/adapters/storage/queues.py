"""``SqlAlchemyQueueRepository``: training queues and their items.

Claiming is atomic on both databases. PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1``
then an UPDATE of that row, so concurrent workers each get a different item without waiting.
SQLite: one ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING`` statement (SQLite allows
one writer at a time, and our transactions begin IMMEDIATE, so the sub-select and the update
cannot interleave with another claim).

``get`` locks the queue row on PostgreSQL (``FOR UPDATE``) because every caller reads a queue to
write it back: without the lock a pause or cancel flag set from another terminal between the read
and the write would be overwritten (SQLite's IMMEDIATE transactions give the same guarantee).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.backtests import run_ids
from regimeforge.adapters.storage.guard import guard
from regimeforge.adapters.storage.mapping_more import (
    item_from_row,
    item_values,
    queue_from_row,
    queue_values,
)
from regimeforge.adapters.storage.rows import QueueItemRow, QueueRow, RunRow, table
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.errors import NotFoundError, StorageError
from regimeforge.domain.states import ItemStatus

QUEUES = table(QueueRow)
ITEMS = table(QueueItemRow)
RUNS = table(RunRow)


class SqlAlchemyQueueRepository:
    """Queues in ``training_queue``, items in ``training_queue_items``; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        bind = self.session.get_bind()
        return bind.dialect.name == "postgresql"

    def _queue_id(self, queue_uuid: str) -> int:
        key = self.session.scalar(sa.select(QUEUES.c.id).where(QUEUES.c.queue_uuid == queue_uuid))
        if key is None:
            raise NotFoundError(f"no queue {queue_uuid}")
        return int(key)

    def add(self, queue: TrainingQueue, items: Iterable[QueueItem]) -> None:
        """Insert a queue with all its items (one executemany for the items)."""
        values = queue_values(queue)
        if values["created_at"] is None:
            del values["created_at"]
        items = list(items)
        strangers = sorted({i.queue_uuid for i in items} - {queue.queue_uuid})
        if strangers:
            raise StorageError(f"queue {queue.queue_uuid}: items of other queues {strangers}")
        runs = run_ids(self.session, {i.run_uuid for i in items if i.run_uuid is not None})
        with guard(self.session, f"cannot add queue {queue.name} ({queue.queue_uuid})"):
            queue_id = self.session.scalar(sa.insert(QUEUES).values(values).returning(QUEUES.c.id))
            rows = [
                {
                    **item_values(item),
                    "queue_id": queue_id,
                    "training_run_id": runs.get(item.run_uuid or ""),
                }
                for item in items
            ]
            if rows:
                self.session.execute(sa.insert(ITEMS), rows)

    def get(self, queue_uuid: str) -> TrainingQueue:
        """One queue by uuid, else the newest with that name; NotFoundError otherwise."""
        query = (
            sa.select(QUEUES)
            .where(sa.or_(QUEUES.c.queue_uuid == queue_uuid, QUEUES.c.name == queue_uuid))
            .order_by((QUEUES.c.queue_uuid == queue_uuid).desc(), QUEUES.c.id.desc())
            .limit(1)
        )
        if self._postgres:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        if row is None:
            raise NotFoundError(f"no queue {queue_uuid}")
        return queue_from_row(row._mapping)

    def update(self, queue: TrainingQueue) -> None:
        """Write every field of an existing queue; NotFoundError if it does not exist."""
        values = queue_values(queue)
        if values["created_at"] is None:
            del values["created_at"]
        with guard(self.session, f"cannot update queue {queue.name}"):
            result = self.session.execute(
                sa.update(QUEUES).where(QUEUES.c.queue_uuid == queue.queue_uuid).values(values)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no queue {queue.queue_uuid}")

    def list(self) -> builtins.list[TrainingQueue]:
        """Every queue, newest first."""
        query = sa.select(QUEUES).order_by(QUEUES.c.created_at.desc(), QUEUES.c.id.desc())
        return [queue_from_row(row._mapping) for row in self.session.execute(query)]

    def claim_next(self, queue_uuid: str, worker: str, at: datetime) -> QueueItem | None:
        """Atomically claim the lowest pending item (status running, attempts + 1)."""
        queue_id = self._queue_id(queue_uuid)
        pending = (
            sa.select(ITEMS.c.id)
            .where(ITEMS.c.queue_id == queue_id, ITEMS.c.status == ItemStatus.PENDING.value)
            .order_by(ITEMS.c.item_index)
            .limit(1)
        )
        target: Any
        if self._postgres:
            target = self.session.scalar(pending.with_for_update(skip_locked=True))
            if target is None:
                return None
        else:
            target = pending.scalar_subquery()
        claim = (
            sa.update(ITEMS)
            .where(ITEMS.c.id == target)
            .values(
                status=ItemStatus.RUNNING.value,
                attempts=ITEMS.c.attempts + 1,
                claimed_by=worker,
                heartbeat_at=at,
            )
            .returning(ITEMS)
        )
        with guard(self.session, f"cannot claim an item of queue {queue_uuid}", savepoint=False):
            row = self.session.execute(claim).first()
        return None if row is None else item_from_row(row._mapping, queue_uuid)

    def update_item(self, item: QueueItem) -> None:
        """Write an item's status and fields; NotFoundError if it does not exist."""
        queue_id = self._queue_id(item.queue_uuid)
        run_id: Any = None
        if item.run_uuid is not None:
            # A uuid of a run not (or no longer) stored is kept; the key is then null.
            run_id = sa.select(RUNS.c.id).where(RUNS.c.run_uuid == item.run_uuid).scalar_subquery()
        where = (ITEMS.c.queue_id == queue_id, ITEMS.c.item_index == item.index)
        with guard(self.session, f"cannot update item {item.index} of queue {item.queue_uuid}"):
            result = self.session.execute(
                sa.update(ITEMS).where(*where).values(**item_values(item), training_run_id=run_id)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"queue {item.queue_uuid} has no item {item.index}")

    def items(self, queue_uuid: str, status: ItemStatus | None = None) -> builtins.list[QueueItem]:
        """Items of a queue in index order, optionally of one status ([] for an unknown queue)."""
        joined = ITEMS.join(QUEUES, QUEUES.c.id == ITEMS.c.queue_id)
        query = sa.select(ITEMS).select_from(joined).where(QUEUES.c.queue_uuid == queue_uuid)
        if status is not None:
            query = query.where(ITEMS.c.status == ItemStatus(status).value)
        rows = self.session.execute(query.order_by(ITEMS.c.item_index))
        return [item_from_row(row._mapping, queue_uuid) for row in rows]

    def count_items(self, queue_uuid: str) -> dict[ItemStatus, int]:
        """Item counts per status (statuses without items are absent)."""
        joined = ITEMS.join(QUEUES, QUEUES.c.id == ITEMS.c.queue_id)
        query = (
            sa.select(ITEMS.c.status, sa.func.count())
            .select_from(joined)
            .where(QUEUES.c.queue_uuid == queue_uuid)
            .group_by(ITEMS.c.status)
        )
        return {ItemStatus(status): int(n) for status, n in self.session.execute(query)}
