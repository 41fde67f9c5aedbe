"""Config hash: a golden value, invariances (key order, set order, 1 vs 1.0, defaults) and
sensitivity to every real change (hypothesis properties)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.catalog import BUILTIN_INDICATORS, PREPROCESSING_DEFAULTS, ConfigCatalog
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.errors import ConfigError

REFERENCE: dict[str, Any] = {
    "model_type": "rf",
    "encoder": "pca",
    "symbol": "EUR/USD",
    "base_timeframe": "1h",
    "days_history": 180,
    "horizon": 10,
    "indicator_tfs": {"rsi": ["4h", "1h"], "macd": ["1h"]},
    "additional_features": {"returns_volatility": True, "trading_sessions": True},
    "preprocessing": {"warmup_bars": 64},
    "model_hyperparams": {"n_estimators": 50, "max_depth": 4},
    "seed": 7,
}
CATALOG = ConfigCatalog(
    model_types={
        "ridge": {"alpha": 1.0},
        "lasso": {"alpha": 0.001},
        "rf": {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 20},
    },
    encoders={"none": {}, "pca": {"n_components": 0.95}},
    indicators=BUILTIN_INDICATORS,
)
GOLDEN = "4d1548bdaab18d1a87b77b2ec2fe7617e158e7338299c1cf3c1367a1a80e32ec"
GOLDEN_INFERENCE = "15d5bd3a633a5f8fd73a08db74d2aac0a0d26b5a02cfe9625a6c797d71122e30"


def hash_of(data: dict[str, Any], catalog: ConfigCatalog) -> str:
    return ModelConfig.from_mapping(data, catalog).config_hash


def test_golden_values_are_stable(catalog: ConfigCatalog) -> None:
    # If this fails, every stored config hash changes: never "fix" it by updating the value.
    assert hash_of(REFERENCE, catalog) == GOLDEN
    inference = {
        "prediction_method": "direct",
        "ensemble_method": "mean",
        "confidence_threshold": 0.5,
        "lookback_window": 100,
    }
    assert InferenceConfig.from_mapping(inference).config_hash == GOLDEN_INFERENCE


def _shuffled(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    return value


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_invariant_to_key_order_and_set_order(seed: int) -> None:
    rnd = random.Random(seed)
    data = _shuffled(REFERENCE, rnd)
    data["indicator_tfs"] = {k: rnd.sample(v, len(v)) for k, v in data["indicator_tfs"].items()}
    assert hash_of(data, CATALOG) == GOLDEN


@settings(max_examples=60, deadline=None)
@given(
    days=st.integers(120, 3650),
    horizon=st.integers(1, 20),
    alpha=st.integers(-1000, 1000),
    float_fields=st.sets(st.sampled_from(["days", "horizon", "alpha", "seed"])),
)
def test_integral_floats_hash_like_ints(
    days: int, horizon: int, alpha: int, float_fields: set[str]
) -> None:
    def make(as_float: set[str]) -> dict[str, Any]:
        def f(name: str, v: int) -> float | int:
            return float(v) if name in as_float else v

        return {
            "model_type": "ridge",
            "symbol": "GOOG",
            "base_timeframe": "1h",
            "days_history": f("days", days),
            "horizon": f("horizon", horizon),
            "model_hyperparams": {"alpha": f("alpha", alpha)},
            "seed": f("seed", 3),
        }

    assert hash_of(make(float_fields), CATALOG) == hash_of(make(set()), CATALOG)


@settings(max_examples=40, deadline=None)
@given(explicit=st.sets(st.sampled_from(sorted(PREPROCESSING_DEFAULTS))), enc=st.booleans())
def test_explicit_defaults_hash_like_omitted(explicit: set[str], enc: bool) -> None:
    data = {k: v for k, v in REFERENCE.items() if k not in ("preprocessing", "encoder")}
    data["preprocessing"] = {k: PREPROCESSING_DEFAULTS[k] for k in explicit}
    full = {
        **data,
        "encoder": "none",
        "encoder_params": {},
        "additional_features": {**data["additional_features"], "vsa_analysis": False},
        "model_hyperparams": {**data["model_hyperparams"], "min_samples_leaf": 20},
        "seed": 7,
    }
    if enc:
        data["encoder"] = "none"
    assert hash_of(data, CATALOG) == hash_of(full, CATALOG)


CHANGES: list[tuple[str, Any]] = [
    ("model_type", "lasso"),
    ("encoder", "none"),
    ("symbol", "GBP/USD"),
    ("base_timeframe", "30m"),
    ("days_history", 181),
    ("horizon", 11),
    ("indicator_tfs", {"rsi": ["1h"], "macd": ["1h"]}),
    ("additional_features", {"returns_volatility": True}),
    ("preprocessing", {"warmup_bars": 65}),
    ("model_hyperparams", {"n_estimators": 50, "max_depth": 5}),
    ("encoder_params", {"n_components": 0.9}),
    ("seed", 8),
]


@pytest.mark.parametrize(("key", "value"), CHANGES)
def test_every_real_change_changes_the_hash(catalog: ConfigCatalog, key: str, value: Any) -> None:
    data = {**REFERENCE, key: value}
    if key == "model_type":
        data.pop("model_hyperparams")
    assert hash_of(data, catalog) != GOLDEN


@settings(max_examples=50, deadline=None)
@given(a=st.floats(0.001, 100.0), b=st.floats(0.001, 100.0))
def test_different_hyperparameters_differ(a: float, b: float) -> None:
    def h(x: float) -> str:
        return hash_of(
            {**REFERENCE, "model_type": "ridge", "model_hyperparams": {"alpha": x}}, CATALOG
        )

    assert (h(a) == h(b)) == (a == b)


def test_unknown_keys_are_refused(catalog: ConfigCatalog) -> None:
    for data in (
        {**REFERENCE, "horizonn": 5},
        {**REFERENCE, "preprocessing": {"warmup": 64}},
        {**REFERENCE, "model_hyperparams": {"n_trees": 5}},
    ):
        with pytest.raises(ConfigError, match="unknown"):
            ModelConfig.from_mapping(data, catalog)


def test_hash_round_trips_through_to_dict(catalog: ConfigCatalog) -> None:
    config = ModelConfig.from_mapping(REFERENCE, catalog)
    again = ModelConfig.from_mapping(config.to_dict(), catalog)
    assert again == config and again.config_hash == config.config_hash
