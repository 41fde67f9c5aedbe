"""Built-in data sources plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import DataSourceDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_data_sources() -> list[DataSourceDescriptor]:
    """The built-in data sources (none yet)."""
    return []
