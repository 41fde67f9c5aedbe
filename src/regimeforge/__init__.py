"""RegimeForge: regime-aware, two-loop model search on market data.

The public API is re-exported here (see docs/api.md); ``hookimpl`` marks plugin hooks.
``open_workspace``/``init_workspace`` are loaded on first use so that ``import regimeforge``
builds nothing and pulls in no adapter.
"""

from __future__ import annotations

from typing import Any

from regimeforge.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

_LAZY = {"open_workspace", "init_workspace", "Workspace"}

__all__ = ["Workspace", "__version__", "hookimpl", "init_workspace", "open_workspace"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from regimeforge import bootstrap

        return getattr(bootstrap, name)
    raise AttributeError(f"module 'regimeforge' has no attribute {name!r}")
