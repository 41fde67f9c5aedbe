"""``SqlAlchemyQueueRepository``: training queues and their items.

Claiming is atomic on both databases. PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1``
then an UPDATE of that row, so concurrent workers each get a different item without waiting.
SQLite: one ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING`` statement (SQLite allows
one writer at a time, and our transactions begin IMMEDIATE, so the sub-select and the update
cannot interleave with another claim).

``get`` locks the queue row on PostgreSQL (``FOR UPDATE``) because every caller reads a queue to
write it back: without the lock a pause or cancel flag set from another terminal between the read
and the write would be overwritten (SQLite's IMMEDIATE transactions give the same guarantee).
Because the row cannot change under the lock, ``update`` of a queue this unit of work has read
writes only the columns that differ from what it read (the counters and heartbeat, usually; not
the grid documents), with the same result as writing every column.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.bulk import insert_many
from regimeforge.adapters.storage.guard import guard
from regimeforge.adapters.storage.keys import KeyCache
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

# The statements of the outer loop's hot path, built once with bound parameters: building a
# statement and its cache key cost several times more than running it on SQLite. UPDATEs take
# their SET columns from the parameters given.
_KEY = sa.bindparam("key", type_=QUEUES.c.queue_uuid.type)
_GET = (
    sa.select(QUEUES)
    .where(sa.or_(QUEUES.c.queue_uuid == _KEY, QUEUES.c.name == _KEY))
    .order_by((QUEUES.c.queue_uuid == _KEY).desc(), QUEUES.c.id.desc())
    .limit(1)
)
_GET_LOCKED = _GET.with_for_update()
_UPDATE = sa.update(QUEUES).where(QUEUES.c.queue_uuid == sa.bindparam("_uuid"))
_UPDATE_ITEM = sa.update(ITEMS).where(
    ITEMS.c.queue_id == sa.bindparam("_queue_id"), ITEMS.c.item_index == sa.bindparam("_index")
)
_PENDING = (
    sa.select(ITEMS.c.id)
    .where(
        ITEMS.c.queue_id == sa.bindparam("_queue_id"),
        ITEMS.c.status == ItemStatus.PENDING.value,
    )
    .order_by(ITEMS.c.item_index)
    .limit(1)
)
_PENDING_LOCKED = _PENDING.with_for_update(skip_locked=True)
_CLAIMED = {
    "status": ItemStatus.RUNNING.value,
    "attempts": ITEMS.c.attempts + 1,
    "claimed_by": sa.bindparam("worker", type_=ITEMS.c.claimed_by.type),
    "heartbeat_at": sa.bindparam("at", type_=ITEMS.c.heartbeat_at.type),
}
#: PostgreSQL: the row chosen (and locked) by ``_PENDING_LOCKED``.
_CLAIM_ID = (
    sa.update(ITEMS).where(ITEMS.c.id == sa.bindparam("target")).values(_CLAIMED).returning(ITEMS)
)
#: SQLite: one statement (the transaction holds the write lock already).
_CLAIM_NEXT = (
    sa.update(ITEMS)
    .where(ITEMS.c.id == _PENDING.scalar_subquery())
    .values(_CLAIMED)
    .returning(ITEMS)
)


class SqlAlchemyQueueRepository:
    """Queues in ``training_queue``, items in ``training_queue_items``; never commits."""

    def __init__(self, session: Session, keys: KeyCache | None = None) -> None:
        self.session = session
        self.keys = keys if keys is not None else KeyCache()

    @property
    def _postgres(self) -> bool:
        bind = self.session.get_bind()
        return bind.dialect.name == "postgresql"

    def _queue_id(self, queue_uuid: str) -> int:
        return self.keys.queue_id(self.session, queue_uuid)

    def add(self, queue: TrainingQueue, items: Iterable[QueueItem]) -> None:
        """Insert a queue with all its items (one executemany for the items)."""
        values = queue_values(queue)
        if values["created_at"] is None:
            del values["created_at"]
        items = list(items)
        strangers = sorted({i.queue_uuid for i in items} - {queue.queue_uuid})
        if strangers:
            raise StorageError(f"queue {queue.queue_uuid}: items of other queues {strangers}")
        held = {i.run_uuid for i in items if i.run_uuid is not None}
        runs = self.keys.run_ids(self.session, held)
        with guard(self.session, f"cannot add queue {queue.name} ({queue.queue_uuid})"):
            insert = sa.insert(QUEUES).values(values).returning(QUEUES.c.id)
            queue_id = self.session.execute(insert).scalar_one()
            rows = [
                {
                    **item_values(item),
                    "queue_id": queue_id,
                    "training_run_id": runs.get(item.run_uuid or ""),
                }
                for item in items
            ]
            insert_many(self.session, ITEMS, rows)  # 49,000 items for the plan's grid
        self.keys.queues[queue.queue_uuid] = int(queue_id)

    def get(self, queue_uuid: str) -> TrainingQueue:
        """One queue by uuid, else the newest with that name; NotFoundError otherwise."""
        query = _GET_LOCKED if self._postgres else _GET
        row = self.session.execute(query, {"key": queue_uuid}).first()
        if row is None:
            raise NotFoundError(f"no queue {queue_uuid}")
        queue = queue_from_row(row._mapping)
        self.keys.queues[queue.queue_uuid] = int(row.id)
        self.keys.queue_rows[queue.queue_uuid] = queue_values(queue)
        return queue

    def update(self, queue: TrainingQueue) -> None:
        """Write every field of an existing queue; NotFoundError if it does not exist.

        A queue read in this unit of work is written column by column, only what changed
        since (see the module docstring): the database ends the same either way.
        """
        values = queue_values(queue)
        if values["created_at"] is None:
            del values["created_at"]
        seen = self.keys.queue_rows.get(queue.queue_uuid)
        changed = values
        if seen is not None:
            changed = {k: v for k, v in values.items() if k not in seen or seen[k] != v}
        if changed:
            with guard(self.session, f"cannot update queue {queue.name}", single=True):
                result = self.session.execute(_UPDATE, {**changed, "_uuid": queue.queue_uuid})
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no queue {queue.queue_uuid}")
        self.keys.queue_rows[queue.queue_uuid] = {**(seen or {}), **values}

    def list(self) -> builtins.list[TrainingQueue]:
        """Every queue, newest first."""
        query = sa.select(QUEUES).order_by(QUEUES.c.created_at.desc(), QUEUES.c.id.desc())
        return [queue_from_row(row._mapping) for row in self.session.execute(query)]

    def claim_next(self, queue_uuid: str, worker: str, at: datetime) -> QueueItem | None:
        """Atomically claim the lowest pending item (status running, attempts + 1)."""
        queue_id = self._queue_id(queue_uuid)
        params: dict[str, Any] = {"_queue_id": queue_id, "worker": worker, "at": at}
        claim = _CLAIM_NEXT
        if self._postgres:
            params["target"] = self.session.scalar(_PENDING_LOCKED, params)
            if params["target"] is None:
                return None
            claim = _CLAIM_ID
        with guard(self.session, f"cannot claim an item of queue {queue_uuid}", savepoint=False):
            row = self.session.execute(claim, params).first()
        return None if row is None else item_from_row(row._mapping, queue_uuid)

    def update_item(self, item: QueueItem) -> None:
        """Write an item's status and fields; NotFoundError if it does not exist."""
        queue_id = self._queue_id(item.queue_uuid)
        run_id = None
        if item.run_uuid is not None:
            # A uuid of a run not (or no longer) stored is kept; the key is then null.
            run_id = self.keys.run_ids(self.session, [item.run_uuid]).get(item.run_uuid)
        values = {**item_values(item), "training_run_id": run_id}
        what = f"cannot update item {item.index} of queue {item.queue_uuid}"
        with guard(self.session, what, single=True):
            result = self.session.execute(
                _UPDATE_ITEM, {**values, "_queue_id": queue_id, "_index": item.index}
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
