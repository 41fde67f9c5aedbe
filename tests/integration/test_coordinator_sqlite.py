"""The coordinator on real storage: SQLite (full queue, process pool) and PostgreSQL (two
coordinators sharing one queue never train the same item).

The worker is the deterministic fake of ``fake_tasks`` (a trivial "model"), writing its files to a
real ``FilesystemArtifactStore``; everything else is the production code.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from coordinator_tasks import TracedFactory, traces

from fake_tasks import ListGrid, make_configs
from regimeforge.adapters.checkpoints import JsonCheckpointStore
from regimeforge.adapters.clock import SystemClock
from regimeforge.adapters.executors.inline import InlineExecutor
from regimeforge.adapters.executors.process import LocalProcessExecutor
from regimeforge.domain.states import ItemStatus, QueueStatus, RunStatus
from regimeforge.domain.usecases.coordinator import QueueRunner
from regimeforge.domain.usecases.queue_control import create_queue
from regimeforge.domain.usecases.record import RecordPolicy
from regimeforge.domain.usecases.runner_support import RunnerSettings

storage = pytest.importorskip("regimeforge.adapters.storage.uow")
artifacts_mod = pytest.importorskip("regimeforge.adapters.artifacts")
pytest.importorskip("regimeforge.adapters.storage.migrate")


def open_db(url: str) -> Any:
    from regimeforge.adapters.storage.engine import make_engine
    from regimeforge.adapters.storage.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    return engine, (lambda: storage.SqlAlchemyUnitOfWork(engine))


def make_runner(uow_factory: Any, root: Path, factory: Any, executor: Any, **settings: Any) -> Any:
    store = artifacts_mod.FilesystemArtifactStore(root / "artifacts")
    runner_settings = RunnerSettings(
        host="testhost", pid=os.getpid(), policy=RecordPolicy(keep_top_n_per_regime=2),
        artifacts_path=str(root / "artifacts"), heartbeat_seconds=1, poll_seconds=0.2, **settings,
    )  # fmt: skip
    events: list[Any] = []
    runner = QueueRunner(
        uow_factory, executor, store, JsonCheckpointStore(root / "checkpoints"), SystemClock(),
        events.append, runner_settings, factory, pid_alive=lambda pid: True,
    )  # fmt: skip
    return runner, store, events


def new_queue(uow_factory: Any, configs: list) -> str:
    from datetime import UTC, datetime

    queue = create_queue(
        uow_factory(), name=f"q{len(configs)}", config_grid={"grid": "test"},
        grid=ListGrid(configs), inference_grid={}, at=datetime.now(UTC),
    )  # fmt: skip
    return queue.queue_uuid


def check_final_state(uow_factory: Any, queue_uuid: str, store: Any, n: int) -> None:
    with uow_factory() as uow:
        queue = uow.queues.get(queue_uuid)
        counts = uow.queues.count_items(queue_uuid)
        runs = [r for r in uow.runs.list(limit=1000) if r.queue_uuid == queue_uuid]
        backtests = sum(len(uow.backtests.for_run(r.run_uuid)) for r in runs)
        holders = uow.bests.runs_with_rank()
    assert queue.status is QueueStatus.COMPLETED and queue.completed_count == n
    assert counts == {ItemStatus.COMPLETED: n}
    assert all(r.status is RunStatus.COMPLETED for r in runs) and len(runs) == n
    assert backtests == 4 * n
    kept = {r.model_file_path for r in runs if r.is_model_kept}
    assert {r.run_uuid for r in runs if r.is_model_kept} == holders
    assert set(store.list()) == kept  # no orphan file, no missing kept file


def test_a_full_queue_on_sqlite_inline(tmp_path: Path, sqlite_url: str) -> None:
    engine, uow_factory = open_db(sqlite_url)
    configs = make_configs(6)
    factory = TracedFactory(configs, tmp_path / "artifacts", tmp_path)
    runner, store, _events = make_runner(uow_factory, tmp_path, factory, InlineExecutor(),
                                        auto_checkpoint_interval=2)  # fmt: skip
    queue_uuid = new_queue(uow_factory, configs)
    outcome = runner.run(queue_uuid)
    assert outcome.status is QueueStatus.COMPLETED and outcome.completed == 6
    check_final_state(uow_factory, queue_uuid, store, 6)
    assert len(JsonCheckpointStore(tmp_path / "checkpoints").list(queue_uuid)) == 3
    engine.dispose()


@pytest.mark.slow
def test_two_process_workers_never_train_the_same_item(tmp_path: Path, sqlite_url: str) -> None:
    engine, uow_factory = open_db(sqlite_url)
    configs = make_configs(6)
    trace_dir = tmp_path / "traces"
    trace_dir.mkdir()
    factory = TracedFactory(configs, tmp_path / "artifacts", trace_dir)
    executor = LocalProcessExecutor(2)
    try:
        runner, store, _ = make_runner(uow_factory, tmp_path, factory, executor, max_parallel=2)
        queue_uuid = new_queue(uow_factory, configs)
        assert runner.run(queue_uuid).completed == 6
    finally:
        executor.shutdown()
    trained = traces(trace_dir)
    assert sorted(h for h, _ in trained) == sorted(c.config_hash for c in configs)
    assert len({pid for _, pid in trained}) >= 2  # really two processes
    check_final_state(uow_factory, queue_uuid, store, 6)
    engine.dispose()


@pytest.mark.postgres
def test_two_coordinators_on_postgresql_never_train_the_same_item(
    tmp_path: Path, pg_url: str
) -> None:
    engine, uow_factory = open_db(pg_url)
    configs = make_configs(12)
    trace_dir = tmp_path / "traces"
    trace_dir.mkdir()
    queue_uuid = new_queue(uow_factory, configs)
    outcomes: list[Any] = []
    errors: list[BaseException] = []

    def coordinate() -> None:
        try:
            factory = TracedFactory(configs, tmp_path / "artifacts", trace_dir)
            runner, _, _ = make_runner(uow_factory, tmp_path, factory, InlineExecutor())
            outcomes.append(runner.run(queue_uuid))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=coordinate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    trained = traces(trace_dir)
    assert sorted(h for h, _ in trained) == sorted(c.config_hash for c in configs)  # once each
    assert {o.reason for o in outcomes} <= {"completed", "shared"}
    store = artifacts_mod.FilesystemArtifactStore(tmp_path / "artifacts")
    check_final_state(uow_factory, queue_uuid, store, 12)
    engine.dispose()
