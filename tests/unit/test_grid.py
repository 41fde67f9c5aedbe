"""GridSpec: lazy length, random access, per-axis validation, invalid points reported."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.errors import ConfigError
from regimeforge.domain.grid import GridSpec

CATALOG = ConfigCatalog(
    model_types={
        "ridge": {"alpha": 1.0},
        "lasso": {"alpha": 0.001},
        "rf": {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 20},
    },
    encoders={"none": {}, "pca": {"n_components": 0.95}},
    indicators=BUILTIN_INDICATORS,
)
EXAMPLE: dict[str, Any] = {
    "model_type": ["ridge", "rf"],
    "encoder": ["none", "pca"],
    "symbol": ["EUR/USD"],
    "base_timeframe": ["1h", "4h"],
    "days_history": [120],
    "horizon": [5, 10],
    "indicator_tfs": {"rsi": ["4h", "1d"], "macd": ["4h"]},
    "additional_features": {"returns_volatility": True, "trading_sessions": True},
    "preprocessing": {"warmup_bars": 64},
    "model_hyperparams": {"ridge": {"alpha": [0.1, 1.0]}},
}


def problem_paths(grid: dict[str, Any]) -> set[str]:
    with pytest.raises(ConfigError) as info:
        GridSpec.from_mapping(grid, CATALOG)
    return {p.path for p in info.value.problems}


def test_hyperparameter_lists_expand_only_their_model_type() -> None:
    grid = GridSpec.from_mapping(EXAMPLE, CATALOG)
    # (2 ridge alphas + 1 rf) x 2 encoders x 2 timeframes x 2 horizons
    assert len(grid) == 3 * 2 * 2 * 2
    types = [p.config.model_type for p in grid if p.config is not None]
    assert types.count("ridge") == 16 and types.count("rf") == 8
    assert {
        p.config.model_hyperparams["alpha"]
        for p in grid
        if p.config and p.config.model_type == "ridge"
    } == {0.1, 1.0}


def test_random_access_equals_iteration_and_fast_hash_equals_slow() -> None:
    grid = GridSpec.from_mapping(EXAMPLE, CATALOG)
    points = list(grid.points())
    assert [p.index for p in points] == list(range(len(grid)))
    for point in points:
        assert point.config is not None and point.config_hash is not None
        assert grid.point(point.index) == point
        assert grid[point.index] == point.config
        slow = ModelConfig.from_mapping(point.config.to_dict(), CATALOG)
        assert slow == point.config
        assert slow.config_hash == point.config_hash == point.config.config_hash
    assert grid[-1] == points[-1].config
    with pytest.raises(IndexError):
        grid.point(len(grid))


def test_invalid_points_are_reported_not_dropped() -> None:
    grid = GridSpec.from_mapping(
        {
            **EXAMPLE,
            "base_timeframe": ["1h", "1d"],
            "days_history": 100,
            "indicator_tfs": {"rsi": ["1h"]},
        },
        CATALOG,
    )
    assert len(grid) == 24
    report = grid.validate(limit=3)
    # every 1d point: rsi on 1h is finer, and 100 days of 1d bars are too few
    assert report.invalid == 12 and len(report.examples) == 3
    example = report.examples[0]
    assert example.config is None
    assert {p.path for p in example.problems} == {"indicator_tfs.rsi", "horizon"}
    with pytest.raises(ConfigError, match="12 of 24"):
        report.raise_if_invalid()
    with pytest.raises(ConfigError):
        grid[example.index]


def test_every_axis_problem_reported_with_its_index() -> None:
    paths = problem_paths(
        {
            **EXAMPLE,
            "model_type": ["ridge", "xgb"],
            "base_timeframe": ["1h", "2h"],
            "horizon": [5, 0, 5.0],
            "days_history": [4000],
            "model_hyperparams": {"ridge": {"alpha": [0.1, "x"]}, "lasso": {"alpha": 1}},
        }
    )
    assert paths == {
        "grid.model_type[1]",
        "grid.base_timeframe[1]",
        "grid.horizon[1]",
        "grid.horizon[2]",  # duplicate of [0] once normalised
        "grid.days_history[0]",
        "grid.model_hyperparams.ridge.alpha[1]",
        "grid.model_hyperparams.lasso",  # not a model type of this grid
    }


def test_unknown_and_missing_keys() -> None:
    grid = {k: v for k, v in EXAMPLE.items() if k != "horizon"}
    assert problem_paths({**grid, "horizn": [5]}) == {"grid.horizn", "grid.horizon"}


def test_scalars_lists_of_mappings_and_preprocessing_lists_expand() -> None:
    grid = GridSpec.from_mapping(
        {
            "model_type": "ridge",
            "symbol": "GOOG",
            "base_timeframe": "1d",
            "days_history": 2000,
            "horizon": 5,
            "indicator_tfs": [{"rsi": ["1d"]}, {"macd": ["1d"]}],
            "preprocessing": {"warmup_bars": [32, 64], "scaling": "robust"},
            "seed": [1, 2],
        },
        CATALOG,
    )
    assert len(grid) == 2 * 2 * 2
    assert len({p.config_hash for p in grid}) == 8
    assert grid.breakdown()["preprocessing"] == [
        {"scaling": "robust", "warmup_bars": 32},
        {"scaling": "robust", "warmup_bars": 64},
    ]


def test_defaults_fill_split_and_seed_only_where_absent() -> None:
    defaults = {"train_fraction": 0.5, "validation_fraction": 0.25, "seed": 9}
    grid = GridSpec.from_mapping(EXAMPLE, CATALOG, defaults=defaults)
    config = grid[0]
    assert config.seed == 9 and config.preprocessing["train_fraction"] == 0.5
    assert grid.source["preprocessing"]["validation_fraction"] == 0.25
    own = GridSpec.from_mapping({**EXAMPLE, "seed": 3}, CATALOG, defaults=defaults)
    assert own[0].seed == 3


def test_split_that_leaves_no_test_segment_makes_points_invalid() -> None:
    grid = GridSpec.from_mapping(
        {**EXAMPLE, "preprocessing": {"train_fraction": [0.6, 0.9]}}, CATALOG
    )
    report = grid.validate()
    assert report.invalid == len(grid) // 2
    assert report.examples[0].problems[0].path == "preprocessing.train_fraction"


PLAN = {
    "model_type": ["ridge", "lasso", "rf", "a", "b", "c", "d", "e"],
    "encoder": ["none", "pca", "x", "y", "z"],
    "symbol": [f"S{i}" for i in range(7)],
    "base_timeframe": ["1m", "5m", "15m", "30m", "1h", "4h", "1d"],
    "days_history": [365, 730, 1095, 1460, 1825],
    "horizon": [1, 2, 3, 4, 5],
}


def test_plan_sized_grid_is_counted_without_expanding() -> None:
    catalog = ConfigCatalog(
        model_types={name: {} for name in PLAN["model_type"]},
        encoders={name: {} for name in PLAN["encoder"]},
        indicators=BUILTIN_INDICATORS,
    )
    started = time.perf_counter()
    grid = GridSpec.from_mapping(PLAN, catalog)
    assert len(grid) == 8 * 5 * 7 * 7 * 5 * 5 == 49_000
    assert grid[48_999].horizon == 5 and grid[48_999].model_type == "e"
    assert time.perf_counter() - started < 5  # generous: counting must not expand the grid


@settings(max_examples=30, deadline=None)
@given(
    types=st.lists(st.sampled_from(["ridge", "lasso", "rf"]), min_size=1, max_size=3, unique=True),
    alphas=st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True),
    horizons=st.lists(st.integers(1, 30), min_size=1, max_size=4, unique=True),
    timeframes=st.lists(st.sampled_from(["15m", "1h", "4h"]), min_size=1, max_size=3, unique=True),
    seeds=st.lists(st.integers(0, 9), min_size=1, max_size=2, unique=True),
)
def test_length_is_the_product_and_points_are_distinct(
    types: list[str],
    alphas: list[int],
    horizons: list[int],
    timeframes: list[str],
    seeds: list[int],
) -> None:
    mapping = {
        "model_type": types,
        "symbol": ["EUR/USD"],
        "base_timeframe": timeframes,
        "days_history": [365],
        "horizon": horizons,
        "seed": seeds,
        "model_hyperparams": {"ridge": {"alpha": alphas}} if "ridge" in types else {},
    }
    grid = GridSpec.from_mapping(mapping, CATALOG)
    model_variants = sum(len(alphas) if t == "ridge" else 1 for t in types)
    expected = model_variants * len(timeframes) * len(horizons) * len(seeds)
    assert (
        len(grid)
        == expected
        == math.prod([model_variants, len(timeframes), len(horizons), len(seeds)])
    )
    hashes = [p.config_hash for p in grid]
    assert len(hashes) == expected and None not in hashes
    assert len(set(hashes)) == expected
    index = expected // 2
    assert grid.point(index).config_hash == hashes[index]
