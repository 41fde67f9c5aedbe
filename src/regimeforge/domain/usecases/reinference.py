"""Recording a re-run of the inner loop on a stored model (``regimeforge runs rerun-inference``).

The caller loads the run's model file (SHA-256 verified), rebuilds its training window (data
fingerprint checked) and runs the inner loop with some inference grid; this use case records the
answer in ONE unit of work, the way ``record_evaluation`` records a fresh model.

**Decision: add, never replace.** Inference configs the run has no backtest of are added.
Configs it already has are left as recorded: the model file and the bars are verified to be the
ones the run trained on, so the same config gives the same backtest, and the recorded rows are
facts that regime bests and their history point at. They are compared, though, and the answer
says how many differ (a different version of the code, say). The new backtests compete for
regime bests like any result: a regime whose top-N they enter is updated (with history), runs
pushed out of every top-N get ``is_model_kept`` cleared and their files deleted after the
commit (with ``delete_non_best_models``). The run itself never loses a rank this way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.entities import InferenceBacktest, TrainingRun
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.events import Event
from regimeforge.domain.ids import new_ordered_id
from regimeforge.domain.ports import ArtifactStore, UnitOfWork
from regimeforge.domain.regimes import RegimeBestChange
from regimeforge.domain.states import RunStatus
from regimeforge.domain.usecases.ranks import holdings
from regimeforge.domain.usecases.record import (
    RecordPolicy,
    decide_bests,
    delete_artifact,
    improvement_events,
)
from regimeforge.domain.usecases.tasks import BacktestRecord


@attrs.frozen
class Reinference:
    """What ``record_reinference`` did, and the events to publish."""

    run: TrainingRun
    added: int
    already: int  # configs recorded before, left as they were
    differing: int  # of those, how many gave other metrics this time
    changes: tuple[RegimeBestChange, ...]
    deleted_runs: tuple[str, ...]
    freed_bytes: int
    events: tuple[Event, ...]


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    # JSON has no NaN: a non-finite number is stored as null
    none_a = a is None or (isinstance(a, float) and not math.isfinite(a))
    none_b = b is None or (isinstance(b, float) and not math.isfinite(b))
    return (none_a and none_b) or a == b


def same_metrics(recorded: Mapping[str, Any], fresh: Mapping[str, Any]) -> bool:
    """Whether two metric documents agree (floats to 1e-9 relative; NaN equals null)."""
    keys = set(recorded) | set(fresh)
    return all(_same_value(recorded.get(k), fresh.get(k)) for k in keys)


def check_rerunnable(run: TrainingRun) -> None:
    """ConfigError unless ``run`` is completed (only completed runs have a model and data)."""
    if run.status is not RunStatus.COMPLETED:
        raise ConfigError(
            [
                Problem(
                    "RUN",
                    f"run {run.run_uuid[:12]} is {run.status.value}, not completed",
                    "re-run inference on a completed run with a kept model",
                )
            ]
        )


def _backtest(run_uuid: str, record: BacktestRecord, at: datetime, uuid: str) -> InferenceBacktest:
    inference = InferenceConfig.from_mapping(record.inference)
    if inference.config_hash != record.inference_hash:
        raise ValueError(f"inference hash {record.inference_hash[:12]} does not match its config")
    return InferenceBacktest(
        backtest_uuid=uuid,
        run_uuid=run_uuid,
        inference=inference,
        inference_hash=record.inference_hash,
        backtest_metrics=record.backtest_metrics,
        regime_metrics=record.regime_metrics,
        duration_seconds=record.duration_seconds,
        created_at=at,
    )


def record_reinference(
    uow: UnitOfWork,
    *,
    run_uuid: str,
    records: Sequence[BacktestRecord],
    policy: RecordPolicy,
    artifacts: ArtifactStore,
    at: datetime,
    ids: Callable[[], str] = new_ordered_id,
) -> Reinference:
    """Record the backtests of a re-run inner loop (see the module docstring)."""
    gone: list[tuple[str, str]] = []
    with uow:
        run = uow.runs.get(run_uuid)
        check_rerunnable(run)
        existing = {b.inference_hash: b for b in uow.backtests.for_run(run_uuid)}
        seen = [r for r in records if r.inference_hash in existing]
        differing = sum(
            not same_metrics(existing[r.inference_hash].backtest_metrics, r.backtest_metrics)
            for r in seen
        )
        fresh = {r.inference_hash: r for r in records if r.inference_hash not in existing}
        backtests = [_backtest(run_uuid, r, at, ids()) for r in fresh.values()]
        uow.backtests.add_many(backtests)
        current, update = decide_bests(uow, backtests, run_uuid, policy, at)
        for regime, top in update.tops.items():
            uow.bests.replace(regime, top)
        uow.bests.add_history(update.changes)
        held = holdings({**current, **update.tops})
        done = run
        for other_uuid in sorted({c.run_uuid for c in update.changes} | {run_uuid}):
            other = run if other_uuid == run_uuid else uow.runs.get(other_uuid)
            changes: dict[str, Any] = {"best_regimes": held.get(other_uuid, ())}
            lost = other_uuid in update.runs_without_rank and other_uuid != run_uuid
            if lost and policy.delete_non_best_models:
                changes["is_model_kept"] = False
                if other.is_model_kept and other.model_file_path:
                    gone.append((other_uuid, other.model_file_path))
            updated = attrs.evolve(other, updated_at=at, **changes)
            uow.runs.update(updated)
            done = updated if other_uuid == run_uuid else done
        uow.commit()
    events: list[Event] = improvement_events(update.changes)
    freed = 0
    for other_uuid, name in gone:  # recorded already; `models cleanup` removes a file left over
        size, event = delete_artifact(artifacts, other_uuid, name)
        freed += size
        events.append(event)
    return Reinference(
        run=done,
        added=len(backtests),
        already=len(seen),
        differing=differing,
        changes=update.changes,
        deleted_runs=tuple(u for u, _ in gone),
        freed_bytes=freed,
        events=tuple(events),
    )
