"""What the config validators know about: names and parameter defaults of the loaded plugins.

The domain does not know the plugins; the plugin manager builds a ``ConfigCatalog`` from the
registered descriptors and hands it to the validators. Tests build one by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

ADDITIONAL_FEATURES: tuple[str, ...] = (
    "returns_volatility",
    "trading_sessions",
    "candlestick_patterns",
    "volume_profile",
    "vsa_analysis",
)

#: Defaults of ``ModelConfig.preprocessing``; every key allowed there is listed here.
PREPROCESSING_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "warmup_bars": 64,
        "rv_window": 20,
        "min_coverage": 0.9,
        "scaling": "standard",
        "train_fraction": 0.6,
        "validation_fraction": 0.2,
        "ensemble_members": 5,
    }
)

SCALINGS: tuple[str, ...] = ("standard", "robust", "none")
PREDICTION_METHODS: tuple[str, ...] = ("direct", "recursive", "direct_multi")
ENSEMBLE_METHODS: tuple[str, ...] = ("mean", "weighted", "stacking")


def _frozen_reasons(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


def _frozen_params(value: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in value.items()})


@attrs.frozen
class ConfigCatalog:
    """Known model types, encoders and indicators, with the default parameters of each.

    ``model_types`` maps a model type name to its hyperparameter defaults (the only keys allowed in
    ``model_hyperparams``); ``encoders`` likewise for ``encoder_params``; ``indicators`` are the
    indicator names allowed in ``indicator_tfs``; ``inference_params`` are the extra inference
    parameters a model type accepts (name -> default). ``unavailable`` maps the names of model
    types and encoders that are registered but unusable here (a missing optional dependency) to
    the reason, which the validators give as the fix.
    """

    model_types: Mapping[str, Mapping[str, Any]] = attrs.field(converter=_frozen_params)
    encoders: Mapping[str, Mapping[str, Any]] = attrs.field(converter=_frozen_params)
    indicators: frozenset[str] = attrs.field(converter=frozenset)
    inference_params: Mapping[str, Mapping[str, Any]] = attrs.field(
        factory=dict, converter=_frozen_params
    )
    unavailable: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_reasons)


#: The built-in names, for tests and for estimates when no plugin manager is at hand.
BUILTIN_INDICATORS: frozenset[str] = frozenset(
    {"rsi", "macd", "atr", "bollinger", "stochastic", "ema_slope", "adx", "realized_vol"}
)
