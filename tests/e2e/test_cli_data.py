"""``regimeforge data synth`` and ``data check``, run as a user would."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from cli_helpers import assert_bad_input, rf, tree

from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.synthetic import generate_regime_bars


def test_synth_writes_bars_with_true_regimes_as_csv_and_parquet(tmp_path: Path) -> None:
    out = tmp_path / "bars.csv"
    result = rf("data", "synth", "--bars", "3000", "--seed", "5", "--out", out)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out, index_col=0)
    expected = generate_regime_bars(3000, 5)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "regime"]
    assert (frame["regime"].to_numpy() == expected.labels).all()
    assert set(frame["regime"]) <= set(DEFAULT_REGIMES)
    assert "bull_trending" in result.stdout and "%" in result.stdout
    pq = tmp_path / "sub" / "bars.parquet"
    result = rf("data", "synth", "--bars", "500", "--seed", "5", "--out", pq, "--timeframe", "4h")
    assert result.returncode == 0, result.stderr
    loaded = pd.read_parquet(pq)
    assert len(loaded) == 500 and (loaded.index[1] - loaded.index[0]) == pd.Timedelta("4h")


def test_check_summarises_a_good_file(shared_data: Path) -> None:
    result = rf("data", "check", shared_data / "EURUSD_H1.csv")
    assert result.returncode == 0, result.stderr
    assert "5,000" in result.stdout and "1h (inferred)" in result.stdout
    assert "2017-04-19 09:00:00+00:00" in result.stdout


def test_check_refuses_bad_data_with_every_problem(tmp_path: Path) -> None:
    frame = generate_regime_bars(50, 1).bars
    frame.iloc[5, 1] = frame.iloc[5, 2] / 2  # high < low
    frame = pd.concat([frame, frame.iloc[[3]]])  # unsorted and duplicate
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad)
    result = rf("data", "check", bad)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "3 problems" in result.stderr
    for words in ("high < low", "not sorted", "duplicate timestamps", "fix:"):
        assert words in result.stderr


def test_bad_arguments_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    line = assert_bad_input(rf("data", "synth", "--bars", "10", "--out", tmp_path / "x.txt"))
    assert "use a .csv or .parquet file" in line
    line = assert_bad_input(
        rf("data", "synth", "--bars", "10", "--out", tmp_path / "x.csv", "--timeframe", "2h")
    )
    assert "data.timeframe" in line or "timeframe" in line
    assert_bad_input(rf("data", "synth", "--bars", "0", "--out", tmp_path / "x.csv"))
    assert_bad_input(rf("data", "check", tmp_path / "missing.csv"))
    assert tree(tmp_path) == set()
