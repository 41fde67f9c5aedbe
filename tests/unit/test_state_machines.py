"""Run, queue and queue-item state machines accept exactly the legal paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.errors import IllegalTransitionError
from regimeforge.domain.states import ItemStatus, QueueStatus, RunStatus

AT = datetime(2026, 1, 1, tzinfo=UTC)
R, Q, It = RunStatus, QueueStatus, ItemStatus
# Written out independently of the tables in states.py (DESIGN §3 and the queue-item notes).
LEGAL_RUN = {(R.PENDING, R.RUNNING), (R.PENDING, R.CANCELLED), (R.RUNNING, R.COMPLETED),
             (R.RUNNING, R.FAILED), (R.RUNNING, R.CANCELLED)}  # fmt: skip
LEGAL_QUEUE = {(Q.PENDING, Q.RUNNING), (Q.PENDING, Q.CANCELLED), (Q.RUNNING, Q.PAUSED),
               (Q.RUNNING, Q.COMPLETED), (Q.RUNNING, Q.CANCELLED), (Q.RUNNING, Q.FAILED),
               (Q.PAUSED, Q.RUNNING), (Q.PAUSED, Q.CANCELLED), (Q.FAILED, Q.RUNNING),
               (Q.FAILED, Q.CANCELLED), (Q.COMPLETED, Q.PAUSED)}  # fmt: skip
LEGAL_ITEM = {(It.PENDING, It.RUNNING), (It.PENDING, It.SKIPPED), (It.PENDING, It.CANCELLED),
              (It.RUNNING, It.COMPLETED), (It.RUNNING, It.FAILED), (It.RUNNING, It.SKIPPED),
              (It.RUNNING, It.PENDING), (It.RUNNING, It.CANCELLED), (It.FAILED, It.PENDING),
              (It.CANCELLED, It.PENDING)}  # fmt: skip
CATALOG = ConfigCatalog(
    model_types={"ridge": {}}, encoders={"none": {}}, indicators=BUILTIN_INDICATORS
)
CONFIG = ModelConfig.from_mapping(
    {"model_type": "ridge", "symbol": "GOOG", "base_timeframe": "1d", "days_history": 400,
     "horizon": 5}, CATALOG)  # fmt: skip


def _run_step(run: TrainingRun, target: RunStatus) -> TrainingRun:
    if target is R.RUNNING:
        return run.start(AT, "fp")
    if target is R.COMPLETED:
        return run.complete(AT, feature_count=3)
    if target is R.FAILED:
        return run.fail(AT, "boom")
    if target is R.CANCELLED:
        return run.cancel(AT)
    return run._to(target)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list(RunStatus)), max_size=6))
def test_run_accepts_exactly_the_legal_paths(path: list[RunStatus]) -> None:
    run = TrainingRun("u1", CONFIG, CONFIG.config_hash)
    for target in path:
        legal = (run.status, target) in LEGAL_RUN
        if legal:
            run = _run_step(run, target)
            assert run.status is target
        else:
            with pytest.raises(IllegalTransitionError):
                _run_step(run, target)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list(QueueStatus)), max_size=8))
def test_queue_accepts_exactly_the_legal_paths(path: list[QueueStatus]) -> None:
    queue = TrainingQueue("q1", "grid", {}, 3)
    for target in path:
        if (queue.status, target) in LEGAL_QUEUE:
            queue = queue.to(target, AT)
            assert queue.status is target
        else:
            with pytest.raises(IllegalTransitionError, match=f"to {target.value}"):
                queue.to(target, AT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list(ItemStatus)), max_size=8))
def test_item_accepts_exactly_the_legal_paths(path: list[ItemStatus]) -> None:
    item = QueueItem("q1", 0, "h")
    for target in path:
        if (item.status, target) in LEGAL_ITEM:
            item = item.to(target)
            assert item.status is target
        else:
            with pytest.raises(IllegalTransitionError):
                item.to(target)


def test_transitions_stamp_times_and_keep_results() -> None:
    run = TrainingRun("u1", CONFIG, CONFIG.config_hash).start(AT, "fp")
    assert run.started_at == AT and run.data_fingerprint == "fp"
    done = run.complete(AT, feature_count=7)
    assert done.completed_at == AT and done.feature_count == 7
    assert run.status is R.RUNNING  # the old value is untouched
    queue = TrainingQueue("q1", "grid", {}, 3).to(Q.RUNNING, AT)
    assert queue.started_at == AT and queue.completed_at is None
    assert queue.to(Q.COMPLETED, AT).completed_at == AT
    with pytest.raises(IllegalTransitionError, match="allowed: nothing"):
        done.cancel(AT)
