"""The outer loop's events reach the plugins' lifecycle hooks (through LifecycleHooks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coordinator_rig import Rig
from regimeforge import hookimpl
from regimeforge.adapters.lifecycle_hooks import LifecycleHooks
from regimeforge.adapters.notifiers.dispatch import EventDispatcher
from regimeforge.plugins.manager import get_plugin_manager


class Recorder:
    """A plugin that writes down every lifecycle call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hookimpl
    def before_queue_started(self, queue: Any) -> None:
        self.calls.append(("before_queue_started", queue.name))

    @hookimpl
    def before_run_started(self, queue: Any, item: Any, config: Mapping[str, Any]) -> None:
        self.calls.append(("before_run_started", (item.index, config["model_type"])))

    @hookimpl
    def after_run_finished(self, run: Any, backtests_count: int, kept: bool) -> None:
        self.calls.append(("after_run_finished", (run.status.value, backtests_count)))

    @hookimpl
    def on_run_error(self, run: Any, error: str) -> None:
        self.calls.append(("on_run_error", error))

    @hookimpl
    def after_regime_best_changed(self, change: Any) -> None:
        self.calls.append(("after_regime_best_changed", change.change))

    @hookimpl
    def after_queue_finished(self, queue: Any, statistics: Mapping[str, Any]) -> None:
        self.calls.append(("after_queue_finished", statistics["trained"]))

    @hookimpl
    def on_queue_error(self, queue: Any, error: str) -> None:
        self.calls.append(("on_queue_error", error))

    @hookimpl
    def after_progress_reported(
        self, queue_uuid: str, done: int, total: int, eta_seconds: float | None
    ) -> None:
        self.calls.append(("after_progress_reported", (done, total)))


def test_a_queue_run_calls_every_lifecycle_hook() -> None:
    recorder = Recorder()
    registry = get_plugin_manager(entry_points=False, extra_plugins=[recorder])
    rig = Rig(3)
    rig.factory.behaviours[1] = "raise"
    rig.hooks.append(EventDispatcher([LifecycleHooks(registry.hook, rig.db.uow)]))
    rig.run()
    names = [name for name, _ in recorder.calls]
    assert names[0] == "before_queue_started" and names[-1] == "after_queue_finished"
    assert [v for n, v in recorder.calls if n == "before_run_started"] == [
        (0, "ridge"), (1, "ridge"), (2, "ridge"),
    ]  # fmt: skip
    assert [v for n, v in recorder.calls if n == "after_run_finished"] == [("completed", 4)] * 2
    assert [v for n, v in recorder.calls if n == "on_run_error"] == [
        "RuntimeError: the model diverged"
    ]
    assert "after_regime_best_changed" in names
    assert [v for n, v in recorder.calls if n == "after_progress_reported"] == [
        (1, 3), (2, 3), (3, 3),
    ]  # fmt: skip
    assert recorder.calls[-1] == ("after_queue_finished", 2)


def test_a_pause_on_failures_is_a_queue_error() -> None:
    recorder = Recorder()
    registry = get_plugin_manager(entry_points=False, extra_plugins=[recorder])
    rig = Rig(3, max_consecutive_failures=1)
    rig.factory.behaviours[0] = "raise"
    rig.hooks.append(EventDispatcher([LifecycleHooks(registry.hook, rig.db.uow)]))
    rig.run()
    errors = [v for n, v in recorder.calls if n == "on_queue_error"]
    assert len(errors) == 1 and "1 consecutive failures" in errors[0]
