"""Grid files (DESIGN §14): parsing a loaded mapping, paths, {symbol}, every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from regimeforge.domain.catalog import ConfigCatalog
from regimeforge.domain.errors import ConfigError
from regimeforge.domain.gridfile import parse_grid_file
from regimeforge.domain.inference_grid import DEFAULT_INFERENCE_GRID

FILE: dict[str, Any] = {
    "name": "eurusd-small",
    "data": {"source": "csv", "path": "data/{symbol}_H1.csv"},
    "grid": {
        "model_type": ["ridge", "rf"],
        "encoder": ["none", "pca"],
        "symbol": ["EUR/USD"],
        "base_timeframe": ["1h", "4h"],
        "days_history": [120],
        "horizon": [5, 10],
        "indicator_tfs": {"rsi": ["4h"], "macd": ["4h"]},
        "additional_features": {"returns_volatility": True, "trading_sessions": True},
        "preprocessing": {"warmup_bars": 64},
        "model_hyperparams": {"ridge": {"alpha": [0.1, 1.0]}},
    },
    "inference_grid": {
        "prediction_method": ["direct", "recursive", "direct_multi"],
        "ensemble_method": ["mean", "weighted", "stacking"],
        "confidence_threshold": [0.0, 0.3, 0.5, 0.7, 0.9],
        "lookback_window": [50, 100, 200],
    },
}


def test_the_contract_example_parses(catalog: ConfigCatalog) -> None:
    gf = parse_grid_file(FILE, "/grids", catalog)
    assert gf.name == "eurusd-small"
    assert len(gf.grid) == 3 * 2 * 2 * 2
    assert gf.inference_grid is not None and len(gf.inference_grid) == 135
    assert gf.data["source"] == "csv" and gf.data_spec is gf.data
    assert gf.data["path"] == "/grids/data/{symbol}_H1.csv"
    assert gf.data_path_for("EUR/USD") == "/grids/data/EURUSD_H1.csv"


def test_paths_are_relative_to_the_grid_folder(catalog: ConfigCatalog, tmp_path: Path) -> None:
    data = {**FILE, "data": {"source": "csv", "path": "../shared/{symbol}.csv"}}
    gf = parse_grid_file(data, tmp_path / "grids", catalog)
    assert gf.data_path_for("GOOG") == (tmp_path / "shared" / "GOOG.csv").as_posix()
    absolute = {**FILE, "data": {"source": "csv", "path": "/data/x.csv"}}
    assert parse_grid_file(absolute, tmp_path, catalog).data_path_for("GOOG") == "/data/x.csv"


def test_synthetic_data_needs_no_path(catalog: ConfigCatalog) -> None:
    gf = parse_grid_file(
        {**FILE, "data": {"source": "synthetic", "bars": 5000, "seed": 1}}, ".", catalog
    )
    assert gf.data_path_for("EUR/USD") is None and gf.data["bars"] == 5000


def test_defaults_supply_the_inference_grid_split_and_seed(catalog: ConfigCatalog) -> None:
    without = {k: v for k, v in FILE.items() if k != "inference_grid"}
    assert parse_grid_file(without, ".", catalog).inference_grid is None
    defaults = {**DEFAULT_INFERENCE_GRID, "seed": 4, "split": {"train": 0.5, "validation": 0.3}}
    gf = parse_grid_file(without, ".", catalog, defaults=defaults)
    assert gf.inference_grid is not None and len(gf.inference_grid) == 135
    assert gf.grid[0].seed == 4 and gf.grid[0].preprocessing["validation_fraction"] == 0.3
    own = parse_grid_file(FILE, ".", catalog, defaults={"lookback_window": [20]})
    assert own.inference_grid is not None and len(own.inference_grid) == 135


def test_every_problem_of_the_file_at_once(catalog: ConfigCatalog) -> None:
    bad = {
        "name": "",
        "gird": {},
        "data": {"source": "csv"},
        "grid": {**FILE["grid"], "horizon": [5, 600], "model_type": ["ridge", "svm"]},
        "inference_grid": {"lookback_window": [10]},
    }
    with pytest.raises(ConfigError) as info:
        parse_grid_file(bad, ".", catalog)
    assert {p.path for p in info.value.problems} == {
        "name",
        "gird",
        "data.path",
        "grid.horizon[1]",
        "grid.model_type[1]",
        "inference_grid.lookback_window[0]",
    }


def test_not_a_mapping(catalog: ConfigCatalog) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_grid_file([1, 2], ".", catalog)
