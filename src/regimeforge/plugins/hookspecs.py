"""Every hook of RegimeForge, grouped by phase (registration, then lifecycle).

Registration hooks return lists of descriptors; the manager collects the lists of every plugin
(all results, in registration order), checks each item's type and refuses a name registered twice.
Lifecycle hooks are observers: called with keywords and frozen objects, their return values are
ignored, and an exception in one is logged and does not stop the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from regimeforge.domain.entities import QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.regimes import RegimeBestChange
from regimeforge.plugins.descriptors import (
    DataSourceDescriptor,
    EncoderDescriptor,
    ExecutorDescriptor,
    IndicatorDescriptor,
    MetricDescriptor,
    ModelTypeDescriptor,
    NotifierDescriptor,
    RegimeDetectorDescriptor,
)

PROJECT = "regimeforge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# --- registration (called once when the plugin manager is built; all results collected) -----


@hookspec
def register_model_types() -> list[ModelTypeDescriptor]:
    """Model types this plugin adds.

    Called once when the plugin manager is built. Returns a list of ``ModelTypeDescriptor``; the
    lists of all plugins are concatenated (a name registered twice is an error).
    Example: ``[ModelTypeDescriptor("my-svr", factory)]``.
    """
    raise NotImplementedError


@hookspec
def register_encoders() -> list[EncoderDescriptor]:
    """Encoders this plugin adds, usable as a grid's ``encoder``.

    Called once when the plugin manager is built. Returns a list of ``EncoderDescriptor``; the
    lists of all plugins are concatenated (a name registered twice is an error).
    """
    raise NotImplementedError


@hookspec
def register_indicators() -> list[IndicatorDescriptor]:
    """Indicators this plugin adds, usable as keys of a grid's ``indicator_tfs``.

    Called once when the plugin manager is built. Returns a list of ``IndicatorDescriptor``;
    the lists of all plugins are concatenated (a name registered twice is an error).
    """
    raise NotImplementedError


@hookspec
def register_regime_detectors() -> list[RegimeDetectorDescriptor]:
    """Regime detectors this plugin adds, chosen by ``regimes.detector`` or a regime's ``detector``.

    Called once when the plugin manager is built. Returns a list of
    ``RegimeDetectorDescriptor``; the lists of all plugins are concatenated.
    """
    raise NotImplementedError


@hookspec
def register_metrics() -> list[MetricDescriptor]:
    """Backtest metrics this plugin adds; any of them can be the ``primary_metric``.

    Called once when the plugin manager is built. Returns a list of ``MetricDescriptor``; the
    lists of all plugins are concatenated (a name registered twice is an error).
    """
    raise NotImplementedError


@hookspec
def register_data_sources() -> list[DataSourceDescriptor]:
    """Market data sources, chosen by a grid file's ``data.source``.

    Called once when the plugin manager is built. Returns a list of ``DataSourceDescriptor``;
    the lists of all plugins are concatenated (a name registered twice is an error).
    """
    raise NotImplementedError


@hookspec
def register_executors() -> list[ExecutorDescriptor]:
    """Executors, chosen by the ``executor`` setting.

    Called once when the plugin manager is built. Returns a list of ``ExecutorDescriptor``; the
    lists of all plugins are concatenated (a name registered twice is an error).
    """
    raise NotImplementedError


@hookspec
def register_notifiers() -> list[NotifierDescriptor]:
    """Notifiers, one per channel of the ``notifications`` settings.

    Called once when the plugin manager is built. Returns a list of ``NotifierDescriptor``; the
    lists of all plugins are concatenated (a name registered twice is an error).
    """
    raise NotImplementedError


# --- lifecycle (observers; return values ignored) -------------------------------------------


@hookspec
def before_queue_started(queue: TrainingQueue) -> None:
    """Called when a coordinator starts or resumes ``queue``, before the first item is claimed."""


@hookspec
def before_run_started(
    queue: TrainingQueue | None, item: QueueItem | None, config: Mapping[str, Any]
) -> None:
    """Called before a config is trained; ``config`` is a copy of the canonical model config."""


@hookspec
def after_run_finished(run: TrainingRun, backtests_count: int, kept: bool) -> None:
    """Called after a run and all its backtests were committed (``run.status`` is final)."""


@hookspec
def on_run_error(run: TrainingRun, error: str) -> None:
    """Called after a run was recorded as failed (exception or timeout)."""


@hookspec
def after_regime_best_changed(change: RegimeBestChange) -> None:
    """Called after commit for every backtest that entered a regime's top-N."""


@hookspec
def after_queue_finished(queue: TrainingQueue, statistics: Mapping[str, Any]) -> None:
    """Called when a queue completed (every item done); ``statistics`` is a copy."""


@hookspec
def on_queue_error(queue: TrainingQueue, error: str) -> None:
    """Called when a queue failed or paused on failures or low disk; ``error`` says why."""


@hookspec
def after_progress_reported(
    queue_uuid: str, done: int, total: int, eta_seconds: float | None
) -> None:
    """Called after each finished item with the queue's progress (cheap observers only)."""
