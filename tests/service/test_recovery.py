"""Crash detection: same host by process id, elsewhere by heartbeat age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from fakes import FakeDatabase
from regimeforge.domain.entities import TrainingQueue
from regimeforge.domain.states import QueueStatus
from regimeforge.domain.usecases.recovery import (
    Liveness,
    find_crashed_queues,
    parse_worker_id,
    queues_to_resume,
    worker_id,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LIVE = Liveness("here", pid_alive=lambda pid: pid == 1, stale_after=timedelta(minutes=10))


def add(db: FakeDatabase, name: str, host: str, pid: int, beat_minutes_ago: float) -> None:
    queue = TrainingQueue(
        name, name, {}, 1, status=QueueStatus.RUNNING, coordinator_host=host,
        coordinator_pid=pid, heartbeat_at=NOW - timedelta(minutes=beat_minutes_ago),
    )  # fmt: skip
    with db.uow() as uow:
        uow.queues.add(queue, [])
        uow.commit()


def test_crashed_queues_by_pid_here_and_by_heartbeat_elsewhere() -> None:
    db = FakeDatabase()
    add(db, "here-dead", "here", 2, 0)  # fresh heartbeat, but its process is gone
    add(db, "here-alive", "here", 1, 60)  # stale heartbeat, but its process lives
    add(db, "there-stale", "there", 1, 11)
    add(db, "there-fresh", "there", 1, 9)
    crashed = {c.queue.name: c.reason for c in find_crashed_queues(db.uow(), NOW, liveness=LIVE)}
    assert set(crashed) == {"here-dead", "there-stale"}
    assert "process 2 on here is gone" in crashed["here-dead"]
    assert "11 min ago" in crashed["there-stale"]


def test_only_running_queues_can_be_crashed() -> None:
    db = FakeDatabase()
    add(db, "q", "here", 2, 0)
    with db.uow() as uow:
        queue = uow.queues.get("q")
        uow.queues.update(attrs.evolve(queue, status=QueueStatus.PAUSED))
        uow.commit()
    assert find_crashed_queues(db.uow(), NOW, liveness=LIVE) == []


def test_auto_resume_only_when_asked() -> None:
    db = FakeDatabase()
    add(db, "q", "here", 2, 0)
    crashed = find_crashed_queues(db.uow(), NOW, liveness=LIVE)
    assert queues_to_resume(crashed, auto_resume_on_crash=False) == []
    assert queues_to_resume(crashed, auto_resume_on_crash=True) == ["q"]


def test_worker_ids_round_trip_even_with_colons_in_the_host() -> None:
    assert parse_worker_id(worker_id("fe80::1", 42, "abc")) == ("fe80::1", 42)
    assert parse_worker_id("garbage") == (None, None)
    assert parse_worker_id(None) == (None, None)
