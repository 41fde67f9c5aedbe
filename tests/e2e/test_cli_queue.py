"""``regimeforge queue ...`` one step at a time, and ``checkpoints list|show|validate``.

A tiny grid (ridge, 2,000 synthetic bars) with one point that cannot be valid (a horizon too
long for its history): it is recorded as a failed item at creation, and ``retry-failed``
re-queues it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import assert_bad_input, rf
from queue_helpers import assert_consistent, completed, init, one, sql, write_grid

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def queued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace with a created (not started) queue of 3 points, one invalid."""
    folder = tmp_path_factory.mktemp("q")
    ws = init(folder / "ws")
    grid = write_grid(folder, "tiny", [3, 6, 500])
    created = rf("queue", "create", grid, "-w", ws)
    assert created.returncode == 0, created.stderr
    return ws, created.stdout.strip()


def test_create_prints_only_the_uuid_and_records_invalid_points(queued) -> None:
    ws, uuid = queued
    assert re.fullmatch(r"[0-9a-f]{32}", uuid)
    assert sql(ws, "select status, total_configs, failed_count from training_queue") == [
        ("pending", 3, 1)
    ]
    error = one(ws, "select error from training_queue_items where status = 'failed'")
    assert "horizon" in error


def test_list_status_start_and_retry_failed(queued) -> None:
    ws, uuid = queued
    listed = rf("queue", "list", "-w", ws)
    assert listed.returncode == 0 and uuid in listed.stdout and "pending" in listed.stdout

    status = rf("queue", "status", uuid[:6], "-w", ws)
    assert status.returncode == 0, status.stderr
    assert "pending" in status.stdout and "1 of 3 done" in status.stdout
    assert "failed #2: " in status.stdout and "horizon" in status.stdout

    refused = assert_bad_input(rf("queue", "pause", uuid[:6], "-w", ws))
    assert "only a running queue can pause" in refused

    started = rf("queue", "start", uuid[:6], "-w", ws)
    assert started.returncode == 0, started.stderr
    assert "Queue tiny completed: 3 of 3 done (2 completed, 1 failed, 0 skipped)" in started.stdout
    assert "retry-failed" in started.stdout
    assert completed(ws) == 2
    assert_consistent(ws)

    retried = rf("queue", "retry-failed", uuid, "-w", ws)
    assert retried.returncode == 0 and "1 failed item(s) of queue tiny re-queued" in retried.stdout
    assert one(ws, "select status from training_queue") == "paused"
    again = rf("queue", "resume", "tiny", "-w", ws)  # by name
    assert again.returncode == 0, again.stderr
    assert "(2 completed, 1 failed, 0 skipped)" in again.stdout  # the point is still invalid
    assert completed(ws) == 2

    done = rf("queue", "status", uuid, "-w", ws)
    assert "completed" in done.stdout


def test_unknown_queue_exits_2(queued) -> None:
    ws, _ = queued
    line = assert_bad_input(rf("queue", "status", "zzz", "-w", ws))
    assert "no queue with uuid, uuid prefix or name 'zzz'" in line and "queue list" in line


def test_cancel_of_a_queue_that_is_not_running_is_immediate(tmp_path: Path) -> None:
    ws = init(tmp_path / "ws")
    grid = write_grid(tmp_path, "c", [3])
    uuid = rf("queue", "create", grid, "-w", ws).stdout.strip()
    result = rf("queue", "cancel", uuid, "-w", ws)
    assert result.returncode == 0 and "cancelled" in result.stdout
    assert one(ws, "select status from training_queue") == "cancelled"
    assert one(ws, "select status from training_queue_items") == "cancelled"


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """A run that wrote a checkpoint after every model: (workspace, queue uuid, newest file)."""
    folder = tmp_path_factory.mktemp("ck")
    ws = init(folder / "ws")
    grid = write_grid(folder, "ck", [3, 6])
    result = rf("run", grid, "-w", ws, env={"REGIMEFORGE_AUTO_CHECKPOINT_INTERVAL": "1"})
    assert result.returncode == 0, result.stderr
    uuid = one(ws, "select queue_uuid from training_queue")
    files = sorted((ws / "checkpoints").glob("*.json"))
    assert len(files) == 2
    return ws, uuid, files[-1]


def test_checkpoints_list_show_validate(checkpointed) -> None:
    ws, uuid, newest = checkpointed
    listed = rf("checkpoints", "list", "--queue", uuid[:8], "-w", ws)
    assert listed.returncode == 0, listed.stderr
    assert newest.name in listed.stdout and listed.stdout.count("yes") == 2

    ambiguous = assert_bad_input(rf("checkpoints", "show", uuid, "-w", ws))
    assert "matches 2 checkpoints" in ambiguous

    shown = rf("checkpoints", "show", newest.stem, "-w", ws)  # its name in checkpoints_dir
    assert shown.returncode == 0, shown.stderr
    assert uuid in shown.stdout and "2 of 2" in shown.stdout and "(verified)" in shown.stdout

    as_json = rf("checkpoints", "show", newest, "--json", "-w", ws)
    payload = json.loads(as_json.stdout)
    assert payload["queue_uuid"] == uuid and payload["checkpoint_version"] == 1
    assert len(payload["completed_runs"]) == 2

    valid = rf("checkpoints", "validate", newest, "-w", ws)
    assert valid.returncode == 0 and "a valid checkpoint of queue" in valid.stdout


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncate", "not valid JSON"),
        ("version", "checkpoint version 2 is not supported"),
        ("edit", "checksum mismatch"),
        ("drop", "missing field(s) regime_bests"),
    ],
)
def test_checkpoints_validate_refuses_damaged_files(
    checkpointed, tmp_path: Path, damage: str, reason: str
) -> None:
    ws, _, newest = checkpointed
    text = newest.read_text()
    payload = json.loads(text)
    if damage == "truncate":
        text = text[: len(text) // 3]
    elif damage == "version":
        text = json.dumps({**payload, "checkpoint_version": 2})
    elif damage == "edit":
        text = json.dumps({**payload, "current_index": 0})
    else:
        text = json.dumps({k: v for k, v in payload.items() if k != "regime_bests"})
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    line = assert_bad_input(rf("checkpoints", "validate", bad, "-w", ws))
    assert "invalid checkpoint" in line and reason in line


def test_checkpoints_show_unknown_exits_2(checkpointed) -> None:
    ws, _, _ = checkpointed
    line = assert_bad_input(rf("checkpoints", "show", "nope", "-w", ws))
    assert "no checkpoint file 'nope'" in line
