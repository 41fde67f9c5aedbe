"""``regimeforge demo``: the packaged demo grids, and the small demo end to end (as CI runs it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import REPO, assert_bad_input, rf, tree
from queue_helpers import assert_consistent, completed, one, sql

PACKAGED = REPO / "src" / "regimeforge" / "resources" / "grids"


@pytest.mark.parametrize("name", ["demo.yaml", "demo-small.yaml"])
def test_packaged_demo_grids_are_the_configs_ones(name: str) -> None:
    assert (PACKAGED / name).read_bytes() == (REPO / "configs" / "grids" / name).read_bytes()


def test_the_demo_grid_is_twelve_valid_configurations(tmp_path: Path) -> None:
    result = rf("grid", "size", REPO / "configs" / "grids" / "demo.yaml", "-w", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "12 configurations" in result.stdout and "All configurations are valid" in result.stdout
    assert "1,620 backtests" in result.stdout


@pytest.mark.slow
def test_small_demo_end_to_end(tmp_path: Path) -> None:
    result = rf("demo", "--size", "small", cwd=tmp_path)  # default folder: ./regimeforge-demo
    assert result.returncode == 0, result.stderr
    ws = tmp_path / "regimeforge-demo"
    out = result.stdout
    assert f"Created a demo workspace in {ws}" in out
    assert "Queue demo-small completed: 4 of 4 done (4 completed, 0 failed, 0 skipped)" in out
    assert "model 1 of 4" in out and "135 inference backtests" in out
    # the regime-best table, then the storage figures, at the end
    bests = out.index("Regime bests (sharpe)")
    storage = out.index("Storage")
    assert bests < storage
    header = out[bests:storage]
    for column in ("regime", "rank", "model", "score", "improvement"):
        assert column in header
    ranked = int(one(ws, "select count(*) from regime_best_models"))
    assert ranked >= 1
    regimes = {r for (r,) in sql(ws, "select distinct regime_name from regime_best_models")}
    assert all(regime in header for regime in regimes)
    kept = int(one(ws, "select count(*) from training_runs where is_model_kept = 1"))
    assert re.search(rf"models kept / trained\s*│?\s*{kept} / 4", out[storage:])
    assert "bytes kept" in out[storage:] and "bytes freed" in out[storage:]
    assert completed(ws) == 4
    assert one(ws, "select count(*) from inference_backtests") == 4 * 135
    assert (ws / "demo-small.yaml").read_text() == (PACKAGED / "demo-small.yaml").read_text()
    assert_consistent(ws)

    again = rf("demo", "--size", "small", "--workspace", ws)
    assert again.returncode == 0, again.stderr
    assert "(0 completed, 0 failed, 4 skipped)" in again.stdout
    assert completed(ws) == 4


def test_demo_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    line = assert_bad_input(rf("demo", "--size", "small", "-w", folder))
    assert "is not empty and not a RegimeForge workspace" in line
    assert tree(tmp_path) == {"mine", "mine/notes.txt"}
