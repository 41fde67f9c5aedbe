"""``SqlAlchemyRunRepository``: training runs (filters, ordering, batched dedup lookups)."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.guard import guard
from regimeforge.adapters.storage.keys import KeyCache
from regimeforge.adapters.storage.mapping import run_from_row, run_values
from regimeforge.adapters.storage.rows import BacktestRow, QueueRow, RunRow, table
from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import InputError, NotFoundError, Problem
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.states import RunStatus

RUNS = table(RunRow)
QUEUES = table(QueueRow)
BACKTESTS = table(BacktestRow)
#: Keys per dedup query: well below SQLite's bound-parameter limit, one round trip each.
CHUNK = 900

_METRIC = BACKTESTS.c.backtest_metrics
_BEST_SHARPE = (
    sa.select(sa.func.max(_METRIC["sharpe"].as_float()))
    .where(BACKTESTS.c.training_run_id == RUNS.c.id)
    .correlate(RUNS)
    .scalar_subquery()
)
#: ``order_by`` keys of ``list`` (prefix "-" for descending); ``sharpe`` is the run's best.
ORDER_KEYS: dict[str, Any] = {
    **{
        name: RUNS.c[name]
        for name in (
            "created_at",
            "started_at",
            "completed_at",
            "updated_at",
            "status",
            "model_type",
            "encoder",
            "symbol",
            "base_timeframe",
            "days_history",
            "horizon",
            "feature_count",
            "training_duration_seconds",
            "model_file_size_bytes",
            "config_hash",
        )
    },
    "sharpe": _BEST_SHARPE,
}


def _conditions(f: RunFilter) -> list[Any]:
    where: list[Any] = []
    for name in ("model_type", "symbol"):
        if getattr(f, name) is not None:
            where.append(RUNS.c[name] == getattr(f, name))
    if f.status is not None:
        where.append(RUNS.c.status == RunStatus(f.status).value)
    if f.queue_uuid is not None:
        where.append(QUEUES.c.queue_uuid == f.queue_uuid)
    if f.created_after is not None:
        where.append(RUNS.c.created_at >= f.created_after)
    if f.created_before is not None:
        where.append(RUNS.c.created_at < f.created_before)
    if f.kept is not None:
        where.append(RUNS.c.is_model_kept == f.kept)
    if f.text:
        pattern = "%" + f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        columns = ("symbol", "model_type", "encoder", "error_message", "run_uuid", "config_hash")
        where.append(sa.or_(*(RUNS.c[c].ilike(pattern, escape="\\") for c in columns)))
    if f.min_sharpe is not None or f.max_drawdown is not None:
        # One backtest must meet both bounds; drawdown is compared by magnitude, so either
        # sign convention (-0.2 or 0.2) of the metric means "lost at most 20 %".
        found = [BACKTESTS.c.training_run_id == RUNS.c.id]
        if f.min_sharpe is not None:
            found.append(_METRIC["sharpe"].as_float() >= f.min_sharpe)
        if f.max_drawdown is not None:
            found.append(sa.func.abs(_METRIC["max_drawdown"].as_float()) <= abs(f.max_drawdown))
        where.append(sa.exists().where(*found))
    return where


_COMPLETED = sa.select(RUNS.c.config_hash, RUNS.c.data_fingerprint, RUNS.c.run_uuid).where(
    RUNS.c.status == RunStatus.COMPLETED.value
)
# SQLite: ``coalesce(status, '')`` (the same test) keeps the planner off ix_training_runs_status,
# which it prefers without statistics and which matches nearly every stored run: each lookup
# then scanned all completed runs (the dedup check of every model, too). The config_hash index
# finds the few candidates instead (49,000 keys over 49,000 runs: 1.5 s -> 0.6 s of CPU). The
# expanding parameter builds the statement once, not with 900 bound values per batch.
_SQLITE_COMPLETED = sa.select(RUNS.c.config_hash, RUNS.c.data_fingerprint, RUNS.c.run_uuid).where(
    sa.func.coalesce(RUNS.c.status, "") == RunStatus.COMPLETED.value,
    RUNS.c.config_hash.in_(sa.bindparam("hashes", expanding=True)),
)


def _pg_completed(chunk: Sequence[tuple[str, str]]) -> tuple[sa.Select[Any], dict[str, Any]]:
    # A join with unnest(hashes, fingerprints): two array parameters, and a hash join or index
    # probes even before the table was analysed. A plain IN list of 900 parameters degrades to a
    # linear search per row once psycopg prepares the statement (measured: 12 s vs 0.5 s for
    # 49,000 keys over 10,000 runs; benchmarks/bench_storage.py).
    hashes = sa.cast([h for h, _ in chunk], ARRAY(sa.String))
    fingerprints = sa.cast([f for _, f in chunk], ARRAY(sa.String))
    keys = sa.func.unnest(hashes, fingerprints).table_valued("h", "f").render_derived(name="k")
    on = sa.and_(RUNS.c.config_hash == keys.c.h, RUNS.c.data_fingerprint == keys.c.f)
    return _COMPLETED.join(keys, on), {}


# Built once (see queues.py): the run writes and reads of every model.
_INSERT = sa.insert(RUNS).returning(RUNS.c.id)
_UPDATE = sa.update(RUNS).where(RUNS.c.run_uuid == sa.bindparam("_uuid")).returning(RUNS.c.id)
_SELECT = sa.select(RUNS, QUEUES.c.queue_uuid.label("queue_uuid")).select_from(
    RUNS.outerjoin(QUEUES, QUEUES.c.id == RUNS.c.queue_id)
)
_GET = _SELECT.where(RUNS.c.run_uuid == sa.bindparam("uuid"))


class SqlAlchemyRunRepository:
    """Training runs in ``training_runs``; never commits (the unit of work does)."""

    def __init__(self, session: Session, keys: KeyCache | None = None) -> None:
        self.session = session
        self.keys = keys if keys is not None else KeyCache()

    def _select(self) -> sa.Select[Any]:
        return _SELECT

    def _values(self, run: TrainingRun) -> dict[str, Any]:
        values = run_values(run)
        if values["created_at"] is None:
            del values["created_at"]  # the database stamps it
        queue_id = None
        if run.queue_uuid is not None:
            try:
                queue_id = self.keys.queue_id(self.session, run.queue_uuid)
            except NotFoundError:
                raise NotFoundError(f"run {run.run_uuid}: no queue {run.queue_uuid}") from None
        values["queue_id"] = queue_id
        return values

    def add(self, run: TrainingRun) -> None:
        """Insert a new run; StorageError on a duplicate uuid or a second live run of a config."""
        values = self._values(run)
        with guard(self.session, f"cannot add run {run.run_uuid}", single=True):
            key = self.session.execute(_INSERT, values).scalar_one()
        self.keys.runs[run.run_uuid] = int(key)  # its backtests and item need it next

    def update(self, run: TrainingRun) -> None:
        """Write every field of an existing run; NotFoundError if it does not exist."""
        values = {**self._values(run), "_uuid": run.run_uuid}
        with guard(self.session, f"cannot update run {run.run_uuid}", single=True):
            key = self.session.scalar(_UPDATE, values)
        if key is None:
            raise NotFoundError(f"no run {run.run_uuid}")
        self.keys.runs[run.run_uuid] = int(key)

    def get(self, run_uuid: str) -> TrainingRun:
        """The run with this uuid; NotFoundError otherwise."""
        row = self.session.execute(_GET, {"uuid": run_uuid}).first()
        if row is None:
            raise NotFoundError(f"no run {run_uuid}")
        return run_from_row(row._mapping, row.queue_uuid)

    def find_completed(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(config_hash, data_fingerprint) -> uuid of its completed run, one query per 900 keys."""
        wanted = set(keys)
        found: dict[tuple[str, str], str] = {}
        for query, params in self._completed_batches(wanted):
            # all(): the driver's fetchall, not one fetch per row (49,000 rows in the benchmark)
            for config_hash, fingerprint, run_uuid in self.session.execute(query, params).all():
                if (config_hash, fingerprint) in wanted:
                    found[(config_hash, fingerprint)] = run_uuid
        return found

    def _completed_batches(
        self, wanted: set[tuple[str, str]]
    ) -> Iterator[tuple[sa.Select[Any], dict[str, Any]]]:
        if self.session.get_bind().dialect.name == "postgresql":
            ordered = sorted(wanted)
            for start in range(0, len(ordered), CHUNK):
                yield _pg_completed(ordered[start : start + CHUNK])
            return
        # SQLite asks by config hash alone (each hash once, in index order).
        hashes = sorted({h for h, _ in wanted})
        for start in range(0, len(hashes), CHUNK):
            yield _SQLITE_COMPLETED, {"hashes": hashes[start : start + CHUNK]}

    def list(
        self,
        filters: RunFilter | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
        order_by: str = "-created_at",
    ) -> builtins.list[TrainingRun]:
        """Runs matching ``filters``, ordered by ``order_by`` (see ``ORDER_KEYS``)."""
        key = order_by.removeprefix("-")
        if key not in ORDER_KEYS:
            raise InputError(
                [
                    Problem(
                        "order_by",
                        f"cannot sort by {key!r}",
                        f"use one of: {', '.join(ORDER_KEYS)}",
                    )
                ]
            )
        descending = order_by.startswith("-")
        column = ORDER_KEYS[key]
        order = (
            [column.desc().nulls_last(), RUNS.c.id.desc()]
            if descending
            else [column.asc().nulls_last(), RUNS.c.id.asc()]
        )
        query = self._select().where(*_conditions(filters or RunFilter()))
        rows = self.session.execute(query.order_by(*order).limit(limit).offset(offset))
        return [run_from_row(row._mapping, row.queue_uuid) for row in rows]

    def count(self, filters: RunFilter | None = None) -> int:
        """How many runs match ``filters``."""
        joined = RUNS.outerjoin(QUEUES, QUEUES.c.id == RUNS.c.queue_id)
        query = sa.select(sa.func.count()).select_from(joined)
        return int(self.session.scalar(query.where(*_conditions(filters or RunFilter()))) or 0)

    def delete(self, run_uuid: str) -> None:
        """Delete a run; its backtests and regime bests go by cascade, queue items keep the uuid."""
        with guard(self.session, f"cannot delete run {run_uuid}"):
            result = self.session.execute(sa.delete(RUNS).where(RUNS.c.run_uuid == run_uuid))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no run {run_uuid}")
        self.keys.runs.pop(run_uuid, None)
