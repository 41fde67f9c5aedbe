"""Per-regime top-N of backtests, and the improvement rule.

The order of the top-N is total: better score first, then earlier ``achieved_at``, then
``run_uuid`` and ``backtest_uuid``. A candidate enters only when it beats the entry it would push
out in that order; with runs fed in time order this means *strictly better scores enter, ties do
not*. The final top-N depends only on the set of candidates ever fed (without a gate), whatever
their order: an equal score achieved earlier that arrives late takes precedence, because it was
there first (reported with a delta of 0).

Each regime holds at most one entry per run: a run's better backtest replaces its own entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from regimeforge.domain.regimes import RegimeBest, RegimeBestChange

#: Optional significance gate: may ``candidate`` push ``incumbent`` out of the top-N?
Gate = Callable[["Candidate", RegimeBest], bool]


@attrs.frozen
class Candidate:
    """This run's best sufficient backtest for one regime, scored by the primary metric."""

    regime_name: str
    run_uuid: str
    backtest_uuid: str
    score: float
    secondary: Mapping[str, Any]
    achieved_at: datetime


@attrs.frozen
class BestsUpdate:
    """What ``update_bests`` decided.

    ``tops``: the new top-N of each regime that changed (ranks 1..n). ``changes``: ``entered``
    (with the previous score of the rank taken, the improvement ``delta`` and ``percent``) and
    ``left`` facts. ``runs_without_rank``: runs that held a rank before and hold none now.
    """

    tops: dict[str, tuple[RegimeBest, ...]]
    changes: tuple[RegimeBestChange, ...]
    runs_without_rank: frozenset[str]

    @property
    def improved_regimes(self) -> frozenset[str]:
        """Regimes that some candidate entered."""
        return frozenset(c.regime_name for c in self.changes if c.change == "entered")


def _stamp(at: datetime | None) -> float:
    if at is None:
        return -math.inf
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _key(entry: RegimeBest, higher_is_better: bool) -> tuple[float, float, str, str]:
    score = entry.performance_score
    return (-score if higher_is_better else score, _stamp(entry.achieved_at), entry.run_uuid,
            entry.backtest_uuid)  # fmt: skip


def _as_best(candidate: Candidate) -> RegimeBest:
    return RegimeBest(
        regime_name=candidate.regime_name,
        rank=0,
        run_uuid=candidate.run_uuid,
        backtest_uuid=candidate.backtest_uuid,
        performance_score=float(candidate.score),
        secondary_metrics=candidate.secondary,
        achieved_at=candidate.achieved_at,
    )


def _merge(
    old: list[RegimeBest],
    candidates: Iterable[Candidate],
    top_n: int,
    higher_is_better: bool,
    gate: Gate | None,
) -> list[RegimeBest]:
    """New top-N of one regime (rank not yet renumbered)."""
    top = sorted(old, key=lambda e: _key(e, higher_is_better))[:top_n]
    ordered = [(_as_best(c), c) for c in candidates]
    ordered.sort(key=lambda pair: _key(pair[0], higher_is_better))
    for entry, candidate in ordered:
        key = _key(entry, higher_is_better)
        own = [e for e in top if e.run_uuid == entry.run_uuid]
        if own:
            if key < _key(own[0], higher_is_better):
                top = [*(e for e in top if e.run_uuid != entry.run_uuid), entry]
        elif len(top) < top_n:
            top = [*top, entry]
        else:
            worst = top[-1]
            if key >= _key(worst, higher_is_better):
                continue
            if gate is not None and not gate(candidate, worst):
                continue
            top = [*top[:-1], entry]
        top.sort(key=lambda e: _key(e, higher_is_better))
    return top


def _entered(
    entry: RegimeBest, old: list[RegimeBest], higher_is_better: bool, at: datetime
) -> RegimeBestChange:
    previous = old[entry.rank - 1] if entry.rank <= len(old) else None
    delta = percent = None
    if previous is not None:
        old_score = previous.performance_score
        delta = entry.performance_score - old_score
        delta = delta if higher_is_better else -delta
        if old_score > 0:
            percent = 100.0 * delta / old_score
    return RegimeBestChange(
        regime_name=entry.regime_name,
        change="entered",
        rank=entry.rank,
        run_uuid=entry.run_uuid,
        backtest_uuid=entry.backtest_uuid,
        performance_score=entry.performance_score,
        previous_score=previous.performance_score if previous else None,
        previous_run_uuid=previous.run_uuid if previous else None,
        delta=delta,
        percent=percent,
        at=at,
    )


def update_bests(
    current: Mapping[str, Sequence[RegimeBest]],
    candidates: Sequence[Candidate],
    *,
    top_n: int,
    higher_is_better: bool = True,
    at: datetime,
    gate: Gate | None = None,
) -> BestsUpdate:
    """Merge ``candidates`` into the stored top-N of every regime (see the module docstring).

    Candidates with a non-finite score are ignored. ``gate`` (the significance gate) is asked
    only when a candidate would push an entry of another run out of a full top-N.
    """
    if top_n < 1:
        raise ValueError("top_n must be at least 1")
    by_regime: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if math.isfinite(candidate.score):
            by_regime.setdefault(candidate.regime_name, []).append(candidate)
    tops: dict[str, tuple[RegimeBest, ...]] = {}
    changes: list[RegimeBestChange] = []
    for regime in sorted(by_regime):
        old = sorted(current.get(regime, ()), key=lambda e: e.rank)
        merged = _merge(old, by_regime[regime], top_n, higher_is_better, gate)
        new = [attrs.evolve(e, rank=i + 1) for i, e in enumerate(merged)]
        if [(e.backtest_uuid, e.rank) for e in new] == [(e.backtest_uuid, e.rank) for e in old]:
            continue
        tops[regime] = tuple(new)
        kept = {e.backtest_uuid for e in new}
        before = {e.backtest_uuid for e in old}
        changes.extend(
            _entered(e, old, higher_is_better, at) for e in new if e.backtest_uuid not in before
        )
        changes.extend(
            RegimeBestChange(
                regime_name=regime,
                change="left",
                rank=e.rank,
                run_uuid=e.run_uuid,
                backtest_uuid=e.backtest_uuid,
                performance_score=e.performance_score,
                at=at,
            )
            for e in old
            if e.backtest_uuid not in kept
        )
    held_before = {e.run_uuid for entries in current.values() for e in entries}
    final = {**{k: tuple(v) for k, v in current.items()}, **tops}
    held_after = {e.run_uuid for entries in final.values() for e in entries}
    return BestsUpdate(tops, tuple(changes), frozenset(held_before - held_after))


def best_candidates(
    results: Iterable[tuple[str, Mapping[str, Mapping[str, Any]]]],
    regimes: Iterable[str],
    primary_metric: str,
    higher_is_better: bool = True,
) -> dict[str, tuple[str, float, Mapping[str, Any]]]:
    """This run's best sufficient backtest per regime: regime -> (backtest_uuid, score, metrics).

    ``results`` are ``(backtest_uuid, regime_metrics)`` pairs; a regime's entry counts only when
    its ``sufficient`` flag is true and its primary metric is a finite number. Ties keep the
    first backtest seen. Use :func:`to_candidates` to turn the answer into ``Candidate`` objects.
    """
    wanted = set(regimes)
    best: dict[str, tuple[str, float, Mapping[str, Any]]] = {}
    for backtest_uuid, regime_metrics in results:
        for regime, metrics in regime_metrics.items():
            if regime not in wanted or not metrics.get("sufficient", False):
                continue
            value = metrics.get(primary_metric)
            if not isinstance(value, int | float) or not math.isfinite(value):
                continue
            score = float(value)
            held = best.get(regime)
            if held is None or (score > held[1] if higher_is_better else score < held[1]):
                best[regime] = (backtest_uuid, score, metrics)
    return best


def to_candidates(
    best: Mapping[str, tuple[str, float, Mapping[str, Any]]],
    *,
    run_uuid: str,
    achieved_at: datetime,
) -> list[Candidate]:
    """``Candidate`` objects of one run from the answer of :func:`best_candidates`."""
    return [
        Candidate(regime, run_uuid, backtest_uuid, score, dict(metrics), achieved_at)
        for regime, (backtest_uuid, score, metrics) in sorted(best.items())
    ]
