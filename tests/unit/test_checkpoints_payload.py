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
