"""Built-in regime detectors plugin (a stub until its owner fills it in)."""

from __future__ import annotations

from regimeforge.plugins.descriptors import RegimeDetectorDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_regime_detectors() -> list[RegimeDetectorDescriptor]:
    """The built-in regime detectors (none yet)."""
    return []
