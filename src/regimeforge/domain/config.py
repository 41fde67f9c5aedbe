"""Model and inference configurations: validation, canonical form and hashing.

``ModelConfig.from_mapping`` is the only way in from user data: it checks everything at once
(each problem with its field path and a fix), fills every default, sorts set-like lists and
normalises numbers, so that a ``ModelConfig`` is always canonical and ``config_hash`` needs no
further knowledge. Unknown keys are refused rather than ignored: a typo must never silently
become a different experiment with the same hash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from regimeforge.domain import catalog as cat
from regimeforge.domain.canonical import normalise, sha256_of
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES, bars_in_days

MIN_SEGMENT_BARS = 10
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._:-]{0,31}$")
_MODEL_KEYS = frozenset(
    {
        "model_type",
        "encoder",
        "symbol",
        "base_timeframe",
        "days_history",
        "horizon",
        "indicator_tfs",
        "additional_features",
        "preprocessing",
        "model_hyperparams",
        "encoder_params",
        "seed",
    }
)
_INFERENCE_KEYS = frozenset(
    {"prediction_method", "ensemble_method", "confidence_threshold", "lookback_window", "params"}
)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


@attrs.frozen
class ModelConfig:
    """The outer-loop parameters of one model: what to train, on which data, with what features.

    Build it with ``from_mapping``; the constructor trusts its arguments to be canonical.
    """

    model_type: str
    encoder: str
    symbol: str
    base_timeframe: str
    days_history: int
    horizon: int
    indicator_tfs: Mapping[str, tuple[str, ...]]
    additional_features: Mapping[str, bool]
    preprocessing: Mapping[str, Any]
    model_hyperparams: Mapping[str, Any]
    encoder_params: Mapping[str, Any]
    seed: int = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], catalog: cat.ConfigCatalog) -> ModelConfig:
        """Validate ``data`` and return the canonical config; ConfigError lists every problem."""
        problems = validate_model_mapping(data, catalog)
        ConfigError.collect(problems, subject="model config")
        return _build_model(data, catalog)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data of the canonical form (what is hashed and stored)."""
        return {
            "model_type": self.model_type,
            "encoder": self.encoder,
            "symbol": self.symbol,
            "base_timeframe": self.base_timeframe,
            "days_history": self.days_history,
            "horizon": self.horizon,
            "indicator_tfs": {k: list(v) for k, v in self.indicator_tfs.items()},
            "additional_features": dict(self.additional_features),
            "preprocessing": _thaw(self.preprocessing),
            "model_hyperparams": _thaw(self.model_hyperparams),
            "encoder_params": _thaw(self.encoder_params),
            "seed": self.seed,
        }

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON; stable across processes, platforms and releases."""
        return sha256_of(self.to_dict())

    @property
    def symbol_slug(self) -> str:
        """The symbol with the slash removed (EUR/USD -> EURUSD), for file names."""
        return self.symbol.replace("/", "")


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def config_hash(config: ModelConfig | InferenceConfig) -> str:
    """The SHA-256 config hash of a model or inference config."""
    return config.config_hash


# --- validation -----------------------------------------------------------------------------


def _check_params(
    path: str, given: Any, defaults: Mapping[str, Any], problems: list[Problem]
) -> dict[str, Any]:
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        problems.append(Problem(path, f"must be a mapping, got {type(given).__name__}"))
        return dict(defaults)
    out = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            problems.append(Problem(f"{path}.{key}", "unknown parameter", f"use one of: {known}"))
            continue
        try:
            out[key] = normalise(value)
        except ValueError as exc:
            problems.append(Problem(f"{path}.{key}", str(exc), "use a number, string or list"))
    return out


def _check_int(
    data: Mapping[str, Any], key: str, lo: int, hi: int, problems: list[Problem]
) -> int | None:
    value: Any = data.get(key)
    if not _is_int(value):
        problems.append(Problem(key, f"must be an integer, got {value!r}", f"use {lo}..{hi}"))
        return None
    number = int(value)
    if not lo <= number <= hi:
        problems.append(Problem(key, f"{number} is outside {lo}..{hi}", f"use {lo}..{hi}"))
        return None
    return number


def _check_choice(
    data: Mapping[str, Any],
    key: str,
    choices: Mapping[str, Any] | tuple[str, ...],
    problems: list[Problem],
    default: str | None = None,
) -> str | None:
    value = data.get(key, default)
    if value is None:
        problems.append(Problem(key, "is required", f"use one of: {', '.join(sorted(choices))}"))
        return None
    if value not in choices:
        problems.append(
            Problem(key, f"unknown value {value!r}", f"use one of: {', '.join(sorted(choices))}")
        )
        return None
    return str(value)


def _check_preprocessing(given: Any, problems: list[Problem]) -> dict[str, Any]:
    pre = _check_params("preprocessing", given, cat.PREPROCESSING_DEFAULTS, problems)
    ints = {"warmup_bars": (0, 100_000), "rv_window": (2, 10_000), "ensemble_members": (1, 50)}
    for key, (lo, hi) in ints.items():
        if not _is_int(pre[key]) or not lo <= int(pre[key]) <= hi:
            problems.append(
                Problem(
                    f"preprocessing.{key}",
                    f"{pre[key]!r} is not an integer in {lo}..{hi}",
                    f"use {lo}..{hi}",
                )
            )
    fractions = ("min_coverage", "train_fraction", "validation_fraction")
    for key in fractions:
        if not _is_number(pre[key]) or not 0 <= float(pre[key]) <= 1:
            problems.append(
                Problem(
                    f"preprocessing.{key}",
                    f"{pre[key]!r} is not in 0..1",
                    "use a fraction such as 0.6",
                )
            )
    if pre["scaling"] not in cat.SCALINGS:
        problems.append(
            Problem(
                "preprocessing.scaling",
                f"unknown scaling {pre['scaling']!r}",
                f"use one of: {', '.join(cat.SCALINGS)}",
            )
        )
    train, val = pre["train_fraction"], pre["validation_fraction"]
    if _is_number(train) and _is_number(val) and not (train > 0 and val > 0 and train + val < 1):
        problems.append(
            Problem(
                "preprocessing.train_fraction",
                f"train {train} + validation {val} must be > 0 each and < 1",
                "e.g. 0.6 and 0.2 leave 0.2 for the test segment",
            )
        )
    return pre


def _check_indicators(
    given: Any, base: str | None, catalog: cat.ConfigCatalog, problems: list[Problem]
) -> dict[str, list[str]]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        problems.append(
            Problem(
                "indicator_tfs", "must map indicator -> list of timeframes", "e.g. {rsi: [1h, 4h]}"
            )
        )
        return {}
    out: dict[str, list[str]] = {}
    for name, tfs in given.items():
        path = f"indicator_tfs.{name}"
        if name not in catalog.indicators:
            problems.append(
                Problem(
                    path,
                    "unknown indicator",
                    f"use one of: {', '.join(sorted(catalog.indicators))}",
                )
            )
            continue
        tf_list = [tfs] if isinstance(tfs, str) else tfs
        if not isinstance(tf_list, list | tuple) or not tf_list:
            problems.append(Problem(path, "must be a non-empty list of timeframes", "e.g. [1h]"))
            continue
        good: set[str] = set()
        for tf in tf_list:
            if tf not in TIMEFRAME_MINUTES:
                problems.append(
                    Problem(
                        path,
                        f"unknown timeframe {tf!r}",
                        f"use one of: {', '.join(TIMEFRAME_MINUTES)}",
                    )
                )
            elif base in TIMEFRAME_MINUTES and TIMEFRAME_MINUTES[tf] < TIMEFRAME_MINUTES[base]:
                problems.append(
                    Problem(
                        path,
                        f"timeframe {tf} is finer than base_timeframe {base}",
                        f"use {base} or coarser",
                    )
                )
            else:
                good.add(str(tf))
        out[str(name)] = sorted(good, key=lambda t: TIMEFRAME_MINUTES[t])
    return out


def _check_features(given: Any, problems: list[Problem]) -> dict[str, bool]:
    flags = dict.fromkeys(cat.ADDITIONAL_FEATURES, False)
    if given is None:
        return flags
    if isinstance(given, list | tuple):
        given = dict.fromkeys(given, True)
    if not isinstance(given, Mapping):
        problems.append(
            Problem(
                "additional_features",
                "must map feature -> true/false",
                "e.g. {returns_volatility: true}",
            )
        )
        return flags
    for key, value in given.items():
        if key not in flags:
            problems.append(
                Problem(
                    f"additional_features.{key}",
                    "unknown feature group",
                    f"use one of: {', '.join(cat.ADDITIONAL_FEATURES)}",
                )
            )
        elif not isinstance(value, bool):
            problems.append(
                Problem(
                    f"additional_features.{key}",
                    f"{value!r} is not true/false",
                    "use true or false",
                )
            )
        else:
            flags[key] = value
    return flags


def validate_model_mapping(data: Mapping[str, Any], catalog: cat.ConfigCatalog) -> list[Problem]:
    """Every problem of a model config mapping (empty list when it is valid)."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return [Problem("", "a model config must be a mapping", "write key: value pairs")]
    for key in data:
        if key not in _MODEL_KEYS:
            problems.append(
                Problem(str(key), "unknown key", f"use one of: {', '.join(sorted(_MODEL_KEYS))}")
            )
    model_type = _check_choice(data, "model_type", catalog.model_types, problems)
    encoder = _check_choice(data, "encoder", catalog.encoders, problems, default="none")
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not _SYMBOL.match(symbol):
        problems.append(Problem("symbol", f"invalid symbol {symbol!r}", "e.g. EUR/USD or GOOG"))
    base = _check_choice(data, "base_timeframe", tuple(TIMEFRAME_MINUTES), problems)
    days = _check_int(data, "days_history", 1, 3650, problems)
    horizon = _check_int(data, "horizon", 1, 500, problems)
    seed = data.get("seed", 0)
    if not _is_int(seed) or not 0 <= int(seed) < 2**32:
        problems.append(Problem("seed", f"{seed!r} is not an integer in 0..2**32-1", "use e.g. 0"))
    pre = _check_preprocessing(data.get("preprocessing"), problems)
    _check_indicators(data.get("indicator_tfs"), base, catalog, problems)
    _check_features(data.get("additional_features"), problems)
    if model_type is not None:
        _check_params(
            "model_hyperparams",
            data.get("model_hyperparams"),
            catalog.model_types[model_type],
            problems,
        )
    if encoder is not None:
        _check_params(
            "encoder_params", data.get("encoder_params"), catalog.encoders[encoder], problems
        )
    if base is not None and days is not None and horizon is not None:
        available = bars_in_days(days, base)
        warmup = pre["warmup_bars"] if _is_int(pre["warmup_bars"]) else 0
        needed = int(warmup) + 4 * horizon + 3 * MIN_SEGMENT_BARS
        if available < needed:
            problems.append(
                Problem(
                    "horizon",
                    f"{days} days of {base} bars hold at most {available} bars, fewer than the "
                    f"{needed} that warm-up ({warmup}), horizon {horizon} with purge gaps and "
                    f"three segments of {MIN_SEGMENT_BARS} bars need",
                    "raise days_history, use a finer base_timeframe or a shorter horizon",
                )
            )
    return problems


def _build_model(data: Mapping[str, Any], catalog: cat.ConfigCatalog) -> ModelConfig:
    ignore: list[Problem] = []
    model_type = str(data["model_type"])
    encoder = str(data.get("encoder", "none"))
    base = str(data["base_timeframe"])
    return ModelConfig(
        model_type=model_type,
        encoder=encoder,
        symbol=str(data["symbol"]),
        base_timeframe=base,
        days_history=int(data["days_history"]),
        horizon=int(data["horizon"]),
        indicator_tfs=_freeze(_check_indicators(data.get("indicator_tfs"), base, catalog, ignore)),
        additional_features=_freeze(_check_features(data.get("additional_features"), ignore)),
        preprocessing=_freeze(normalise(_check_preprocessing(data.get("preprocessing"), ignore))),
        model_hyperparams=_freeze(
            normalise(
                _check_params(
                    "model_hyperparams",
                    data.get("model_hyperparams"),
                    catalog.model_types[model_type],
                    ignore,
                )
            )
        ),
        encoder_params=_freeze(
            normalise(
                _check_params(
                    "encoder_params", data.get("encoder_params"), catalog.encoders[encoder], ignore
                )
            )
        ),
        seed=int(data.get("seed", 0)),
    )


# --- inference ------------------------------------------------------------------------------


@attrs.frozen
class InferenceConfig:
    """One inner-loop setting: how a trained model's forecasts become positions."""

    prediction_method: str
    ensemble_method: str
    confidence_threshold: float
    lookback_window: int
    params: Mapping[str, Any] = attrs.field(factory=lambda: MappingProxyType({}))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> InferenceConfig:
        """Validate ``data`` (every problem at once) and return the canonical config."""
        problems: list[Problem] = []
        if not isinstance(data, Mapping):
            raise ConfigError([Problem("", "an inference config must be a mapping")])
        for key in data:
            if key not in _INFERENCE_KEYS:
                problems.append(
                    Problem(
                        str(key), "unknown key", f"use one of: {', '.join(sorted(_INFERENCE_KEYS))}"
                    )
                )
        method = _check_choice(data, "prediction_method", cat.PREDICTION_METHODS, problems)
        ensemble = _check_choice(data, "ensemble_method", cat.ENSEMBLE_METHODS, problems)
        threshold: Any = data.get("confidence_threshold")
        if not _is_number(threshold) or not 0 <= float(threshold) <= 1:
            problems.append(
                Problem(
                    "confidence_threshold",
                    f"{threshold!r} is not in 0..1",
                    "use a number such as 0.5",
                )
            )
        lookback = _check_int(data, "lookback_window", 20, 500, problems)
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            problems.append(Problem("params", "must be a mapping", "e.g. {n_samples: 32}"))
            params = {}
        try:
            params = normalise(params)
        except ValueError as exc:
            problems.append(Problem("params", str(exc), "use plain numbers and strings"))
        ConfigError.collect(problems, subject="inference config")
        assert method and ensemble and lookback is not None  # for type checkers; checked above
        return cls(method, ensemble, float(threshold), lookback, _freeze(params))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data of the canonical form."""
        return {
            "prediction_method": self.prediction_method,
            "ensemble_method": self.ensemble_method,
            "confidence_threshold": self.confidence_threshold,
            "lookback_window": self.lookback_window,
            "params": _thaw(self.params),
        }

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON."""
        return sha256_of(self.to_dict())
