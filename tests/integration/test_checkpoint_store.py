"""JsonCheckpointStore: atomic files; corrupt, truncated or wrong-version files are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from regimeforge.adapters.checkpoints import JsonCheckpointStore
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.errors import CheckpointError
from regimeforge.domain.states import ItemStatus
from regimeforge.domain.usecases.checkpoints import FinishedLog, build_checkpoint, checksum_of

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def payload(queue_uuid: str = "q1", at: datetime = T0, done: int = 1) -> dict:
    queue = TrainingQueue(queue_uuid, "demo", {"grid": {"horizon": [5, 10]}}, 2, current_index=done)
    items = [QueueItem(queue_uuid, 0, "h0", status=ItemStatus.COMPLETED, run_uuid="r0")]
    return build_checkpoint(queue, items, {}, {"trained": done}, at)


def test_save_load_list_latest(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path / "checkpoints")
    first = store.save(payload(at=T0))
    second = store.save(payload(at=T0 + timedelta(minutes=5), done=2))
    other = store.save(payload("q2"))
    assert store.list("q1") == [second, first]
    assert store.latest("q1") == second and store.latest("nope") is None
    assert set(store.list()) == {first, second, other}
    assert store.load(second)["current_index"] == 2
    assert [p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")] == []


def test_two_checkpoints_in_the_same_instant_are_both_kept(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path)
    assert len({store.save(payload()), store.save(payload())}) == 2


def test_a_truncated_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path)
    path = Path(store.save(payload()))
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match=r"not valid JSON.*truncated or corrupt"):
        store.load(str(path))


def test_a_changed_file_fails_its_checksum(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path)
    path = Path(store.save(payload()))
    data = json.loads(path.read_text())
    data["current_index"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        store.load(str(path))


def test_another_version_is_refused(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path)
    data = payload()
    data["checkpoint_version"] = 2
    data["checksum"] = checksum_of(data)
    path = store.save(data)
    with pytest.raises(CheckpointError, match="version 2 is not supported"):
        store.load(path)


def test_binary_garbage_and_missing_files_are_refused(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path)
    garbage = tmp_path / "q1-20260401T080000000000Z.json"
    garbage.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(CheckpointError, match="cannot be read"):
        store.load(str(garbage))
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        store.load(str(tmp_path / "missing.json"))


def test_prune_and_delete_for(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path)
    old = store.save(payload(at=T0 - timedelta(days=40)))
    new = store.save(payload(at=T0))
    q2 = store.save(payload("q2", at=T0))
    assert store.prune(T0 - timedelta(days=30)) == 1
    assert not Path(old).exists() and Path(new).exists()
    assert store.delete_for("q1") == 1 and store.list() == [q2]
    assert JsonCheckpointStore(tmp_path / "never-made").list() == []


def test_keep_latest_deletes_all_but_the_newest_of_one_queue(tmp_path: Path) -> None:
    store = JsonCheckpointStore(tmp_path)
    mine = [store.save(payload(at=T0 + timedelta(minutes=m))) for m in range(5)]
    other = store.save(payload("q2", at=T0))
    assert store.keep_latest("q1", 2) == 3
    assert store.list("q1") == mine[:-3:-1] and store.list("q2") == [other]
    assert store.keep_latest("q1", 0) == 1  # at least the newest stays
    assert store.list("q1") == [mine[-1]]


def test_a_document_is_written_as_its_text_and_loads_verified(tmp_path: Path) -> None:
    queue = TrainingQueue("q1", "demo", {"grid": {"horizon": [5, 10]}}, 2, current_index=1)
    log = FinishedLog()
    log.reload([QueueItem("q1", 0, "h0", status=ItemStatus.COMPLETED, run_uuid="r0")])
    document = log.document(queue, {}, {"trained": 1}, T0)
    path = Path(store_path := JsonCheckpointStore(tmp_path).save(document))
    assert path.read_text() == document.text + "\n"
    assert path.name.startswith("q1-20260401T080000")
    loaded = JsonCheckpointStore(tmp_path).load(store_path)
    assert loaded["completed_runs"] == [
        {"index": 0, "config_hash": "h0", "run_uuid": "r0", "status": "completed"}
    ]
