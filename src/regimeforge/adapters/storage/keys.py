"""``KeyCache``: integer primary keys by uuid, remembered for one unit of work.

Rows point at each other by integer keys, the domain by uuids, so nearly every write first looks
up a key (``SELECT training_queue.id ...``): one model's bookkeeping did it five times. The keys
of a queue or a run never change while the row exists, so a unit of work remembers the ones it
has seen; the cache lives and dies with the unit of work's session. It also holds the column
values of the queues read in this unit of work (their rows are locked until it ends), so that a
queue update writes only what changed.

Kept correct by three rules: a key is remembered only once the statement that produced it has
succeeded (never inside a savepoint that may still roll back); a deleted row forgets its key; a
rollback of the whole transaction forgets everything (rows inserted in it are gone).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.rows import QueueRow, RunRow, table
from regimeforge.domain.errors import NotFoundError

QUEUES = table(QueueRow)
RUNS = table(RunRow)
#: Uuids per lookup: well below SQLite's bound-parameter limit.
CHUNK = 900
# Built once: building a statement and its cache key costs more than running it on SQLite.
_QUEUE_ID = sa.select(QUEUES.c.id).where(QUEUES.c.queue_uuid == sa.bindparam("uuid"))
_RUN_IDS = sa.select(RUNS.c.run_uuid, RUNS.c.id).where(
    RUNS.c.run_uuid.in_(sa.bindparam("uuids", expanding=True))
)


class KeyCache:
    """Queue and run keys by uuid for one session (see the module docstring)."""

    def __init__(self) -> None:
        self.queues: dict[str, int] = {}
        self.runs: dict[str, int] = {}
        #: queue uuid -> column values as read (or last written) in this unit of work
        self.queue_rows: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        """Forget everything (the transaction was rolled back)."""
        self.queues.clear()
        self.runs.clear()
        self.queue_rows.clear()

    def queue_id(self, session: Session, queue_uuid: str) -> int:
        """The key of a queue; NotFoundError if there is none with this uuid."""
        key = self.queues.get(queue_uuid)
        if key is None:
            found = session.scalar(_QUEUE_ID, {"uuid": queue_uuid})
            if found is None:
                raise NotFoundError(f"no queue {queue_uuid}")
            key = self.queues[queue_uuid] = int(found)
        return key

    def run_ids(self, session: Session, run_uuids: Collection[str]) -> dict[str, int]:
        """Keys of the runs with these uuids (missing ones are simply absent)."""
        found = {u: self.runs[u] for u in run_uuids if u in self.runs}
        wanted = sorted(set(run_uuids) - set(found))
        for start in range(0, len(wanted), CHUNK):
            rows = session.execute(_RUN_IDS, {"uuids": wanted[start : start + CHUNK]})
            found.update({uuid: int(key) for uuid, key in rows})
        self.runs.update(found)
        return found
