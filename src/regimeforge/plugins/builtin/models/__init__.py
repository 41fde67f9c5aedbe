"""Built-in model types plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import ModelTypeDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_model_types() -> list[ModelTypeDescriptor]:
    """The built-in model types (none yet)."""
    return []
