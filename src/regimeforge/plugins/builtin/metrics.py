"""Built-in metrics plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import MetricDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_metrics() -> list[MetricDescriptor]:
    """The built-in metrics (none yet)."""
    return []
