"""Executors: the process pool runs tasks in children; the timeout kills the child."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from executor_tasks import die, fail, pid_of_worker, raise_unpicklable, sleep_forever, square

from regimeforge.adapters.executors.inline import InlineExecutor
from regimeforge.adapters.executors.process import (
    LocalProcessExecutor,
    RemoteError,
    WorkerCrashedError,
)
from regimeforge.adapters.system import pid_alive
from regimeforge.domain.errors import ModelTimeoutError


def collect(executor, handles, timeout=None):
    return {h: (r, e) for h, r, e in executor.as_completed(handles, timeout=timeout)}


def test_inline_runs_in_this_thread_lazily_and_keeps_errors() -> None:
    executor = InlineExecutor()
    handles = [executor.submit(square, 3), executor.submit(fail, "no"), executor.submit(square, 4)]
    results = collect(executor, handles)
    assert results[handles[0]] == (9, None) and results[handles[2]] == (16, None)
    assert isinstance(results[handles[1]][1], ValueError)
    executor.cancel([executor.submit(square, 5)])
    assert collect(executor, []) == {}


def test_the_process_pool_runs_tasks_in_children_in_parallel() -> None:
    executor = LocalProcessExecutor(2)
    try:
        handles = [executor.submit(square, i) for i in range(4)]
        pids = [executor.submit(pid_of_worker) for _ in range(2)]
        results = collect(executor, handles + pids)
        assert [results[h] for h in handles] == [(i * i, None) for i in range(4)]
        assert all(results[h][0] != os.getpid() for h in pids)
    finally:
        executor.shutdown()


def test_errors_come_back_as_errors_and_the_pool_goes_on() -> None:
    executor = LocalProcessExecutor(2)
    try:
        bad, crash, odd, good = (
            executor.submit(fail, "bad input"),
            executor.submit(die, 3),
            executor.submit(raise_unpicklable),
            executor.submit(square, 7),
        )
        results = collect(executor, [bad, crash, odd, good])
        assert isinstance(results[bad][1], ValueError) and "bad input" in str(results[bad][1])
        assert isinstance(results[crash][1], WorkerCrashedError) and "code 3" in str(
            results[crash][1]
        )
        assert isinstance(results[odd][1], RemoteError) and "Unpicklable" in str(results[odd][1])
        assert results[good] == (49, None)
    finally:
        executor.shutdown()


def test_a_task_past_its_timeout_is_killed_and_reported(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    executor = LocalProcessExecutor(2, timeout_seconds=1.5)
    try:
        slow, quick = executor.submit(sleep_forever, str(marker)), executor.submit(square, 2)
        started = time.monotonic()
        results = collect(executor, [slow, quick])
        assert results[quick] == (4, None)
        error = results[slow][1]
        assert isinstance(error, ModelTimeoutError) and "1.5 s" in str(error)
        assert time.monotonic() - started < 20
        assert wait_for(lambda: not pid_alive(int(marker.read_text())))
    finally:
        executor.shutdown()


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_as_completed_returns_when_nothing_finished_in_time(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    executor = LocalProcessExecutor(1)
    try:
        handle = executor.submit(sleep_forever, str(marker))
        started = time.monotonic()
        assert collect(executor, [handle], timeout=0.3) == {}
        assert time.monotonic() - started < 10
        assert wait_for(lambda: marker.exists() and marker.read_text() != "")
        executor.cancel([handle])
        assert wait_for(lambda: not pid_alive(int(marker.read_text())))
    finally:
        executor.shutdown()


@pytest.mark.parametrize("context", ["spawn"])
def test_spawn_works_too(context: str) -> None:
    executor = LocalProcessExecutor(1, context=context)
    try:
        handle = executor.submit(square, 6)
        assert collect(executor, [handle]) == {handle: (36, None)}
    finally:
        executor.shutdown()


def test_the_plugin_registers_both_executors() -> None:
    from regimeforge.plugins.manager import get_plugin_manager

    registry = get_plugin_manager(entry_points=False)
    assert {"inline", "process"} <= set(registry.executors)
    assert registry.origin("executors", "process") == "regimeforge.adapters.executors.plugin"
    executor = registry.executors["process"].factory(3, {"per_model_timeout_seconds": 12})
    assert (executor.max_parallel, executor.timeout) == (3, 12.0)
    assert isinstance(registry.executors["inline"].factory(4, {}), InlineExecutor)
