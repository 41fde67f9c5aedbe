"""Built-in notifiers plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import NotifierDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_notifiers() -> list[NotifierDescriptor]:
    """The built-in notifiers (none yet)."""
    return []
