"""Built-in executors plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import ExecutorDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_executors() -> list[ExecutorDescriptor]:
    """The built-in executors (none yet)."""
    return []
