"""The inference grid: 135 by default, scalars accepted, every bad value reported with its path."""

from __future__ import annotations

import pytest

from regimeforge.domain.errors import ConfigError
from regimeforge.domain.inference_grid import DEFAULT_INFERENCE_GRID, expand_inference_grid


def test_default_grid_is_135_distinct_configs() -> None:
    configs = expand_inference_grid()
    assert len(configs) == 3 * 3 * 5 * 3 == 135
    assert len({c.config_hash for c in configs}) == 135
    assert configs[0].prediction_method == "direct" and configs[0].confidence_threshold == 0.0
    assert expand_inference_grid(dict(DEFAULT_INFERENCE_GRID)) == configs


def test_scalars_and_missing_keys() -> None:
    configs = expand_inference_grid({"prediction_method": "direct", "lookback_window": 100})
    assert len(configs) == 1 * 3 * 5 * 1
    assert {c.lookback_window for c in configs} == {100}


def test_params_lists_expand() -> None:
    configs = expand_inference_grid(
        {
            "prediction_method": "direct",
            "ensemble_method": "mean",
            "confidence_threshold": 0.5,
            "lookback_window": 50,
            "params": {"n_samples": [16, 32]},
        }
    )
    assert [c.params["n_samples"] for c in configs] == [16, 32]


def test_every_bad_value_is_reported_with_its_index() -> None:
    with pytest.raises(ConfigError) as info:
        expand_inference_grid(
            {
                "prediction_method": ["direct", "magic"],
                "confidence_threshold": [0.5, 1.5, -0.1],
                "lookback_window": [10],
                "colour": "red",
            }
        )
    assert {p.path for p in info.value.problems} == {
        "inference_grid.prediction_method[1]",
        "inference_grid.confidence_threshold[1]",
        "inference_grid.confidence_threshold[2]",
        "inference_grid.lookback_window[0]",
        "inference_grid.colour",
    }


def test_duplicates_and_empty_lists_are_refused() -> None:
    with pytest.raises(ConfigError, match="twice"):
        expand_inference_grid({"confidence_threshold": [1, 1.0]})
    with pytest.raises(ConfigError, match="empty"):
        expand_inference_grid({"lookback_window": []})
