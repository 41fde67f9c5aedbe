"""``regimeforge regimes``: detect on a CSV; invalid rules refused before any write."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from cli_helpers import assert_bad_input, rf

from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.synthetic import generate_regime_bars


def test_detect_writes_one_label_per_bar_and_prints_shares(tmp_path: Path) -> None:
    data = tmp_path / "bars.csv"
    generate_regime_bars(3000, 2).bars.to_csv(data)
    out = tmp_path / "out" / "labels.csv"
    result = rf("regimes", "detect", "--data", data, "--out", out, "--workspace", tmp_path)
    assert result.returncode == 0, result.stderr
    labels = pd.read_csv(out, keep_default_na=False)
    assert len(labels) == 3000 and list(labels.columns) == ["time", "regime"]
    assert set(labels["regime"][519:]) <= set(DEFAULT_REGIMES)
    assert "bull_trending" in result.stdout and "%" in result.stdout


def test_unknown_detector_and_missing_file_are_bad_input(tmp_path: Path) -> None:
    line = assert_bad_input(
        rf(
            "regimes",
            "detect",
            "--data",
            tmp_path / "nope.csv",
            "--out",
            tmp_path / "l.csv",
            "--detector",
            "nope",
            "--workspace",
            tmp_path,
        )
    )
    assert "nope" in line


def test_invalid_rule_is_refused_with_its_position_and_nothing_is_written(tmp_path: Path) -> None:
    result = rf("regimes", "add", "foo", "--rule", "trend_strength=> 0.7x", "--workspace", tmp_path)
    line = assert_bad_input(result)
    assert "foo.trend_strength" in line and "character 6" in line
    assert list(tmp_path.iterdir()) == []
