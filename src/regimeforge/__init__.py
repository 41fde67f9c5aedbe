"""RegimeForge: regime-aware, two-loop model search on market data.

The public API of ``regimeforge.api`` is re-exported here (see docs/api.md): open a workspace,
build a grid, run or resume a queue, query runs and regime bests, detect regimes, load the best
model for a regime and predict. ``hookimpl`` marks plugin hooks. The API is loaded on first use,
so that ``import regimeforge`` builds nothing and pulls in no adapter, database or model library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from regimeforge.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from regimeforge.api import (
        CancelToken,
        LoadedModel,
        QueueOutcome,
        Workspace,
        backtests,
        best_model,
        create_queue,
        detect_regimes,
        get_run,
        init_workspace,
        load_grid,
        load_model,
        open_workspace,
        queue_status,
        regime_bests,
        regimes,
        resume,
        run_grid,
        runs,
    )

__version__ = "0.1.0"

__all__ = [
    "CancelToken",
    "LoadedModel",
    "QueueOutcome",
    "Workspace",
    "__version__",
    "backtests",
    "best_model",
    "create_queue",
    "detect_regimes",
    "get_run",
    "hookimpl",
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

_LAZY = frozenset(__all__) - {"__version__", "hookimpl"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from regimeforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'regimeforge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
