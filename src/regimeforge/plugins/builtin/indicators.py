"""Built-in indicators plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import IndicatorDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_indicators() -> list[IndicatorDescriptor]:
    """The built-in indicators (none yet)."""
    return []
