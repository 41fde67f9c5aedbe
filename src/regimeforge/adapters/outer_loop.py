"""Wiring the outer loop for a workspace: queue from a grid file, runner, executor, events.

For the CLI, the dashboard and the Python API. ``ws`` is a ``bootstrap.Workspace`` (this module
only reads its ``root``, ``settings``, ``registry``, ``uow``, ``artifacts`` and ``clock``; adapters
never import the composition root).

A queue made from a grid file stores, as its ``config_grid``, ``{"file": <the grid file's
mapping>, "base_dir": <its folder>, "path": <its path>}``, so that a queue resumed months later (or
by a coordinator on another machine with the same paths) re-reads the same grid, with relative
data paths still resolved against the grid file's folder. Its ``inference_grid`` is the effective
one (the file's, else the settings' at creation time).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from regimeforge.adapters.checkpoints import JsonCheckpointStore
from regimeforge.adapters.encoder_sources import encoder_sources_of
from regimeforge.adapters.lifecycle_hooks import LifecycleHooks
from regimeforge.adapters.notifiers.dispatch import EventDispatcher, Observer, build_notifiers
from regimeforge.adapters.system import ShutilDiskProbe, hostname, pid_alive
from regimeforge.adapters.worker import GridTaskFactory, worker_settings_of
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.entities import TrainingQueue
from regimeforge.domain.ports import Executor
from regimeforge.domain.usecases.coordinator import QueueRunner
from regimeforge.domain.usecases.queue_control import create_queue
from regimeforge.domain.usecases.record import RecordPolicy
from regimeforge.domain.usecases.recovery import CrashedQueue, Liveness, find_crashed_queues
from regimeforge.domain.usecases.runner_support import MB, QueueOutcome, RunnerSettings
from regimeforge.domain.usecases.tasks import TaskFactory, plain


def package_version() -> str:
    """The installed RegimeForge version (recorded on every run)."""
    try:
        return metadata.version("regimeforge")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def runner_settings_of(
    settings: Any, registry: Any = None, *, max_parallel: int | None = None
) -> RunnerSettings:
    """The coordinator's settings from the workspace ``Settings`` (this host and process).

    Which way the primary metric ranks comes from its plugin (``higher_is_better``).
    """
    metric = settings.primary_metric
    descriptor = registry.metrics.get(metric) if registry is not None else None
    higher = bool(getattr(getattr(descriptor, "metric", None), "higher_is_better", True))
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return RunnerSettings(
        host=hostname(),
        pid=os.getpid(),
        max_parallel=max(1, max_parallel or settings.max_parallel),
        auto_checkpoint_interval=settings.auto_checkpoint_interval,
        max_checkpoint_age_days=settings.max_checkpoint_age_days,
        checkpoints_kept_per_queue=settings.checkpoints_kept_per_queue,
        max_consecutive_failures=settings.max_consecutive_failures,
        disk_reserve_bytes=int(settings.disk_reserve_mb) * MB,
        artifacts_path=str(settings.artifacts_dir),
        policy=RecordPolicy(
            primary_metric=metric,
            higher_is_better=higher,
            keep_top_n_per_regime=settings.keep_top_n_per_regime,
            delete_non_best_models=settings.delete_non_best_models,
        ),
        detect_crash_after=timedelta(minutes=float(settings.detect_crash_after_minutes)),
        created_by=user,
        package_version=package_version(),
    )


def executor_of(
    registry: Any, settings: Any, *, name: str | None = None, max_parallel: int | None = None
) -> Executor:
    """The executor named ``name`` (default: the ``executor`` setting) from the plugins."""
    descriptor = registry.get("executors", name or settings.executor)
    options = {"per_model_timeout_seconds": settings.per_model_timeout_seconds}
    executor: Executor = descriptor.factory(max(1, max_parallel or settings.max_parallel), options)
    return executor


def event_dispatcher_of(
    registry: Any,
    settings: Any,
    uow_factory: Callable[[], Any],
    observers: Iterable[Observer] = (),
) -> EventDispatcher:
    """Events -> the given observers (a progress display), lifecycle hooks and notifiers."""
    dispatcher = EventDispatcher(observers)
    dispatcher.add(LifecycleHooks(registry.hook, uow_factory))
    dispatcher.add(build_notifiers(registry.notifiers, settings.notifications))
    return dispatcher


def _grid_file(ws: Any, queue: TrainingQueue) -> Any:
    from regimeforge.domain.gridfile import parse_grid_file

    stored = queue.config_grid
    return parse_grid_file(
        plain(stored["file"]),
        Path(stored["base_dir"]),
        ws.registry.catalog(),
        defaults=plain(queue.inference_grid),
    )


def inference_configs(inference_grid: Any) -> list[InferenceConfig]:
    """The inference configs of a grid file's ``inference_grid`` (configs or lists per key)."""
    if isinstance(inference_grid, Mapping):
        from itertools import product

        keys = ("prediction_method", "ensemble_method", "confidence_threshold", "lookback_window")
        return [
            InferenceConfig.from_mapping(dict(zip(keys, values, strict=True)))
            for values in product(*(inference_grid[k] for k in keys))
        ]
    return [c if isinstance(c, InferenceConfig) else InferenceConfig.from_mapping(c)
            for c in inference_grid]  # fmt: skip


def grid_task_factory_of(ws: Any, *, in_process: bool) -> GridTaskFactory:
    """The task factory of grid-file queues in workspace ``ws``."""
    cache: dict[str, Any] = {}

    def grid_file(queue: TrainingQueue) -> Any:
        if queue.queue_uuid not in cache:
            cache[queue.queue_uuid] = _grid_file(ws, queue)
        return cache[queue.queue_uuid]

    return GridTaskFactory(
        grid_of=lambda q: grid_file(q).grid,
        data_of=lambda q: grid_file(q).data,
        inference_of=lambda q: inference_configs(grid_file(q).inference_grid),
        base_dir=ws.root,
        artifacts_dir=ws.settings.artifacts_dir,
        worker_settings=worker_settings_of(ws.settings),
        in_process=in_process,
        encoder_source=encoder_sources_of(ws),
    )


def queue_runner_of(
    ws: Any,
    *,
    observers: Iterable[Observer] = (),
    executor: Executor | None = None,
    max_parallel: int | None = None,
    task_factory: TaskFactory | None = None,
) -> QueueRunner:
    """A ``QueueRunner`` for workspace ``ws`` (call ``runner.executor.shutdown()`` after it)."""
    settings = ws.settings
    executor = executor or executor_of(ws.registry, settings, max_parallel=max_parallel)
    in_process = bool(getattr(executor, "in_process", False))
    return QueueRunner(
        ws.uow,
        executor,
        ws.artifacts,
        JsonCheckpointStore(settings.checkpoints_dir),
        ws.clock,
        event_dispatcher_of(ws.registry, settings, ws.uow, observers),
        runner_settings_of(settings, ws.registry, max_parallel=max_parallel),
        task_factory or grid_task_factory_of(ws, in_process=in_process),
        disk=ShutilDiskProbe(),
        pid_alive=pid_alive,
    )


def run_queue(
    ws: Any, runner: QueueRunner, queue_uuid: str, *, checkpoint: str | None = None
) -> QueueOutcome:
    """``runner.run``; on Ctrl-C (KeyboardInterrupt, re-raised once the queue is paused), model
    files the interruption left unrecorded are removed first, as ``recover`` does after a crash:
    the abandoned model's file, or that of a run pushed out of every top-N whose deletion comes
    after the commit. Best effort: ``models cleanup`` finds anything left."""
    try:
        return runner.run(queue_uuid, resume_from_checkpoint=checkpoint)
    except KeyboardInterrupt:
        from regimeforge.adapters.crash_leftovers import remove_orphan_files

        with contextlib.suppress(Exception):
            remove_orphan_files(ws, written_before=time.time())
        raise


def create_queue_from_grid_file(
    ws: Any, path: Path | str, *, name: str | None = None, priority: int = 0
) -> TrainingQueue:
    """Validate a grid file and create its queue (invalid points become failed items)."""
    from regimeforge.adapters.gridfiles import load_grid_file, read_grid_yaml

    grid_path = Path(path).expanduser().resolve()
    gf = load_grid_file(grid_path, ws.registry.catalog(), ws.settings)
    raw = read_grid_yaml(grid_path)
    effective = raw.get("inference_grid") or ws.settings.inference_grid.to_mapping()
    return create_queue(
        ws.uow(),
        name=name or str(gf.name),
        config_grid={"file": raw, "base_dir": str(grid_path.parent), "path": str(grid_path)},
        grid=gf.grid,
        inference_grid=effective,
        at=ws.clock.now(),
        priority=priority,
        max_parallel=ws.settings.max_parallel,
    )


def liveness_of(settings: Any) -> Liveness:
    """How this host tells a dead coordinator (pid here, heartbeat age elsewhere)."""
    stale = timedelta(minutes=float(settings.detect_crash_after_minutes))
    return Liveness(hostname(), pid_alive, stale)


def crashed_queues(ws: Any) -> list[CrashedQueue]:
    """Running queues of this workspace whose coordinator is dead (``regimeforge recover``)."""
    return find_crashed_queues(ws.uow(), ws.clock.now(), liveness=liveness_of(ws.settings))


def recover(
    ws: Any,
    *,
    observers: Iterable[Observer] = (),
    executor: Executor | None = None,
    task_factory: TaskFactory | None = None,
) -> list[tuple[CrashedQueue, QueueOutcome]]:
    """Resume every crashed queue in turn (claims of the dead coordinator go back to pending)."""
    outcomes = []
    for crashed in crashed_queues(ws):
        runner = queue_runner_of(
            ws, observers=observers, executor=executor, task_factory=task_factory
        )
        try:
            outcomes.append((crashed, runner.run(crashed.queue.queue_uuid)))
        finally:
            if executor is None:
                runner.executor.shutdown()
    return outcomes
