"""Regime definitions and the stored top-N best backtests per regime."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

DEFAULT_REGIMES: tuple[str, ...] = (
    "bull_trending",
    "bear_trending",
    "volatile_ranging",
    "calm_ranging",
)


@attrs.frozen
class RegimeDefinition:
    """A named market regime and the rules that detect it.

    ``detection_rules`` maps an indicator name of the detector (``trend_strength``,
    ``realized_vol``, ``signed_return``, ...) to a rule in the safe rule language (``"> 0.7"``,
    ``"> 75th percentile"``, ``"between 0.3 and 0.7"``). Lower ``priority`` is tried first.
    """

    name: str
    detection_rules: Mapping[str, str]
    description: str = ""
    detector: str = "rules"
    priority: int = 100
    is_active: bool = True
    created_at: datetime | None = None


@attrs.frozen
class RegimeBest:
    """One of the top-N backtests of a regime (rank 1 is the best)."""

    regime_name: str
    rank: int
    run_uuid: str
    backtest_uuid: str
    performance_score: float
    secondary_metrics: Mapping[str, Any] = MappingProxyType({})
    achieved_at: datetime | None = None


@attrs.frozen
class RegimeBestChange:
    """A fact for ``regime_best_history``: a backtest entered a regime's top-N (or left it).

    ``delta`` is always reported; ``percent`` only when the previous score was positive.
    """

    regime_name: str
    change: str  # "entered" | "left" | "deleted" (runs delete --force) | "file_missing" (cleanup)
    rank: int
    run_uuid: str
    backtest_uuid: str
    performance_score: float
    previous_score: float | None = None
    previous_run_uuid: str | None = None
    delta: float | None = None
    percent: float | None = None
    at: datetime | None = None


#: The four default regimes (seeded by the first migration). Priority order, first match wins;
#: the trend rules come first, and the two volatility rules split the rest at the trailing median,
#: so every bar after the detector's warm-up gets exactly one of them.
DEFAULT_REGIME_DEFINITIONS: tuple[RegimeDefinition, ...] = (
    RegimeDefinition(
        name="bull_trending",
        detection_rules=MappingProxyType({"trend_strength": "> 0.5", "signed_return": "> 0"}),
        description="A clear upward trend",
        priority=10,
    ),
    RegimeDefinition(
        name="bear_trending",
        detection_rules=MappingProxyType({"trend_strength": "> 0.5", "signed_return": "<= 0"}),
        description="A clear downward trend",
        priority=20,
    ),
    RegimeDefinition(
        name="volatile_ranging",
        detection_rules=MappingProxyType({"realized_vol": "> 50th percentile"}),
        description="No clear trend, volatility above its trailing median",
        priority=30,
    ),
    RegimeDefinition(
        name="calm_ranging",
        detection_rules=MappingProxyType({"realized_vol": "<= 50th percentile"}),
        description="No clear trend, volatility at or below its trailing median",
        priority=40,
    ),
)
