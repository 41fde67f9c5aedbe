"""``SqlAlchemyBacktestRepository``: the inner loop's results, inserted in bulk.

``add_many`` is the heaviest write of the outer loop (135 rows of metrics per model): it goes
through ``bulk.insert_many`` (compiled once, the driver's executemany) inside one savepoint.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.bulk import insert_many
from regimeforge.adapters.storage.guard import guard
from regimeforge.adapters.storage.keys import KeyCache
from regimeforge.adapters.storage.mapping import backtest_from_row, backtest_values
from regimeforge.adapters.storage.rows import BacktestRow, RunRow, table
from regimeforge.domain.entities import InferenceBacktest
from regimeforge.domain.errors import NotFoundError

RUNS = table(RunRow)
BACKTESTS = table(BacktestRow)


class SqlAlchemyBacktestRepository:
    """Inference backtests in ``inference_backtests``; never commits."""

    def __init__(self, session: Session, keys: KeyCache | None = None) -> None:
        self.session = session
        self.keys = keys if keys is not None else KeyCache()

    def _select(self) -> sa.Select[Any]:
        joined = BACKTESTS.join(RUNS, RUNS.c.id == BACKTESTS.c.training_run_id)
        return sa.select(BACKTESTS, RUNS.c.run_uuid).select_from(joined)

    def add_many(self, backtests: Sequence[InferenceBacktest]) -> None:
        """Insert many backtests with one executemany; NotFoundError names missing runs."""
        if not backtests:
            return
        ids = self.keys.run_ids(self.session, {b.run_uuid for b in backtests})
        missing = sorted({b.run_uuid for b in backtests} - set(ids))
        if missing:
            raise NotFoundError(f"cannot add backtests of runs that do not exist: {missing}")
        stamped: list[dict[str, Any]] = []
        unstamped: list[dict[str, Any]] = []  # created_at left to the database
        for backtest in backtests:
            values = backtest_values(backtest, ids[backtest.run_uuid])
            if values["created_at"] is None:
                del values["created_at"]
                unstamped.append(values)
            else:
                stamped.append(values)
        with guard(self.session, f"cannot add {len(backtests)} backtests"):
            for group in (stamped, unstamped):
                insert_many(self.session, BACKTESTS, group)

    def for_run(self, run_uuid: str) -> builtins.list[InferenceBacktest]:
        """Every backtest of a run, in inference-hash order ([] for an unknown run)."""
        query = self._select().where(RUNS.c.run_uuid == run_uuid)
        rows = self.session.execute(query.order_by(BACKTESTS.c.inference_hash))
        return [backtest_from_row(row._mapping, row.run_uuid) for row in rows]

    def get(self, backtest_uuid: str) -> InferenceBacktest:
        """One backtest; NotFoundError otherwise."""
        query = self._select().where(BACKTESTS.c.backtest_uuid == backtest_uuid)
        row = self.session.execute(query).first()
        if row is None:
            raise NotFoundError(f"no backtest {backtest_uuid}")
        return backtest_from_row(row._mapping, row.run_uuid)

    def delete_for_run(self, run_uuid: str) -> int:
        """Delete a run's backtests (and, by cascade, the regime bests that point at them)."""
        run_id = sa.select(RUNS.c.id).where(RUNS.c.run_uuid == run_uuid).scalar_subquery()
        with guard(self.session, f"cannot delete the backtests of run {run_uuid}"):
            result = self.session.execute(
                sa.delete(BACKTESTS).where(BACKTESTS.c.training_run_id == run_id)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]
