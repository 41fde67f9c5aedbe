"""A coordinator wired to fakes, for the service tests of the outer loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from fake_tasks import FakeTaskFactory, ListGrid, make_configs
from fakes import (
    FakeArtifactStore,
    FakeCheckpointStore,
    FakeClock,
    FakeDatabase,
    FakeDiskProbe,
    FakeExecutor,
)
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.events import Event
from regimeforge.domain.states import RunStatus
from regimeforge.domain.usecases.coordinator import QueueRunner
from regimeforge.domain.usecases.queue_control import create_queue
from regimeforge.domain.usecases.record import RecordPolicy
from regimeforge.domain.usecases.runner_support import QueueOutcome, RunnerSettings

HOST, PID = "testhost", 4242
AT = datetime(2026, 2, 1, tzinfo=UTC)


class Rig:
    """One fake world (database, files, checkpoints, clock) and a queue over ``configs``."""

    def __init__(
        self,
        n: int = 5,
        *,
        configs: list[ModelConfig] | None = None,
        db: FakeDatabase | None = None,
        store: FakeArtifactStore | None = None,
        disk: FakeDiskProbe | None = None,
        **settings: Any,
    ) -> None:
        self.db = db or FakeDatabase()
        self.store = store or FakeArtifactStore()
        self.checkpoints = FakeCheckpointStore()
        self.clock = FakeClock()
        self.configs = configs if configs is not None else make_configs(n)
        self.queue = create_queue(
            self.db.uow(), name="q", config_grid={"grid": "test"}, grid=ListGrid(self.configs),
            inference_grid={}, at=AT,
        )  # fmt: skip
        self.factory = FakeTaskFactory(self.configs, self.store)
        self.executor = FakeExecutor()
        self.disk = disk
        self.events: list[Event] = []
        self.hooks: list[Callable[[Event], None]] = []
        policy = RecordPolicy(keep_top_n_per_regime=settings.pop("top_n", 3))
        self.settings = RunnerSettings(
            host=HOST, pid=PID, policy=policy, heartbeat_seconds=0, poll_seconds=0, **settings
        )

    def on_event(self, event: Event) -> None:
        self.events.append(event)
        for hook in list(self.hooks):
            hook(event)

    def runner(self, pid: int = PID) -> QueueRunner:
        """A coordinator in process ``pid`` (a new pid plays a new process after a crash)."""
        settings = attrs.evolve(self.settings, pid=pid)
        return QueueRunner(
            self.db.uow, self.executor, self.store, self.checkpoints, self.clock, self.on_event,
            settings, self.factory, disk=self.disk, pid_alive=lambda alive: alive == pid,
        )  # fmt: skip

    def run(self, *, pid: int = PID, **kwargs: Any) -> QueueOutcome:
        return self.runner(pid).run(self.queue.queue_uuid, **kwargs)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def tables(self) -> dict[str, dict[Any, Any]]:
        return self.db.tables

    def items(self) -> list[Any]:
        return [self.tables["items"][(self.queue.queue_uuid, i)] for i in range(len(self.configs))]

    def completed_hashes(self) -> list[str]:
        runs = self.tables["runs"].values()
        return sorted(r.config_hash for r in runs if r.status is RunStatus.COMPLETED)
