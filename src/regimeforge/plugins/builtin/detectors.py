"""Built-in regime detectors: ``rules`` (the default) and ``hmm`` (needs the ``hmm`` extra)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from regimeforge.domain.regime_detection import RuleRegimeDetector
from regimeforge.plugins.builtin import hmm_detector
from regimeforge.plugins.descriptors import RegimeDetectorDescriptor
from regimeforge.plugins.hookspecs import hookimpl


def rules_from_settings(settings: Mapping[str, Any]) -> RuleRegimeDetector:
    """The rule detector with ``rv_window``, ``trend_window`` and ``percentile_window`` settings."""
    return RuleRegimeDetector(
        rv_window=int(settings.get("rv_window", 20)),
        trend_window=int(settings.get("trend_window", 50)),
        percentile_window=int(settings.get("percentile_window", 500)),
    )


@hookimpl
def register_regime_detectors() -> list[RegimeDetectorDescriptor]:
    """The rule detector and the forward-filtered Gaussian HMM detector."""
    has_hmmlearn = importlib.util.find_spec("hmmlearn") is not None
    return [
        RegimeDetectorDescriptor(
            name="rules",
            factory=rules_from_settings,
            description="Causal indicators + each regime's rules in priority order",
        ),
        RegimeDetectorDescriptor(
            name="hmm",
            factory=hmm_detector.from_settings,
            description="Gaussian HMM on returns and realised vol, forward-filtered labels",
            available=has_hmmlearn,
            unavailable_reason=""
            if has_hmmlearn
            else "install the extra: pip install regimeforge[hmm]",
        ),
    ]
