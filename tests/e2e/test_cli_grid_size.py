"""``regimeforge grid size``: the grid-file and exit-status contracts of DESIGN §14."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import REPO, assert_bad_input, rf, tree

PLAN_GRID = """\
name: plan-sized
data: {source: synthetic, bars: 5000, seed: 1}
grid:
  model_type: [ridge, lasso, elasticnet, rf, lightning, diffusion-ddpm, diffusion-ddim, sssd]
  encoder: [none, pca, autoencoder, vae, latents]
  symbol: [EUR/USD, GBP/USD, AUD/USD, GBP/NZD, AUD/JPY, GBP/EUR, GBP/AUD]
  base_timeframe: [1m, 5m, 15m, 30m, 1h, 4h, 1d]
  days_history: [365, 730, 1095, 1460, 1825]
  horizon: [1, 2, 3, 4, 5]
"""


def test_example_grid_is_counted_with_breakdown_and_estimate(tmp_path: Path) -> None:
    result = rf("grid", "size", REPO / "configs" / "grids" / "example.yaml", "-w", tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "12 configurations" in out
    assert "135 configurations per model" in out and "1,620 backtests" in out
    for parameter in ("model_type", "encoder", "horizon"):
        assert parameter in out
    assert "estimate" in out.lower()
    assert tree(tmp_path) == set()  # counting writes nothing


@pytest.mark.slow
def test_the_plan_sized_grid_counts_49000(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the plan's grid names the neural types (torch extra)")
    grid = tmp_path / "big.yaml"
    grid.write_text(PLAN_GRID)
    result = rf("grid", "size", grid, "--workspace", tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"49[,_ ]?000 configurations", result.stdout)
    assert tree(tmp_path) == {"big.yaml"}


def test_malformed_yaml_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    grid = tmp_path / "bad.yaml"
    grid.write_text("grid:\n  model_type: [ridge\n  horizon: 5\n")
    result = rf("grid", "size", grid, "--workspace", tmp_path)
    line = assert_bad_input(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "bad.yaml" in line and "line 3" in line and "malformed YAML" in line
    assert result.stdout == ""
    assert tree(tmp_path) == {"bad.yaml"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]\n", "must be a mapping"),
        ("name: x\ngird: {model_type: [ridge]}\n", "gird"),
    ],
)
def test_invalid_grid_file_exits_2(tmp_path: Path, text: str, expected: str) -> None:
    grid = tmp_path / "g.yaml"
    grid.write_text(text)
    result = rf("grid", "size", grid, "--workspace", tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    assert tree(tmp_path) == {"g.yaml"}


def test_missing_grid_file_exits_2(tmp_path: Path) -> None:
    line = assert_bad_input(rf("grid", "size", tmp_path / "nope.yaml", "-w", tmp_path))
    assert "nope.yaml" in line


def test_invalid_points_are_listed_with_reasons_and_counted(tmp_path: Path) -> None:
    grid = tmp_path / "g.yaml"
    grid.write_text(
        "name: some-invalid\n"
        "data: {source: synthetic, bars: 3000, seed: 1}\n"
        "grid:\n"
        "  model_type: [ridge]\n"
        "  symbol: [EUR/USD]\n"
        "  base_timeframe: [1d, 1h]\n"
        "  days_history: [30]\n"
        "  horizon: [5, 10]\n"
    )
    result = rf("grid", "size", grid, "--workspace", tmp_path)
    assert "4 configurations" in result.stdout
    assert re.search(r"2 of 4 configurations are invalid", result.stdout), result.stdout
    assert "horizon" in result.stdout
