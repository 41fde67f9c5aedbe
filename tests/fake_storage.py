"""Hand-written fakes of the storage ports: a database of dicts and its unit of work.

``FakeDatabase`` holds committed state; each ``FakeUnitOfWork`` works on a copy taken when it is
entered (copy-on-begin), so a rollback really discards, and ``commit`` merges only what this unit
changed (like row-level writes). It mirrors the real schema's rules that the use cases rely on:
unique run uuids, one completed-or-running run per (config hash, data fingerprint), unique
backtests per run and inference hash, and ``claim_next`` taking the lowest pending item.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from regimeforge.domain.entities import InferenceBacktest, QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.errors import NotFoundError, StorageError
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.regimes import (
    DEFAULT_REGIME_DEFINITIONS,
    RegimeBest,
    RegimeBestChange,
    RegimeDefinition,
)
from regimeforge.domain.states import ItemStatus, RunStatus

TABLES = ("runs", "backtests", "regimes", "bests", "history", "queues", "items")


class FakeDatabase:
    """Committed state: one dict per table (values are frozen entities or tuples)."""

    def __init__(self, regimes: Iterable[RegimeDefinition] = DEFAULT_REGIME_DEFINITIONS) -> None:
        self.tables: dict[str, dict[Any, Any]] = {t: {} for t in TABLES}
        self.tables["regimes"] = {r.name: r for r in regimes}
        self.commits = 0
        #: Called before each commit is applied; raise from it to make a commit fail.
        self.before_commit: Callable[[dict[str, dict[Any, Any]]], None] | None = None

    def uow(self) -> FakeUnitOfWork:
        """A new unit of work (the ``uow_factory`` of the use cases)."""
        return FakeUnitOfWork(self)


class FakeUnitOfWork:
    """Copy-on-begin unit of work over a ``FakeDatabase``; rolls back unless committed."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def __enter__(self) -> FakeUnitOfWork:
        self._begin = {t: dict(v) for t, v in self.db.tables.items()}
        self._work = {t: dict(v) for t, v in self._begin.items()}
        self.runs = FakeRunRepository(self._work)
        self.backtests = FakeBacktestRepository(self._work)
        self.regimes = FakeRegimeRepository(self._work)
        self.bests = FakeRegimeBestRepository(self._work)
        self.queues = FakeQueueRepository(self._work)
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()

    def commit(self) -> None:
        if self.db.before_commit is not None:
            self.db.before_commit(self._work)
        for table, work in self._work.items():
            begin, live = self._begin[table], self.db.tables[table]
            for key in set(begin) | set(work):
                if key not in work:
                    live.pop(key, None)
                elif begin.get(key) is not work[key]:
                    live[key] = work[key]
        self.db.commits += 1
        self._begin = {t: dict(v) for t, v in self._work.items()}

    def rollback(self) -> None:
        self._work.clear()
        self._work.update({t: dict(v) for t, v in self._begin.items()})


class _Repo:
    def __init__(self, tables: dict[str, dict[Any, Any]]) -> None:
        self.t = tables


class FakeRunRepository(_Repo):
    def add(self, run: TrainingRun) -> None:
        if run.run_uuid in self.t["runs"]:
            raise StorageError(f"run {run.run_uuid} exists")
        self._check_unique(run)
        self.t["runs"][run.run_uuid] = run

    def update(self, run: TrainingRun) -> None:
        self.get(run.run_uuid)
        self._check_unique(run)
        self.t["runs"][run.run_uuid] = run

    def _check_unique(self, run: TrainingRun) -> None:
        live = (RunStatus.RUNNING, RunStatus.COMPLETED)
        key = (run.config_hash, run.data_fingerprint)
        if run.status in live and any(
            (r.config_hash, r.data_fingerprint) == key
            and r.status in live
            and r.run_uuid != run.run_uuid
            for r in self.t["runs"].values()
        ):
            raise StorageError(f"a completed or running run of {run.config_hash[:12]} exists")

    def get(self, run_uuid: str) -> TrainingRun:
        try:
            run: TrainingRun = self.t["runs"][run_uuid]
        except KeyError:
            raise NotFoundError(f"no run {run_uuid}") from None
        return run

    def find_completed(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        wanted = set(keys)
        return {
            (r.config_hash, r.data_fingerprint): r.run_uuid
            for r in self.t["runs"].values()
            if r.status is RunStatus.COMPLETED and (r.config_hash, r.data_fingerprint) in wanted
        }

    def list(
        self,
        filters: RunFilter | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
        order_by: str = "-created_at",
    ) -> list[TrainingRun]:
        f = filters or RunFilter()
        runs = [
            r
            for r in self.t["runs"].values()
            if (f.status is None or r.status is f.status)
            and (f.queue_uuid is None or r.queue_uuid == f.queue_uuid)
            and (f.kept is None or r.is_model_kept == f.kept)
        ]
        epoch = datetime.min.replace(tzinfo=UTC)
        runs.sort(key=lambda r: r.created_at or epoch, reverse=order_by.startswith("-"))
        return runs[offset : offset + limit]

    def count(self, filters: RunFilter | None = None) -> int:
        return len(self.list(filters, limit=10**9))

    def delete(self, run_uuid: str) -> None:
        self.get(run_uuid)
        del self.t["runs"][run_uuid]
        for key, b in list(self.t["backtests"].items()):
            if b.run_uuid == run_uuid:
                del self.t["backtests"][key]


class FakeBacktestRepository(_Repo):
    def add_many(self, backtests: Sequence[InferenceBacktest]) -> None:
        seen = {(b.run_uuid, b.inference_hash) for b in self.t["backtests"].values()}
        for b in backtests:
            if b.run_uuid not in self.t["runs"]:
                raise StorageError(f"backtest of unknown run {b.run_uuid}")
            if (b.run_uuid, b.inference_hash) in seen:
                raise StorageError("duplicate backtest")
            seen.add((b.run_uuid, b.inference_hash))
            self.t["backtests"][b.backtest_uuid] = b

    def for_run(self, run_uuid: str) -> list[InferenceBacktest]:
        found = [b for b in self.t["backtests"].values() if b.run_uuid == run_uuid]
        return sorted(found, key=lambda b: b.inference_hash)

    def get(self, backtest_uuid: str) -> InferenceBacktest:
        try:
            backtest: InferenceBacktest = self.t["backtests"][backtest_uuid]
        except KeyError:
            raise NotFoundError(f"no backtest {backtest_uuid}") from None
        return backtest

    def delete_for_run(self, run_uuid: str) -> int:
        gone = [k for k, b in self.t["backtests"].items() if b.run_uuid == run_uuid]
        for key in gone:
            del self.t["backtests"][key]
        return len(gone)


class FakeRegimeRepository(_Repo):
    def list(self, *, active_only: bool = False) -> list[RegimeDefinition]:
        found = [r for r in self.t["regimes"].values() if r.is_active or not active_only]
        return sorted(found, key=lambda r: (r.priority, r.name))

    def get(self, name: str) -> RegimeDefinition:
        try:
            regime: RegimeDefinition = self.t["regimes"][name]
        except KeyError:
            raise NotFoundError(f"no regime {name}") from None
        return regime

    def add(self, regime: RegimeDefinition) -> None:
        if regime.name in self.t["regimes"]:
            raise StorageError(f"regime {regime.name} exists")
        self.t["regimes"][regime.name] = regime

    def update(self, regime: RegimeDefinition) -> None:
        self.t["regimes"][regime.name] = regime

    def remove(self, name: str) -> None:
        self.t["regimes"].pop(name, None)
        self.t["bests"].pop(name, None)


class FakeRegimeBestRepository(_Repo):
    def top(self, regime_name: str) -> list[RegimeBest]:
        return list(self.t["bests"].get(regime_name, ()))

    def all(self) -> dict[str, list[RegimeBest]]:
        return {k: list(v) for k, v in self.t["bests"].items() if v}

    def replace(self, regime_name: str, bests: Sequence[RegimeBest]) -> None:
        for best in bests:
            if best.run_uuid not in self.t["runs"] or best.backtest_uuid not in self.t["backtests"]:
                raise StorageError(f"regime best points at a missing run or backtest: {best}")
        self.t["bests"][regime_name] = tuple(
            attrs.evolve(b, rank=i + 1) for i, b in enumerate(bests)
        )

    def add_history(self, changes: Iterable[RegimeBestChange]) -> None:
        for change in changes:
            self.t["history"][len(self.t["history"])] = change

    def history(self, regime_name: str | None = None, limit: int = 100) -> list[RegimeBestChange]:
        found = [c for _, c in sorted(self.t["history"].items(), reverse=True)]
        return [c for c in found if regime_name in (None, c.regime_name)][:limit]

    def runs_with_rank(self) -> set[str]:
        return {b.run_uuid for entries in self.t["bests"].values() for b in entries}


class FakeQueueRepository(_Repo):
    def add(self, queue: TrainingQueue, items: Iterable[QueueItem]) -> None:
        self.t["queues"][queue.queue_uuid] = queue
        for item in items:
            self.t["items"][(queue.queue_uuid, item.index)] = item

    def get(self, queue_uuid: str) -> TrainingQueue:
        for queue in self.t["queues"].values():
            if queue_uuid in (queue.queue_uuid, queue.name):
                found: TrainingQueue = queue
                return found
        raise NotFoundError(f"no queue {queue_uuid}")

    def update(self, queue: TrainingQueue) -> None:
        self.get(queue.queue_uuid)
        self.t["queues"][queue.queue_uuid] = queue

    def list(self) -> list[TrainingQueue]:
        return list(reversed(self.t["queues"].values()))

    def claim_next(self, queue_uuid: str, worker: str, at: datetime) -> QueueItem | None:
        for item in self.items(queue_uuid, ItemStatus.PENDING):
            claimed = item.to(ItemStatus.RUNNING, attempts=item.attempts + 1, claimed_by=worker,
                              heartbeat_at=at)  # fmt: skip
            self.update_item(claimed)
            return claimed
        return None

    def update_item(self, item: QueueItem) -> None:
        self.t["items"][(item.queue_uuid, item.index)] = item

    def items(self, queue_uuid: str, status: ItemStatus | None = None) -> list[QueueItem]:
        found = [
            i
            for (q, _), i in self.t["items"].items()
            if q == queue_uuid and status in (None, i.status)
        ]
        return sorted(found, key=lambda i: i.index)

    def count_items(self, queue_uuid: str) -> dict[ItemStatus, int]:
        counts: dict[ItemStatus, int] = {}
        for item in self.items(queue_uuid):
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts
