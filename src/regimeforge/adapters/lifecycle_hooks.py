"""Domain events -> the plugins' lifecycle hooks (``before_queue_started``, ...).

Hooks take entities (frozen), events carry ids, so the bridge reads the queue or run it needs in
a short unit of work of its own, after the coordinator committed. Hooks are called with keywords;
their return values are ignored. Use an ``EventDispatcher`` around it so a failing hook is logged
and the queue goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from regimeforge.domain import events as ev
from regimeforge.domain.ports import UnitOfWork
from regimeforge.domain.regimes import RegimeBestChange


class LifecycleHooks:
    """An observer that calls pluggy's hook relay (``registry.hook``) for each event."""

    def __init__(self, hook: Any, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.hook = hook
        self.uow_factory = uow_factory

    def __call__(self, event: ev.Event) -> None:
        name = _HANDLERS.get(type(event))
        if name is not None:
            getattr(self, name)(event)

    def _queue_started(self, event: ev.QueueStarted) -> None:
        with self.uow_factory() as uow:
            queue = uow.queues.get(event.queue_uuid)
        self.hook.before_queue_started(queue=queue)

    def _run_started(self, event: ev.RunStarted) -> None:
        with self.uow_factory() as uow:
            queue = uow.queues.get(event.queue_uuid)
            items = [i for i in uow.queues.items(event.queue_uuid) if i.index == event.index]
        item = items[0] if items else None
        self.hook.before_run_started(queue=queue, item=item, config=dict(event.config))

    def _run_completed(self, event: ev.RunCompleted) -> None:
        with self.uow_factory() as uow:
            run = uow.runs.get(event.run_uuid)
            count = len(uow.backtests.for_run(event.run_uuid))
        self.hook.after_run_finished(run=run, backtests_count=count, kept=event.kept)

    def _run_failed(self, event: ev.RunFailed) -> None:
        if not event.run_uuid:  # failed before a run existed (bad grid point or data)
            return
        with self.uow_factory() as uow:
            run = uow.runs.get(event.run_uuid)
        self.hook.on_run_error(run=run, error=event.error)

    def _regime_improved(self, event: ev.RegimeImproved) -> None:
        change = RegimeBestChange(
            regime_name=event.regime_name,
            change="entered",
            rank=event.rank,
            run_uuid=event.run_uuid,
            backtest_uuid=event.backtest_uuid,
            performance_score=event.score,
            previous_score=event.previous_score,
            delta=event.delta,
            percent=event.percent,
        )
        self.hook.after_regime_best_changed(change=change)

    def _queue_completed(self, event: ev.QueueCompleted) -> None:
        with self.uow_factory() as uow:
            queue = uow.queues.get(event.queue_uuid)
        self.hook.after_queue_finished(queue=queue, statistics=dict(event.statistics))

    def _queue_failed(self, event: ev.QueueFailed) -> None:
        with self.uow_factory() as uow:
            queue = uow.queues.get(event.queue_uuid)
        self.hook.on_queue_error(queue=queue, error=event.error)

    def _queue_paused(self, event: ev.QueuePaused) -> None:
        if event.reason not in ("failures", "disk"):
            return
        with self.uow_factory() as uow:
            queue = uow.queues.get(event.queue_uuid)
        self.hook.on_queue_error(queue=queue, error=queue.message or event.reason)

    def _progress(self, event: ev.Progress) -> None:
        self.hook.after_progress_reported(
            queue_uuid=event.queue_uuid, done=event.done, total=event.total,
            eta_seconds=event.eta_seconds,
        )  # fmt: skip


_HANDLERS: dict[type, str] = {
    ev.QueueStarted: "_queue_started",
    ev.RunStarted: "_run_started",
    ev.RunCompleted: "_run_completed",
    ev.RunFailed: "_run_failed",
    ev.RegimeImproved: "_regime_improved",
    ev.QueueCompleted: "_queue_completed",
    ev.QueueFailed: "_queue_failed",
    ev.QueuePaused: "_queue_paused",
    ev.Progress: "_progress",
}
