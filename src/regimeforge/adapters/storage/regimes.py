"""Regime definitions and the stored top-N per regime (with its history)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.guard import guard
from regimeforge.adapters.storage.keys import KeyCache
from regimeforge.adapters.storage.mapping_more import (
    best_from_row,
    best_values,
    change_from_row,
    change_values,
    regime_from_row,
    regime_values,
)
from regimeforge.adapters.storage.rows import (
    BacktestRow,
    BestHistoryRow,
    BestRow,
    RegimeRow,
    RunRow,
    table,
)
from regimeforge.domain.errors import NotFoundError, StorageError
from regimeforge.domain.regimes import RegimeBest, RegimeBestChange, RegimeDefinition

REGIMES = table(RegimeRow)
BESTS = table(BestRow)
HISTORY = table(BestHistoryRow)
RUNS = table(RunRow)
BACKTESTS = table(BacktestRow)

# Built once (see queues.py): read and written once per recorded model.
_ACTIVE = (
    sa.select(REGIMES)
    .where(REGIMES.c.is_active.is_(True))
    .order_by(REGIMES.c.priority, REGIMES.c.regime_name)
)
_BESTS = (
    sa.select(BESTS, RUNS.c.run_uuid, BACKTESTS.c.backtest_uuid)
    .select_from(
        BESTS.join(RUNS, RUNS.c.id == BESTS.c.training_run_id).join(
            BACKTESTS, BACKTESTS.c.id == BESTS.c.inference_backtest_id
        )
    )
    .order_by(BESTS.c.regime_name, BESTS.c.rank)
)
_BACKTEST_IDS = sa.select(BACKTESTS.c.backtest_uuid, BACKTESTS.c.id).where(
    BACKTESTS.c.backtest_uuid.in_(sa.bindparam("uuids", expanding=True))
)
_DELETE_BESTS = sa.delete(BESTS).where(BESTS.c.regime_name == sa.bindparam("regime"))


class SqlAlchemyRegimeRepository:
    """Regime definitions in ``regime_definitions``; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, *, active_only: bool = False) -> builtins.list[RegimeDefinition]:
        """Definitions in priority order (then by name)."""
        query = _ACTIVE
        if not active_only:
            query = sa.select(REGIMES).order_by(REGIMES.c.priority, REGIMES.c.regime_name)
        return [regime_from_row(row._mapping) for row in self.session.execute(query)]

    def get(self, name: str) -> RegimeDefinition:
        """One definition; NotFoundError otherwise."""
        row = self.session.execute(sa.select(REGIMES).where(REGIMES.c.regime_name == name)).first()
        if row is None:
            raise NotFoundError(f"no regime {name}")
        return regime_from_row(row._mapping)

    def add(self, regime: RegimeDefinition) -> None:
        """Insert; StorageError when the name exists."""
        values = regime_values(regime)
        if values["created_at"] is None:
            del values["created_at"]
        with guard(self.session, f"cannot add regime {regime.name}"):
            self.session.execute(sa.insert(REGIMES).values(values))

    def update(self, regime: RegimeDefinition) -> None:
        """Replace the definition of that name (its creation time is kept when not given)."""
        values = regime_values(regime)
        if values["created_at"] is None:
            del values["created_at"]
        with guard(self.session, f"cannot update regime {regime.name}"):
            result = self.session.execute(
                sa.update(REGIMES).where(REGIMES.c.regime_name == regime.name).values(values)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no regime {regime.name}")

    def remove(self, name: str) -> None:
        """Delete a definition; its bests go by cascade, its history stays."""
        with guard(self.session, f"cannot remove regime {name}"):
            result = self.session.execute(sa.delete(REGIMES).where(REGIMES.c.regime_name == name))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"no regime {name}")


class SqlAlchemyRegimeBestRepository:
    """``regime_best_models`` (the top-N) and ``regime_best_history``; never commits."""

    def __init__(self, session: Session, keys: KeyCache | None = None) -> None:
        self.session = session
        self.keys = keys if keys is not None else KeyCache()

    def _select(self) -> sa.Select[Any]:
        return _BESTS

    def top(self, regime_name: str) -> builtins.list[RegimeBest]:
        """The bests of a regime, rank 1 first."""
        rows = self.session.execute(self._select().where(BESTS.c.regime_name == regime_name))
        return [best_from_row(row._mapping) for row in rows]

    def all(self) -> dict[str, builtins.list[RegimeBest]]:
        """Every regime's bests, rank 1 first (regimes without any are absent)."""
        out: dict[str, builtins.list[RegimeBest]] = {}
        for row in self.session.execute(self._select()):
            best = best_from_row(row._mapping)
            out.setdefault(best.regime_name, []).append(best)
        return out

    def _backtest_ids(self, uuids: set[str]) -> dict[str, int]:
        rows = self.session.execute(_BACKTEST_IDS, {"uuids": sorted(uuids)})
        return {uuid: int(key) for uuid, key in rows}

    def replace(self, regime_name: str, bests: Sequence[RegimeBest]) -> None:
        """Replace a regime's top-N with ``bests``, ranked 1..len in the given order."""
        wrong = [b.regime_name for b in bests if b.regime_name != regime_name]
        if wrong:
            raise StorageError(f"bests of {wrong} cannot be stored as bests of {regime_name}")
        runs = self.keys.run_ids(self.session, {b.run_uuid for b in bests})
        backtests = self._backtest_ids({b.backtest_uuid for b in bests})
        missing = sorted({b.run_uuid for b in bests} - set(runs)) + sorted(
            {b.backtest_uuid for b in bests} - set(backtests)
        )
        if missing:
            raise NotFoundError(f"bests of {regime_name} refer to missing runs/backtests {missing}")
        rows = [
            best_values(b, rank, runs[b.run_uuid], backtests[b.backtest_uuid])
            for rank, b in enumerate(bests, start=1)
        ]
        with guard(self.session, f"cannot replace the bests of {regime_name}"):
            self.session.execute(_DELETE_BESTS, {"regime": regime_name})
            if rows:
                self.session.execute(sa.insert(BESTS), rows)

    def add_history(self, changes: Iterable[RegimeBestChange]) -> None:
        """Append facts to ``regime_best_history``."""
        rows = [change_values(c) for c in changes]
        if rows:
            with guard(self.session, "cannot add regime best history"):
                self.session.execute(sa.insert(HISTORY), rows)

    def history(
        self, regime_name: str | None = None, limit: int = 100
    ) -> builtins.list[RegimeBestChange]:
        """Latest history entries, newest first."""
        query = sa.select(HISTORY).order_by(HISTORY.c.id.desc()).limit(limit)
        if regime_name is not None:
            query = query.where(HISTORY.c.regime_name == regime_name)
        return [change_from_row(row._mapping) for row in self.session.execute(query)]

    def runs_with_rank(self) -> set[str]:
        """Uuids of every run that holds a rank in some regime."""
        query = sa.select(RUNS.c.run_uuid).join(BESTS, BESTS.c.training_run_id == RUNS.c.id)
        return set(self.session.scalars(query.distinct()))
