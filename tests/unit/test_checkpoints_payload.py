"""Checkpoint payloads: fields of the original plan, a checksum, clear refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.errors import CheckpointError
from regimeforge.domain.regimes import RegimeBest
from regimeforge.domain.states import ItemStatus
from regimeforge.domain.usecases.checkpoints import (
    CHECKPOINT_VERSION,
    FIELDS,
    FinishedLog,
    build_checkpoint,
    checksum_of,
    validate_checkpoint,
)

AT = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)


def payload() -> dict:
    queue = TrainingQueue(
        "q1", "demo", {"grid": {"model_type": ["ridge"]}, "data": {"source": "synthetic"}}, 3,
        current_index=2, completed_count=1, failed_count=1,
    )  # fmt: skip
    items = [
        QueueItem("q1", 0, "h0", status=ItemStatus.COMPLETED, run_uuid="r0"),
        QueueItem("q1", 1, "h1", status=ItemStatus.FAILED, error="RuntimeError: boom"),
        QueueItem("q1", 2, "h2"),
    ]
    bests = {"calm_ranging": [RegimeBest("calm_ranging", 1, "r0", "b0", 1.25)]}
    return build_checkpoint(queue, items, bests, {"trained": 2, "kept": 1}, AT)


def roundtrip(data: dict) -> dict:
    return json.loads(json.dumps(data))


def test_a_payload_has_the_fields_of_the_plan_and_survives_json() -> None:
    data = roundtrip(payload())
    assert set(data) == {*FIELDS, "checksum"}
    checkpoint = validate_checkpoint(data)
    assert checkpoint.queue_uuid == "q1" and checkpoint.created_at == AT
    assert checkpoint.current_index == 2 and checkpoint.total_configs == 3
    assert [r["index"] for r in checkpoint.completed_runs] == [0]
    assert checkpoint.failed_runs[0]["error"] == "RuntimeError: boom"
    assert checkpoint.regime_bests["calm_ranging"][0]["performance_score"] == 1.25
    assert data["checkpoint_version"] == CHECKPOINT_VERSION
    assert data["checksum"] == checksum_of(data)


@given(
    field=st.sampled_from(["current_index", "total_configs", "queue_uuid", "statistics"]),
    value=st.one_of(st.integers(0, 10**6), st.text(max_size=5), st.just({"kept": 99})),
)
def test_any_change_after_writing_fails_the_checksum(field: str, value: object) -> None:
    data = roundtrip(payload())
    if data[field] == value or type(data[field]) is not type(value):
        return  # not a change of this field's content (type errors have their own message)
    data[field] = value
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        validate_checkpoint(data)


def test_a_truncated_payload_names_the_missing_fields() -> None:
    data = roundtrip(payload())
    del data["regime_bests"], data["checksum"]
    with pytest.raises(CheckpointError, match=r"missing field.*regime_bests, checksum"):
        validate_checkpoint(data, source="cp.json")


def test_another_version_is_refused_before_anything_else() -> None:
    data = roundtrip(payload())
    data["checkpoint_version"] = 99
    with pytest.raises(CheckpointError, match=r"version 99 is not supported.*database state"):
        validate_checkpoint(data)


@pytest.mark.parametrize("bad", [[], "text", None, 3])
def test_something_that_is_no_object_is_refused(bad: object) -> None:
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        validate_checkpoint(bad)


def test_a_field_of_the_wrong_type_is_named() -> None:
    data = roundtrip(payload())
    data["completed_runs"] = "all of them"
    data["checksum"] = checksum_of(data)
    with pytest.raises(CheckpointError, match="completed_runs have the wrong type"):
        validate_checkpoint(data)


def reference(queue: TrainingQueue, items: dict[int, QueueItem], bests: dict, stats: dict) -> dict:
    """The payload built field by field with plain dicts (not from joined text), with checksum."""
    done = [items[i] for i in sorted(items)]
    data = {
        "queue_uuid": queue.queue_uuid,
        "checkpoint_version": CHECKPOINT_VERSION,
        "created_at": AT.isoformat(),
        "config_grid": queue.config_grid,
        "current_index": queue.current_index,
        "total_configs": queue.total_configs,
        "completed_runs": [
            {"index": i.index, "config_hash": i.config_hash, "run_uuid": i.run_uuid,
             "status": i.status.value}
            for i in done if i.status in (ItemStatus.COMPLETED, ItemStatus.SKIPPED)
        ],
        "failed_runs": [
            {"index": i.index, "config_hash": i.config_hash, "run_uuid": i.run_uuid,
             "error": i.error or ""}
            for i in done if i.status is ItemStatus.FAILED
        ],
        "regime_bests": {
            regime: [{"rank": b.rank, "run_uuid": b.run_uuid, "backtest_uuid": b.backtest_uuid,
                      "performance_score": b.performance_score} for b in entries]
            for regime, entries in bests.items()
        },
        "statistics": stats,
    }  # fmt: skip
    data["checksum"] = checksum_of(data)
    return data


FINAL = [ItemStatus.COMPLETED, ItemStatus.SKIPPED, ItemStatus.FAILED]
FINISHES = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.sampled_from([*FINAL, ItemStatus.PENDING]),
        st.text('abc\u00e9"\\\n', max_size=6),
    ),
    max_size=60,
)


@given(finishes=FINISHES, score=st.floats(-1e6, 1e6), reload_at=st.integers(0, 60))
def test_a_log_kept_up_to_date_writes_what_a_fresh_build_would(
    finishes: list[tuple[int, ItemStatus, str]], score: float, reload_at: int
) -> None:
    # Items finish (or go back to pending) in any order, some several times; the log is
    # reloaded from the items at some point, as a coordinator does after others' work.
    queue = TrainingQueue("q1", "demo", {"grid": {"horizon": [5, 10]}, "x": 1.0}, 31)
    log, state = FinishedLog(), {}
    for step, (index, status, text) in enumerate(finishes):
        if step == reload_at:
            log.reload(state.values())
        item = QueueItem("q1", index, f"h{index}", status=status, run_uuid=f"r{step}",
                         error=f"E: {text}" if status is ItemStatus.FAILED else None)  # fmt: skip
        log.add(item)
        if status is ItemStatus.PENDING:
            state.pop(index, None)
        else:
            state[index] = item
    bests = {"calm_ranging": [RegimeBest("calm_ranging", 1, "r0", "b0", score)]}
    stats = {"trained": len(state), "elapsed_seconds": 1.5}
    document = log.document(queue, bests, stats, AT)
    written = json.loads(document.text)
    assert written == reference(queue, state, bests, stats)
    assert validate_checkpoint(written).checksum == written["checksum"]
    assert document.queue_uuid == "q1" and document.created_at == AT.isoformat()


def test_the_log_agrees_with_the_queue_only_when_loaded_and_the_counts_match() -> None:
    queue = TrainingQueue("q1", "demo", {}, 5, completed_count=1, skipped_count=1, failed_count=1)
    log = FinishedLog()
    finished = [
        QueueItem("q1", 0, "h0", status=ItemStatus.COMPLETED, run_uuid="r0"),
        QueueItem("q1", 1, "h1", status=ItemStatus.SKIPPED, run_uuid="r0"),
        QueueItem("q1", 2, "h2", status=ItemStatus.FAILED, error="boom"),
    ]
    for item in finished:
        log.add(item)
    assert not log.agrees_with(queue)  # never read from the database: not trusted
    log.reload(finished)
    assert log.agrees_with(queue)
    log.add(QueueItem("q1", 3, "h3", status=ItemStatus.FAILED, error="elsewhere"))
    assert not log.agrees_with(queue)  # a failure the queue's counters do not know
