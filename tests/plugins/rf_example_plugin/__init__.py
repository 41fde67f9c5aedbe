"""A tiny third-party RegimeForge plugin, found through the entry-point group ``regimeforge``.

It lives outside ``regimeforge`` on purpose: it adds a model type, a regime detector and a metric
and observes the lifecycle hooks, using only the public plugin API (``hookimpl`` and the
descriptors). Tests make it discoverable with a ``*.dist-info`` folder on ``sys.path``.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from regimeforge import hookimpl
from regimeforge.domain.forecasts import MemberForecasts, PreparedData
from regimeforge.plugins.descriptors import (
    MetricDescriptor,
    ModelTypeDescriptor,
    RegimeDetectorDescriptor,
)

#: (hook name, keyword arguments) of every lifecycle hook call this plugin saw.
CALLS: list[tuple[str, dict[str, Any]]] = []


class MeanModel:
    """Forecasts the train segment's mean horizon return, the same at every bar."""

    def __init__(self, mean: float, feature_count: int) -> None:
        self.mean = mean
        self.feature_count = feature_count
        self.training_metrics: Mapping[str, float] = {"train_mean": mean}

    def forecast(
        self, features: np.ndarray, method: str, params: Mapping[str, Any] | None = None
    ) -> MemberForecasts:
        values = np.full((1, features.shape[0]), self.mean)
        return MemberForecasts(values, np.ones(1), np.ones(1))

    def to_bytes(self) -> bytes:
        return pickle.dumps((self.mean, self.feature_count))


class MeanTrainer:
    """Trainer of ``example-mean``."""

    name = "example-mean"

    def fit(self, data: PreparedData, config: Any) -> MeanModel:
        horizon_returns = np.nansum(data.targets[data.train], axis=1)
        return MeanModel(float(np.mean(horizon_returns)), data.features.shape[1])

    def load(self, payload: bytes) -> MeanModel:
        mean, count = pickle.loads(payload)
        return MeanModel(mean, count)


class FirstRegimeDetector:
    """Labels every bar with the first active regime (a detector in its simplest form)."""

    name = "example-first"

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings

    def detect(self, bars: pd.DataFrame, regimes: Sequence[Any]) -> np.ndarray:
        first = min((r for r in regimes if r.is_active), key=lambda r: r.priority)
        return np.full(len(bars), first.name, dtype=object)


class MeanReturn:
    """Mean net log return per bar (higher is better)."""

    name = "example_mean_return"
    higher_is_better = True

    def compute(
        self, pnl: np.ndarray, positions: np.ndarray, periods_per_year: float
    ) -> np.ndarray:
        return np.nanmean(pnl, axis=1)


@hookimpl
def register_model_types() -> list[ModelTypeDescriptor]:
    return [
        ModelTypeDescriptor("example-mean", MeanTrainer, hyperparams={"shrink": 0.0}),
        # listed by `regimeforge plugins` with its reason, refused in grids
        ModelTypeDescriptor(
            "example-gpu", MeanTrainer, available=False, unavailable_reason="needs a GPU (example)"
        ),
    ]


@hookimpl
def register_regime_detectors() -> list[RegimeDetectorDescriptor]:
    return [RegimeDetectorDescriptor("example-first", FirstRegimeDetector)]


@hookimpl
def register_metrics() -> list[MetricDescriptor]:
    return [MetricDescriptor("example_mean_return", MeanReturn())]


@hookimpl
def after_run_finished(run: Any, backtests_count: int, kept: bool) -> None:
    CALLS.append(("after_run_finished", {"run": run, "backtests_count": backtests_count}))


@hookimpl
def after_queue_finished(queue: Any, statistics: Mapping[str, Any]) -> None:
    CALLS.append(("after_queue_finished", {"queue": queue, "statistics": dict(statistics)}))
