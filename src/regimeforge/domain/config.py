"""Model and inference configurations: validation, canonical form and hashing.

``ModelConfig.from_mapping`` is the only way in from user data: it checks everything at once
(each problem with its field path and a fix, see ``config_checks``), fills every default, sorts
set-like lists and normalises numbers, so that a ``ModelConfig`` is always canonical and
``config_hash`` needs no further knowledge. Unknown keys are refused rather than ignored: a typo
must never silently become a different experiment with the same hash.

The grid builds configs from values it has already checked once per axis; it assembles the
canonical JSON from per-field fragments (``hash_of_fragments``) and hands the digest over with
``prehashed``. Tests pin that both ways give the same hash.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from regimeforge.domain import catalog as cat
from regimeforge.domain import config_checks as chk
from regimeforge.domain.canonical import canonical_json, normalise, sha256_of
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES

MIN_SEGMENT_BARS = chk.MIN_SEGMENT_BARS
MODEL_KEYS: frozenset[str] = frozenset(
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
#: The fields of the canonical form in the order ``json.dumps(sort_keys=True)`` writes them.
SORTED_MODEL_KEYS: tuple[str, ...] = tuple(sorted(MODEL_KEYS))
INFERENCE_KEYS: frozenset[str] = frozenset(
    {"prediction_method", "ensemble_method", "confidence_threshold", "lookback_window", "params"}
)


def freeze(value: Any) -> Any:
    """Mappings -> read-only mappings, lists -> tuples (recursively)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of ``freeze``: plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def fragment(value: Any) -> str:
    """Canonical JSON of one field's value (a piece of ``hash_of_fragments``)."""
    return canonical_json(thaw(value))


def hash_of_fragments(fragments: Mapping[str, str]) -> str:
    """SHA-256 of the canonical JSON object whose fields have these canonical fragments."""
    body = ",".join(f'"{key}":{fragments[key]}' for key in SORTED_MODEL_KEYS)
    return hashlib.sha256(("{" + body + "}").encode("ascii")).hexdigest()


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
            "preprocessing": thaw(self.preprocessing),
            "model_hyperparams": thaw(self.model_hyperparams),
            "encoder_params": thaw(self.encoder_params),
            "seed": self.seed,
        }

    @functools.cached_property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON; stable across processes, platforms and releases."""
        return sha256_of(self.to_dict())

    @property
    def symbol_slug(self) -> str:
        """The symbol with the slash removed (EUR/USD -> EURUSD), for file names."""
        return self.symbol.replace("/", "")


def prehashed(config: ModelConfig, digest: str) -> ModelConfig:
    """``config`` with its ``config_hash`` already known (the grid computed it from fragments)."""
    object.__setattr__(config, "config_hash", digest)
    return config


def config_hash(config: ModelConfig | InferenceConfig) -> str:
    """The SHA-256 config hash of a model or inference config."""
    return config.config_hash


def validate_model_mapping(data: Mapping[str, Any], catalog: cat.ConfigCatalog) -> list[Problem]:
    """Every problem of a model config mapping (empty list when it is valid)."""
    if not isinstance(data, Mapping):
        return [Problem("", "a model config must be a mapping", "write key: value pairs")]
    problems: list[Problem] = []
    for key in data:
        if key not in MODEL_KEYS:
            known = ", ".join(sorted(MODEL_KEYS))
            problems.append(Problem(str(key), "unknown key", f"use one of: {known}"))
    model_type = chk.check_choice(
        data.get("model_type"), "model_type", catalog.model_types, problems, catalog.unavailable
    )
    encoder = chk.check_choice(
        data.get("encoder", "none"), "encoder", catalog.encoders, problems, catalog.unavailable
    )
    chk.check_symbol(data.get("symbol"), "symbol", problems)
    base = chk.check_choice(
        data.get("base_timeframe"), "base_timeframe", tuple(TIMEFRAME_MINUTES), problems
    )
    days = chk.check_int(data.get("days_history"), "days_history", 1, 3650, problems)
    horizon = chk.check_int(data.get("horizon"), "horizon", 1, 500, problems)
    chk.check_seed(data.get("seed", 0), "seed", problems)
    pre = chk.check_preprocessing(data.get("preprocessing"), problems)
    indicators = chk.check_indicators(data.get("indicator_tfs"), catalog, problems)
    if base is not None:
        problems.extend(chk.indicator_base_problems(indicators, base))
    chk.check_features(data.get("additional_features"), problems)
    if model_type is not None:
        defaults = catalog.model_types[model_type]
        chk.check_params("model_hyperparams", data.get("model_hyperparams"), defaults, problems)
    if encoder is not None:
        defaults = catalog.encoders[encoder]
        chk.check_params("encoder_params", data.get("encoder_params"), defaults, problems)
    if base is not None and days is not None and horizon is not None:
        warmup = int(pre["warmup_bars"]) if chk.is_int(pre["warmup_bars"]) else 0
        problem = chk.history_problem(days, base, horizon, warmup)
        if problem is not None:
            problems.append(problem)
    return problems


def _build_model(data: Mapping[str, Any], catalog: cat.ConfigCatalog) -> ModelConfig:
    ignore: list[Problem] = []  # already validated: only the normalised values are wanted
    model_type = str(data["model_type"])
    encoder = str(data.get("encoder", "none"))
    hyper = catalog.model_types[model_type]
    return ModelConfig(
        model_type=model_type,
        encoder=encoder,
        symbol=str(data["symbol"]),
        base_timeframe=str(data["base_timeframe"]),
        days_history=int(data["days_history"]),
        horizon=int(data["horizon"]),
        indicator_tfs=freeze(chk.check_indicators(data.get("indicator_tfs"), catalog, ignore)),
        additional_features=freeze(chk.check_features(data.get("additional_features"), ignore)),
        preprocessing=freeze(chk.check_preprocessing(data.get("preprocessing"), ignore)),
        model_hyperparams=freeze(
            chk.check_params("model_hyperparams", data.get("model_hyperparams"), hyper, ignore)
        ),
        encoder_params=freeze(
            chk.check_params(
                "encoder_params", data.get("encoder_params"), catalog.encoders[encoder], ignore
            )
        ),
        seed=int(data.get("seed", 0)),
    )


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
        problems = validate_inference_mapping(data)
        ConfigError.collect(problems, subject="inference config")
        params = normalise(data.get("params") or {})
        return cls(
            str(data["prediction_method"]),
            str(data["ensemble_method"]),
            float(data["confidence_threshold"]),
            int(data["lookback_window"]),
            freeze(params),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data of the canonical form."""
        return {
            "prediction_method": self.prediction_method,
            "ensemble_method": self.ensemble_method,
            "confidence_threshold": self.confidence_threshold,
            "lookback_window": self.lookback_window,
            "params": thaw(self.params),
        }

    @functools.cached_property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON."""
        return sha256_of(self.to_dict())


def validate_inference_mapping(data: Any, prefix: str = "") -> list[Problem]:
    """Every problem of one inference config mapping; paths start with ``prefix``."""
    if not isinstance(data, Mapping):
        return [Problem(prefix.rstrip("."), "an inference config must be a mapping")]
    problems: list[Problem] = []
    for key in data:
        if key not in INFERENCE_KEYS:
            known = ", ".join(sorted(INFERENCE_KEYS))
            problems.append(Problem(f"{prefix}{key}", "unknown key", f"use one of: {known}"))
    chk.check_choice(
        data.get("prediction_method"),
        f"{prefix}prediction_method",
        cat.PREDICTION_METHODS,
        problems,
    )
    chk.check_choice(
        data.get("ensemble_method"), f"{prefix}ensemble_method", cat.ENSEMBLE_METHODS, problems
    )
    threshold: Any = data.get("confidence_threshold")
    if not chk.is_number(threshold) or not 0 <= float(threshold) <= 1:
        problems.append(
            Problem(
                f"{prefix}confidence_threshold",
                f"{threshold!r} is not in 0..1",
                "use a number such as 0.5",
            )
        )
    chk.check_int(data.get("lookback_window"), f"{prefix}lookback_window", 20, 500, problems)
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        problems.append(Problem(f"{prefix}params", "must be a mapping", "e.g. {n_samples: 32}"))
    else:
        try:
            normalise(params)
        except ValueError as exc:
            problems.append(Problem(f"{prefix}params", str(exc), "use plain numbers and strings"))
    return problems
