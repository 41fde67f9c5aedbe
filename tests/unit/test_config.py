"""ModelConfig / InferenceConfig validation: every problem at once, each with its path and a fix."""

from __future__ import annotations

from typing import Any

import pytest

from regimeforge.domain.catalog import ConfigCatalog
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.errors import ConfigError

VALID: dict[str, Any] = {
    "model_type": "ridge",
    "symbol": "EUR/USD",
    "base_timeframe": "1h",
    "days_history": 120,
    "horizon": 5,
}


def problems_of(data: dict[str, Any], catalog: ConfigCatalog) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_mapping(data, catalog)
    for p in info.value.problems:
        assert p.fix, f"{p.path} has no fix"
    return {p.path: p.message for p in info.value.problems}


def test_valid_config_gets_every_default(catalog: ConfigCatalog) -> None:
    config = ModelConfig.from_mapping(VALID, catalog)
    assert config.encoder == "none"
    assert dict(config.model_hyperparams) == {"alpha": 1.0}
    assert config.preprocessing["warmup_bars"] == 64
    assert not any(config.additional_features.values())
    assert config.seed == 0 and config.symbol_slug == "EURUSD"


def test_every_problem_is_reported_at_once(catalog: ConfigCatalog) -> None:
    bad = {
        "model_type": "xgboost",
        "symbol": "EUR/USD",
        "base_timeframe": "2h",
        "days_history": 5000,
        "horizon": 0,
        "colour": "red",
        "preprocessing": {"min_coverage": 1.5},
        "indicator_tfs": {"rsi": ["1h", "7m"], "nope": ["1h"]},
    }
    found = problems_of(bad, catalog)
    assert set(found) >= {
        "model_type",
        "base_timeframe",
        "days_history",
        "horizon",
        "colour",
        "preprocessing.min_coverage",
        "indicator_tfs.rsi",
        "indicator_tfs.nope",
    }
    assert "3650" in found["days_history"] and "7m" in found["indicator_tfs.rsi"]


def test_horizon_longer_than_history_holds(catalog: ConfigCatalog) -> None:
    found = problems_of({**VALID, "base_timeframe": "1d", "days_history": 30}, catalog)
    assert "30 days of 1d bars hold at most 30 bars" in found["horizon"]
    ModelConfig.from_mapping({**VALID, "base_timeframe": "1d", "days_history": 365}, catalog)


def test_indicator_finer_than_base_and_split_fractions(catalog: ConfigCatalog) -> None:
    found = problems_of(
        {
            **VALID,
            "base_timeframe": "4h",
            "days_history": 400,
            "indicator_tfs": {"rsi": ["1h"]},
            "preprocessing": {"train_fraction": 0.9, "validation_fraction": 0.2},
        },
        catalog,
    )
    assert "finer than base_timeframe 4h" in found["indicator_tfs.rsi"]
    assert "must be > 0 each and < 1" in found["preprocessing.train_fraction"]


def test_hyperparameters_are_checked_by_name_and_kind(catalog: ConfigCatalog) -> None:
    found = problems_of({**VALID, "model_hyperparams": {"alpha": "big", "beta": 1}}, catalog)
    assert "is not a number" in found["model_hyperparams.alpha"]
    assert found["model_hyperparams.beta"] == "unknown parameter"
    config = ModelConfig.from_mapping({**VALID, "model_hyperparams": {"alpha": 2}}, catalog)
    assert config.model_hyperparams["alpha"] == 2


def test_bools_are_not_numbers(catalog: ConfigCatalog) -> None:
    found = problems_of({**VALID, "horizon": True, "seed": -1}, catalog)
    assert {"horizon", "seed"} <= set(found)


def test_inference_config_reports_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        InferenceConfig.from_mapping(
            {
                "prediction_method": "magic",
                "ensemble_method": "median",
                "confidence_threshold": 1.5,
                "lookback_window": 10,
                "extra": 1,
            }
        )
    paths = {p.path for p in info.value.problems}
    assert paths == {
        "prediction_method",
        "ensemble_method",
        "confidence_threshold",
        "lookback_window",
        "extra",
    }


def test_inference_config_round_trip() -> None:
    data = {
        "prediction_method": "direct",
        "ensemble_method": "mean",
        "confidence_threshold": 1,
        "lookback_window": 50,
    }
    config = InferenceConfig.from_mapping(data)
    assert config.confidence_threshold == 1.0
    assert InferenceConfig.from_mapping(config.to_dict()) == config
