"""Wiring the outer loop from a workspace: settings, executor, events, a queue run end to end."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from fake_tasks import FakeTaskFactory, ListGrid, make_configs
from regimeforge.adapters.executors.inline import InlineExecutor
from regimeforge.adapters.executors.process import LocalProcessExecutor
from regimeforge.adapters.outer_loop import (
    event_dispatcher_of,
    executor_of,
    inference_configs,
    queue_runner_of,
    runner_settings_of,
)
from regimeforge.adapters.settings import load_settings
from regimeforge.adapters.system import hostname
from regimeforge.domain.events import QueueCompleted
from regimeforge.domain.states import QueueStatus
from regimeforge.domain.usecases.queue_control import create_queue
from regimeforge.domain.usecases.runner_support import MB
from regimeforge.plugins.manager import get_plugin_manager


@pytest.fixture
def settings(tmp_path: Path):
    return load_settings(
        None,
        {},
        root=tmp_path,
        overrides={"disk_reserve_mb": 7, "max_parallel": 3, "primary_metric": "sharpe"},
    )


def test_runner_settings_come_from_the_workspace_settings(settings) -> None:
    runner = runner_settings_of(settings, get_plugin_manager(entry_points=False))
    assert (runner.host, runner.pid) == (hostname(), os.getpid())
    assert runner.max_parallel == 3 and runner.disk_reserve_bytes == 7 * MB
    assert runner.artifacts_path == str(settings.artifacts_dir)
    assert runner.detect_crash_after == timedelta(minutes=settings.detect_crash_after_minutes)
    assert runner.policy.primary_metric == "sharpe" and runner.policy.higher_is_better
    assert runner.policy.keep_top_n_per_regime == settings.keep_top_n_per_regime
    assert runner.package_version


def test_the_executor_setting_picks_the_plugin(settings) -> None:
    registry = get_plugin_manager(entry_points=False)
    assert isinstance(executor_of(registry, settings), InlineExecutor)
    pool = executor_of(registry, settings, name="process", max_parallel=2)
    assert isinstance(pool, LocalProcessExecutor) and pool.max_parallel == 2
    assert pool.timeout == settings.per_model_timeout_seconds


def test_events_reach_observers_hooks_and_notifiers(settings) -> None:
    seen = []
    dispatcher = event_dispatcher_of(
        get_plugin_manager(entry_points=False), settings, None, [seen.append]
    )
    dispatcher(QueueCompleted("q"))  # the hook bridge needs the database; its error is only logged
    assert seen == [QueueCompleted("q")]


def test_inference_grids_expand_from_lists_or_pass_through() -> None:
    lists = {"prediction_method": ["direct"], "ensemble_method": ["mean", "weighted"],
             "confidence_threshold": [0.0, 0.5], "lookback_window": [50]}  # fmt: skip
    configs = inference_configs(lists)
    assert len(configs) == 4 and inference_configs(configs) == configs


def test_a_workspace_runs_a_queue(tmp_path: Path) -> None:
    pytest.importorskip("regimeforge.adapters.artifacts")
    from regimeforge.bootstrap import init_workspace

    ws = init_workspace(tmp_path / "ws", load_entry_points=False)
    try:
        configs = make_configs(3)
        queue = create_queue(
            ws.uow(),
            name="w",
            config_grid={"grid": "test"},
            grid=ListGrid(configs),
            inference_grid={},
            at=ws.clock.now(),
        )
        seen = []
        runner = queue_runner_of(
            ws, observers=[seen.append], executor=InlineExecutor(),
            task_factory=FakeTaskFactory(configs, ws.artifacts),
        )  # fmt: skip
        outcome = runner.run(queue.queue_uuid)
        assert outcome.status is QueueStatus.COMPLETED and outcome.completed == 3
        assert any(isinstance(e, QueueCompleted) for e in seen)
    finally:
        ws.close()


def test_recover_resumes_a_queue_whose_coordinator_died(tmp_path: Path) -> None:
    pytest.importorskip("regimeforge.adapters.artifacts")
    import subprocess
    import sys

    from regimeforge.adapters.outer_loop import crashed_queues, recover
    from regimeforge.bootstrap import init_workspace
    from regimeforge.domain.states import ItemStatus, RunStatus

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)
    ws = init_workspace(tmp_path / "ws", load_entry_points=False)
    try:
        configs = make_configs(3)
        queue = create_queue(
            ws.uow(),
            name="crashy",
            config_grid={"grid": "test"},
            grid=ListGrid(configs),
            inference_grid={},
            at=ws.clock.now(),
        )
        at = ws.clock.now()
        with ws.uow() as uow:  # what a coordinator killed mid-model leaves behind
            stored = uow.queues.get(queue.queue_uuid)
            uow.queues.update(
                stored.to(
                    QueueStatus.RUNNING,
                    at,
                    coordinator_host=hostname(),
                    coordinator_pid=dead_pid,
                    heartbeat_at=at,
                )
            )
            uow.queues.claim_next(queue.queue_uuid, f"{hostname()}:{dead_pid}:gone", at)
            uow.commit()
        crashed = crashed_queues(ws)
        assert [c.queue.name for c in crashed] == ["crashy"]
        assert f"process {dead_pid}" in crashed[0].reason
        results = recover(ws, executor=InlineExecutor(),
                          task_factory=FakeTaskFactory(configs, ws.artifacts))  # fmt: skip
        assert [o.status for _, o in results] == [QueueStatus.COMPLETED]
        with ws.uow() as uow:
            counts = uow.queues.count_items(queue.queue_uuid)
            runs = uow.runs.list(limit=100)
        assert counts == {ItemStatus.COMPLETED: 3}
        assert sorted(r.status for r in runs) == [RunStatus.COMPLETED] * 3
        assert crashed_queues(ws) == []
    finally:
        ws.close()


GRID_FILE = """
name: tiny-synthetic
data: {source: synthetic, bars: 4000, seed: 5}
grid:
  model_type: [ridge]
  encoder: [none]
  symbol: [EUR/USD]
  base_timeframe: [1h]
  days_history: [150]
  horizon: [3, 6]
inference_grid:
  prediction_method: [direct, recursive]
  ensemble_method: [mean, stacking]
  confidence_threshold: [0.0, 0.6]
  lookback_window: [50]
"""


@pytest.mark.slow
def test_a_grid_file_queue_runs_end_to_end_and_a_rerun_skips(tmp_path: Path) -> None:
    from regimeforge.adapters.outer_loop import create_queue_from_grid_file
    from regimeforge.bootstrap import init_workspace
    from regimeforge.domain.states import ItemStatus

    ws = init_workspace(tmp_path / "ws", load_entry_points=False)
    grid = tmp_path / "tiny.yaml"
    grid.write_text(GRID_FILE)
    try:
        queue = create_queue_from_grid_file(ws, grid)
        assert (queue.name, queue.total_configs) == ("tiny-synthetic", 2)
        runner = queue_runner_of(ws)
        try:
            outcome = runner.run(queue.queue_uuid)
        finally:
            runner.executor.shutdown()
        assert (outcome.status, outcome.completed, outcome.failed) == (QueueStatus.COMPLETED, 2, 0)
        with ws.uow() as uow:
            runs = uow.runs.list(limit=10)
            backtests = [len(uow.backtests.for_run(r.run_uuid)) for r in runs]
            bests = uow.bests.all()
        assert backtests == [8, 8] and bests
        kept = {r.model_file_path for r in runs if r.is_model_kept}
        assert set(ws.artifacts.list()) == kept
        again = create_queue_from_grid_file(ws, grid, name="again")
        second = queue_runner_of(ws).run(again.queue_uuid)
        assert (second.completed, second.skipped) == (0, 2)  # same configs, same data: skipped
        with ws.uow() as uow:
            assert uow.queues.count_items(again.queue_uuid) == {ItemStatus.SKIPPED: 2}
    finally:
        ws.close()
