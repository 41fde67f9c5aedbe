"""RegimeForge: regime-aware, two-loop model search on market data.

The public API is re-exported here (see docs/api.md); ``hookimpl`` marks plugin hooks.
"""

from __future__ import annotations

from regimeforge.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
