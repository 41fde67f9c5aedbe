"""A third-party regime detector in one small plugin: "always calm unless the close rose"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from regimeforge import hookimpl
from regimeforge.domain.regimes import RegimeDefinition
from regimeforge.plugins.descriptors import RegimeDetectorDescriptor


class UpDownDetector:
    """Labels a bar ``bull_trending`` when its close rose over ``lag`` bars, else calm."""

    name = "updown"

    def __init__(self, lag: int) -> None:
        self.lag = lag

    def detect(self, bars: pd.DataFrame, regimes: Sequence[RegimeDefinition]) -> np.ndarray:
        close = bars["close"].to_numpy(dtype=float)
        labels = np.full(close.size, "", dtype="<U16")
        rose = close[self.lag :] > close[: -self.lag]
        labels[self.lag :] = np.where(rose, "bull_trending", "calm_ranging")
        return labels


@hookimpl
def register_regime_detectors() -> list[RegimeDetectorDescriptor]:
    """The ``updown`` detector (reads ``updown_lag`` from the regimes settings)."""

    def factory(settings: Mapping[str, Any]) -> UpDownDetector:
        return UpDownDetector(int(settings.get("updown_lag", 1)))

    return [RegimeDetectorDescriptor(name="updown", factory=factory, description="toy")]
