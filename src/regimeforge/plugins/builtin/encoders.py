"""Built-in encoders plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import EncoderDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_encoders() -> list[EncoderDescriptor]:
    """The built-in encoders (none yet)."""
    return []
