"""Removing runs from the regime top-N by hand (``runs delete --force``, ``models cleanup``).

The improvement logic (``domain.regime_bests``) only ever lets better backtests in. A run that is
deleted, or whose model file is found missing, must leave every top-N it holds a rank in: the
entries below it move up one rank and the freed slot stays empty until a later run earns it (the
runs that were pushed out earlier may have lost their files, so they are not brought back).
Each removal is a fact for ``regime_best_history`` with its own ``change`` word.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import attrs

from regimeforge.domain.regimes import RegimeBest, RegimeBestChange

#: ``regime_best_history.change`` of a rank removed because its run was deleted.
DELETED = "deleted"
#: ``regime_best_history.change`` of a rank removed because its model file was missing.
FILE_MISSING = "file_missing"


@attrs.frozen
class RankRemoval:
    """The new top-N of every regime that changed, and one history fact per removed rank."""

    tops: dict[str, tuple[RegimeBest, ...]]
    changes: tuple[RegimeBestChange, ...]

    @property
    def regimes(self) -> tuple[str, ...]:
        """The regimes that lost a rank, sorted."""
        return tuple(sorted(self.tops))


def drop_ranks(
    current: Mapping[str, Sequence[RegimeBest]],
    run_uuids: Collection[str],
    *,
    at: datetime,
    change: str,
) -> RankRemoval:
    """Remove every rank held by ``run_uuids``; the rest of each top-N is renumbered 1..n."""
    tops: dict[str, tuple[RegimeBest, ...]] = {}
    changes: list[RegimeBestChange] = []
    for regime in sorted(current):
        ordered = sorted(current[regime], key=lambda e: e.rank)
        gone = [e for e in ordered if e.run_uuid in run_uuids]
        if not gone:
            continue
        rest = [e for e in ordered if e.run_uuid not in run_uuids]
        tops[regime] = tuple(attrs.evolve(e, rank=i) for i, e in enumerate(rest, start=1))
        changes.extend(
            RegimeBestChange(
                regime_name=regime,
                change=change,
                rank=e.rank,
                run_uuid=e.run_uuid,
                backtest_uuid=e.backtest_uuid,
                performance_score=e.performance_score,
                at=at,
            )
            for e in gone
        )
    return RankRemoval(tops, tuple(changes))


def holdings(tops: Mapping[str, Sequence[RegimeBest]]) -> dict[str, tuple[str, ...]]:
    """run uuid -> the regimes it holds a rank in (sorted), for ``TrainingRun.best_regimes``."""
    held: dict[str, set[str]] = {}
    for regime, entries in tops.items():
        for entry in entries:
            held.setdefault(entry.run_uuid, set()).add(regime)
    return {run: tuple(sorted(regimes)) for run, regimes in held.items()}
