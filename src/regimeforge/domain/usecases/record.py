"""Recording one model's result: one transaction, and no orphan file.

``record_evaluation`` writes, in ONE unit of work: the run (completed, file fields, kept flag,
best regimes), all its backtests, the regime best changes and their history, ``is_model_kept``
cleared on runs pushed out of every top-N, the queue item completed and the queue's counters.

Files: the worker wrote the artifact before this transaction. A model that is not kept has its
file deleted *before* the commit (if the commit then fails, the file had to go anyway); if the
transaction fails, the file is deleted too. Files of runs pushed out of every top-N are deleted
only *after* the commit (a rollback must not leave a kept run without its file); a failure there
is only reported (``ArtifactDeleteFailed``): ``models cleanup`` removes files of runs not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import attrs

from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.entities import InferenceBacktest, QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.events import (
    ArtifactDeleteFailed,
    Event,
    ModelDeleted,
    ModelKept,
    RegimeImproved,
    RunCompleted,
)
from regimeforge.domain.ids import new_ordered_id
from regimeforge.domain.ports import ArtifactStore, UnitOfWork
from regimeforge.domain.regime_bests import (
    BestsUpdate,
    Gate,
    best_candidates,
    to_candidates,
    update_bests,
)
from regimeforge.domain.regimes import RegimeBest, RegimeBestChange
from regimeforge.domain.states import ItemStatus
from regimeforge.domain.usecases.items import advance_queue
from regimeforge.domain.usecases.ranks import holdings
from regimeforge.domain.usecases.tasks import BacktestRecord, WorkerResult


@attrs.frozen
class RecordPolicy:
    """How results are judged: ranking metric and direction, top-N size, file policy."""

    primary_metric: str = "sharpe"
    higher_is_better: bool = True
    keep_top_n_per_regime: int = 3
    delete_non_best_models: bool = True
    gate: Gate | None = None


@attrs.frozen
class Recorded:
    """What ``record_evaluation`` did, and the events to publish (in order)."""

    run: TrainingRun
    backtest_count: int
    changes: tuple[RegimeBestChange, ...]
    kept: bool
    freed_bytes: int
    deleted_runs: tuple[str, ...]
    events: tuple[Event, ...]
    queue: TrainingQueue | None = None
    item: QueueItem | None = None  # the queue item as recorded (completed)


#: Parsed inference configs by hash: every model of a queue repeats the same ones.
_INFERENCE: dict[str, InferenceConfig] = {}


def _inference(record: BacktestRecord) -> InferenceConfig:
    parsed = _INFERENCE.get(record.inference_hash)
    if parsed is None:
        parsed = InferenceConfig.from_mapping(record.inference)
        if parsed.config_hash != record.inference_hash:
            raise ValueError(f"inference hash {record.inference_hash[:12]} does not match")
        if len(_INFERENCE) < 10_000:
            _INFERENCE[record.inference_hash] = parsed
    return parsed


def backtests_of(
    run_uuid: str, result: WorkerResult, at: datetime, ids: Callable[[], str] = new_ordered_id
) -> list[InferenceBacktest]:
    """The backtest entities of a worker result."""
    return [
        InferenceBacktest(
            backtest_uuid=ids(),
            run_uuid=run_uuid,
            inference=_inference(record),
            inference_hash=record.inference_hash,
            backtest_metrics=record.backtest_metrics,
            regime_metrics=record.regime_metrics,
            duration_seconds=record.duration_seconds,
            created_at=at,
        )
        for record in result.backtests
    ]


def decide_bests(
    uow: UnitOfWork,
    backtests: Sequence[InferenceBacktest],
    run_uuid: str,
    policy: RecordPolicy,
    at: datetime,
) -> tuple[dict[str, list[RegimeBest]], BestsUpdate]:
    """Inside ``uow``: the stored top-N of every regime and their update by ``backtests``."""
    regimes = [r.name for r in uow.regimes.list(active_only=True)]
    best = best_candidates(
        ((b.backtest_uuid, b.regime_metrics) for b in backtests),
        regimes,
        policy.primary_metric,
        policy.higher_is_better,
    )
    current = uow.bests.all()
    update = update_bests(
        current,
        to_candidates(best, run_uuid=run_uuid, achieved_at=at),
        top_n=policy.keep_top_n_per_regime,
        higher_is_better=policy.higher_is_better,
        at=at,
        gate=policy.gate,
    )
    return current, update


def improvement_events(changes: Sequence[RegimeBestChange]) -> list[Event]:
    """A ``RegimeImproved`` event for every change that entered a top-N."""
    return [
        RegimeImproved(
            c.regime_name,
            c.run_uuid,
            c.backtest_uuid,
            c.rank,
            c.performance_score,
            c.previous_score,
            c.delta,
            c.percent,
        )
        for c in changes
        if c.change == "entered"
    ]


def delete_artifact(artifacts: ArtifactStore, run_uuid: str, name: str) -> tuple[int, Event]:
    """Delete a model file: (bytes freed, event); a failure is an event, never an exception."""
    try:
        freed = artifacts.delete(name)
    except Exception as exc:  # a file that cannot go must not undo what was recorded
        return 0, ArtifactDeleteFailed(run_uuid, name, f"{type(exc).__name__}: {exc}")
    return freed, ModelDeleted(run_uuid, name, freed)


def record_evaluation(
    uow: UnitOfWork,
    *,
    run: TrainingRun,
    item: QueueItem | None,
    result: WorkerResult,
    policy: RecordPolicy,
    artifacts: ArtifactStore,
    at: datetime,
    ids: Callable[[], str] = new_ordered_id,
) -> Recorded:
    """Record a finished model (see the module docstring); ``uow`` is not yet entered."""
    name = result.artifact.name
    gone: list[tuple[str, str]] = []  # (run_uuid, file) to delete after the commit
    events: list[Event] = []
    freed = 0
    try:
        backtests = backtests_of(run.run_uuid, result, at, ids)
        with uow:
            # Reading the queue first locks its row on PostgreSQL: coordinators sharing the
            # queue then record one at a time, so none decides regime bests on stale ones.
            locked = uow.queues.get(item.queue_uuid) if item is not None else None
            current, update = decide_bests(uow, backtests, run.run_uuid, policy, at)
            held = holdings({**current, **update.tops})
            best_regimes = held.get(run.run_uuid, ())
            kept = bool(best_regimes) or not policy.delete_non_best_models
            done = run.complete(
                at,
                data_fingerprint=result.data_fingerprint,
                training_metrics=result.training_metrics,
                feature_count=result.feature_count,
                training_duration_seconds=result.training_seconds,
                model_file_path=name,
                model_file_size_bytes=result.artifact.size_bytes,
                model_file_sha256=result.artifact.sha256,
                is_model_kept=kept,
                best_regimes=best_regimes,
            )
            uow.runs.update(done)
            uow.backtests.add_many(backtests)
            for regime, top in update.tops.items():
                uow.bests.replace(regime, top)
            uow.bests.add_history(update.changes)
            touched = {c.run_uuid for c in update.changes} - {run.run_uuid}
            for other_uuid in sorted(touched):
                other = uow.runs.get(other_uuid)
                changes: dict[str, Any] = {"best_regimes": held.get(other_uuid, ())}
                if other_uuid in update.runs_without_rank and policy.delete_non_best_models:
                    changes["is_model_kept"] = False
                    if other.is_model_kept and other.model_file_path:
                        gone.append((other_uuid, other.model_file_path))
                uow.runs.update(attrs.evolve(other, updated_at=at, **changes))
            queue = None
            if item is not None:
                item = item.to(ItemStatus.COMPLETED, run_uuid=run.run_uuid, heartbeat_at=at)
                uow.queues.update_item(item)
                queue = advance_queue(
                    uow, item.queue_uuid, at, finished=ItemStatus.COMPLETED, locked=locked
                )
            if not kept:
                # Before the commit: if the commit fails, this file had to go anyway.
                freed, event = delete_artifact(artifacts, run.run_uuid, name)
                events.append(event)
            uow.commit()
    except BaseException:
        if artifacts.exists(name):
            artifacts.delete(name)
        raise
    events.insert(
        0,
        RunCompleted(
            run.queue_uuid,
            run.run_uuid,
            run.config_hash,
            kept,
            best_regimes,
            result.training_seconds,
        ),
    )
    events.extend(improvement_events(update.changes))
    if kept:
        events.append(ModelKept(run.run_uuid, name, result.artifact.size_bytes, best_regimes))
    for other_uuid, path in gone:
        size, event = delete_artifact(artifacts, other_uuid, path)
        freed += size
        events.append(event)
    return Recorded(
        run=done,
        backtest_count=len(backtests),
        changes=update.changes,
        kept=kept,
        freed_bytes=freed,
        deleted_runs=tuple(sorted({r for r, _ in gone} | (set() if kept else {run.run_uuid}))),
        events=tuple(events),
        queue=queue,
        item=item,
    )
