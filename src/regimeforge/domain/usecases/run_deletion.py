"""Deleting recorded runs (``regimeforge runs delete``): one transaction, then the files.

In ONE unit of work: the runs are read again and checked (a running run is refused; a run that
holds a regime rank is refused unless ``force``), their ranks are removed from every top-N (the
entries below move up; see ``ranks``) with a ``deleted`` fact in ``regime_best_history``, their
backtests and the runs themselves are deleted. Only after the commit are their model files
deleted: a rollback must not leave a run without its file. A file that cannot be deleted is
reported and left to ``models cleanup`` (it no longer belongs to any run).

Deleting a completed run also forgets that its config was trained: a later queue with the same
config on the same data trains it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.ports import ArtifactStore, UnitOfWork
from regimeforge.domain.regimes import RegimeBestChange
from regimeforge.domain.states import RunStatus
from regimeforge.domain.usecases.ranks import DELETED, drop_ranks, holdings


@attrs.frozen
class DeletionPlan:
    """What deleting some runs would do (shown before asking for confirmation)."""

    runs: tuple[TrainingRun, ...]
    ranks: dict[str, tuple[str, ...]]  # run uuid -> regimes it holds a rank in
    files: tuple[str, ...]  # kept model files that would be deleted
    file_bytes: int


@attrs.frozen
class Deleted:
    """What ``delete_runs`` did."""

    runs: tuple[str, ...]
    backtests: int
    changes: tuple[RegimeBestChange, ...]
    files_deleted: int
    freed_bytes: int
    failed_files: tuple[tuple[str, str], ...]  # (file, why) left for `models cleanup`


def _check(runs: Sequence[TrainingRun], ranks: dict[str, tuple[str, ...]], force: bool) -> None:
    problems = [
        Problem(
            "RUN",
            f"run {r.run_uuid[:12]} is running",
            "pause or cancel its queue first (regimeforge queue pause|cancel)",
        )
        for r in runs
        if r.status is RunStatus.RUNNING
    ]
    if not force:
        problems += [
            Problem(
                "--force",
                f"run {r.run_uuid[:12]} holds a regime best in {', '.join(ranks[r.run_uuid])}",
                "pass --force to delete it anyway and clear those ranks",
            )
            for r in runs
            if ranks.get(r.run_uuid)
        ]
    ConfigError.collect(problems)


def _plan(uow: UnitOfWork, run_uuids: Sequence[str]) -> DeletionPlan:
    runs = tuple(uow.runs.get(u) for u in run_uuids)
    held = holdings(uow.bests.all())
    ranks = {r.run_uuid: held[r.run_uuid] for r in runs if r.run_uuid in held}
    kept = [r for r in runs if r.is_model_kept and r.model_file_path]
    files = tuple(str(r.model_file_path) for r in kept)
    return DeletionPlan(runs, ranks, files, sum(r.model_file_size_bytes or 0 for r in kept))


def plan_deletion(uow: UnitOfWork, run_uuids: Sequence[str], *, force: bool) -> DeletionPlan:
    """What deleting ``run_uuids`` would do; ConfigError when it would be refused."""
    with uow:
        plan = _plan(uow, run_uuids)
    _check(plan.runs, plan.ranks, force)
    return plan


def delete_runs(
    uow: UnitOfWork,
    artifacts: ArtifactStore,
    run_uuids: Sequence[str],
    *,
    force: bool,
    at: datetime,
) -> Deleted:
    """Delete runs, their backtests and ranks in one transaction, then their files."""
    with uow:
        plan = _plan(uow, run_uuids)  # read again: the plan shown may be stale
        _check(plan.runs, plan.ranks, force)
        removal = drop_ranks(uow.bests.all(), set(run_uuids), at=at, change=DELETED)
        for regime, top in removal.tops.items():
            uow.bests.replace(regime, top)
        uow.bests.add_history(removal.changes)
        backtests = 0
        for run_uuid in run_uuids:
            backtests += uow.backtests.delete_for_run(run_uuid)
            uow.runs.delete(run_uuid)
        uow.commit()
    freed = deleted = 0
    failed: list[tuple[str, str]] = []
    for name in plan.files:
        try:
            size = artifacts.delete(name)
        except Exception as exc:  # the runs are gone; the file is now an orphan for cleanup
            failed.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        deleted += 1 if size else 0
        freed += size
    return Deleted(
        runs=tuple(run_uuids),
        backtests=backtests,
        changes=removal.changes,
        files_deleted=deleted,
        freed_bytes=freed,
        failed_files=tuple(failed),
    )
