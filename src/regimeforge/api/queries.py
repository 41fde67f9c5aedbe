"""Read what a workspace holds (runs, backtests, regime bests) and label fresh bars by regime.

Everything returned is a plain, frozen domain object (``TrainingRun``, ``InferenceBacktest``,
``RegimeBest``, ``TrainingQueue``); nothing keeps a database session open.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regimeforge.domain.entities import InferenceBacktest, TrainingQueue, TrainingRun
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.regimes import RegimeBest, RegimeDefinition
from regimeforge.domain.states import RunStatus


def _status(status: RunStatus | str | None) -> RunStatus | None:
    if status is None or isinstance(status, RunStatus):
        return status
    try:
        return RunStatus(str(status).lower())
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        problem = Problem("status", f"{status!r} is not a run status", f"use {known}")
        raise ConfigError([problem]) from None


def runs(
    workspace: Any,
    *,
    status: RunStatus | str | None = None,
    model_type: str | None = None,
    symbol: str | None = None,
    queue: str | None = None,
    kept: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[TrainingRun]:
    """Runs matching every given filter, newest first (``queue``: a queue's uuid or name).

    ``kept=True`` keeps only runs whose model file is still on disk.
    """
    with workspace.uow() as uow:
        queue_uuid = uow.queues.get(queue).queue_uuid if queue is not None else None
        found: list[TrainingRun] = uow.runs.list(
            RunFilter(
                status=_status(status),
                model_type=model_type,
                symbol=symbol,
                queue_uuid=queue_uuid,
                kept=kept,
            ),
            limit=limit,
            offset=offset,
        )
    return found


def get_run(workspace: Any, run_uuid: str) -> TrainingRun:
    """One run by uuid; ``NotFoundError`` otherwise."""
    with workspace.uow() as uow:
        run: TrainingRun = uow.runs.get(run_uuid)
    return run


def backtests(workspace: Any, run_uuid: str) -> list[InferenceBacktest]:
    """Every inference backtest of a run (overall and per-regime metrics)."""
    with workspace.uow() as uow:
        found: list[InferenceBacktest] = uow.backtests.for_run(run_uuid)
    return found


def regime_bests(workspace: Any) -> dict[str, list[RegimeBest]]:
    """The stored top-N of every regime, rank 1 first (regimes with no best yet are absent)."""
    with workspace.uow() as uow:
        bests: dict[str, list[RegimeBest]] = uow.bests.all()
    return {name: list(entries) for name, entries in bests.items() if entries}


def queue_status(workspace: Any, queue: str) -> TrainingQueue:
    """A queue (by uuid or name) with its status and counters."""
    with workspace.uow() as uow:
        found: TrainingQueue = uow.queues.get(queue)
    return found


def regimes(workspace: Any, *, active_only: bool = True) -> list[RegimeDefinition]:
    """The workspace's regime definitions in priority order."""
    with workspace.uow() as uow:
        found: list[RegimeDefinition] = uow.regimes.list(active_only=active_only)
    return found


def detect_regimes(workspace: Any, bars: pd.DataFrame, detector: str | None = None) -> pd.Series:
    """The regime of every bar, causally (a label never depends on later bars).

    Uses the workspace's active regime definitions and the detector ``detector`` (default: the
    ``regimes.detector`` setting). Returns a string Series on the bars' UTC index named
    ``regime``; ``""`` marks the detector's warm-up and bars no regime matches. ``bars`` are
    OHLCV bars as everywhere (a UTC ``DatetimeIndex``; naive times are taken as UTC).
    """
    from regimeforge.domain.marketdata import validate_bars

    clean = validate_bars(bars, subject="bars")
    settings = dict(workspace.settings.regimes)
    name = detector or str(settings.get("detector", "rules"))
    found = workspace.registry.detectors.get(name)
    if found is None or not found.available:
        why = "no such detector" if found is None else found.unavailable_reason
        known = ", ".join(sorted(workspace.registry.detectors))
        raise ConfigError([Problem("detector", f"{name!r}: {why}", f"use one of: {known}")])
    labels = np.asarray(found.factory(settings).detect(clean, regimes(workspace)), dtype=object)
    return pd.Series(labels.astype(str), index=clean.index, name="regime")
