"""What registration hooks return: one typed descriptor per thing a plugin adds.

The plugin manager checks every returned object is the right descriptor type and that names are
unique across plugins (a name registered twice is a PluginError naming both plugins).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs
import pandas as pd

from regimeforge.domain.ports import (
    Encoder,
    Executor,
    MarketDataSource,
    Metric,
    ModelTrainer,
    Notifier,
    RegimeDetector,
)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen
class ModelTypeDescriptor:
    """A model type: its trainer, hyperparameter defaults and extra inference parameters.

    ``hyperparams`` are the only keys allowed in ``model_hyperparams`` (with their defaults);
    ``inference_params`` the extra inference parameters it reads (e.g. diffusion ``n_samples``).
    ``available`` is False (with ``unavailable_reason``) when an optional dependency is missing:
    the type is listed by ``regimeforge plugins`` but refused in grids.
    """

    name: str
    trainer_factory: Callable[[], ModelTrainer]
    hyperparams: Mapping[str, Any] = attrs.field(default=_EMPTY, converter=_frozen)
    inference_params: Mapping[str, Any] = attrs.field(default=_EMPTY, converter=_frozen)
    description: str = ""
    has_own_spread: bool = False
    available: bool = True
    unavailable_reason: str = ""


@attrs.frozen
class EncoderDescriptor:
    """An encoder: ``factory(params, seed)`` builds an unfitted Encoder."""

    name: str
    factory: Callable[[Mapping[str, Any], int], Encoder]
    params: Mapping[str, Any] = attrs.field(default=_EMPTY, converter=_frozen)
    description: str = ""
    available: bool = True
    unavailable_reason: str = ""


@attrs.frozen
class IndicatorDescriptor:
    """An indicator computed on bars of one timeframe.

    ``compute(bars)`` takes OHLCV bars of one timeframe and returns a DataFrame of causal
    feature columns on the same index (value at t uses bars up to and including t only);
    ``warmup_bars`` is how many bars it needs before its values are meaningful.
    """

    name: str
    compute: Callable[[pd.DataFrame], pd.DataFrame]
    warmup_bars: int = 0
    description: str = ""


@attrs.frozen
class RegimeDetectorDescriptor:
    """A regime detector: ``factory(settings)`` builds it from the ``regimes`` settings block."""

    name: str
    factory: Callable[[Mapping[str, Any]], RegimeDetector]
    description: str = ""
    available: bool = True
    unavailable_reason: str = ""


@attrs.frozen
class MetricDescriptor:
    """A backtest metric (vectorised over configurations)."""

    name: str
    metric: Metric
    description: str = ""


@attrs.frozen
class DataSourceDescriptor:
    """A market data source: ``factory(spec, base_dir)`` from a grid file's ``data`` block."""

    name: str
    factory: Callable[[Mapping[str, Any], str], MarketDataSource]
    description: str = ""


@attrs.frozen
class ExecutorDescriptor:
    """An executor: ``factory(max_parallel, settings)`` builds it."""

    name: str
    factory: Callable[[int, Mapping[str, Any]], Executor]
    description: str = ""
    available: bool = True
    unavailable_reason: str = ""


@attrs.frozen
class NotifierDescriptor:
    """A notifier: ``factory(config)`` from one entry of the ``notifications`` settings."""

    name: str
    factory: Callable[[Mapping[str, Any]], Notifier]
    description: str = ""
