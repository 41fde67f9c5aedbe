"""The Python API: everything a trading system needs from RegimeForge, without CLI or server.

Re-exported by ``regimeforge`` (``import regimeforge as rf``); see docs/api.md.

- workspaces: ``init_workspace``, ``open_workspace``, ``Workspace`` (from ``bootstrap``);
- grids and queues: ``load_grid``, ``create_queue``, ``run_grid``, ``resume``, ``CancelToken``,
  ``queue_status`` (``QueueOutcome`` says how a run ended);
- results: ``runs``, ``get_run``, ``backtests``, ``regime_bests``, ``regimes``;
- regimes of fresh bars: ``detect_regimes``;
- models: ``best_model``, ``load_model`` -> ``LoadedModel.predict(bars)``.

This package is a composition-level module like ``bootstrap``: it may use adapters and
plugins. Adapters, scikit-learn and the database are imported when a function runs, never when
``regimeforge`` is imported.
"""

from __future__ import annotations

from regimeforge.api.models import LoadedModel, best_model, load_model
from regimeforge.api.queries import (
    backtests,
    detect_regimes,
    get_run,
    queue_status,
    regime_bests,
    regimes,
    runs,
)
from regimeforge.api.queues import CancelToken, create_queue, load_grid, resume, run_grid
from regimeforge.bootstrap import Workspace, init_workspace, open_workspace
from regimeforge.domain.usecases.runner_support import QueueOutcome

__all__ = [
    "CancelToken",
    "LoadedModel",
    "QueueOutcome",
    "Workspace",
    "backtests",
    "best_model",
    "create_queue",
    "detect_regimes",
    "get_run",
    "init_workspace",
    "load_grid",
    "load_model",
    "open_workspace",
    "queue_status",
    "regime_bests",
    "regimes",
    "resume",
    "run_grid",
    "runs",
]
