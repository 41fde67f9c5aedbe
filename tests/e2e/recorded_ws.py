"""A workspace with real recorded runs for the e2e tests of ``runs`` and ``models`` (~10 s).

Two grid files run through the real outer loop (8 inference configs each): ridge and lasso on
EUR/USD and GBP/USD (CSV files of synthetic bars with different seeds; with
``keep_top_n_per_regime: 1`` the two ridge models hold every rank and keep their files, the
lasso files are deleted), and an rf config whose ``n_estimators: 0`` makes training fail (a
failed run with its error). The lasso GBP/USD run is back-dated to 2020-01-15 10:00 UTC for the
date filters. ``run_cli`` runs the CLI in this process (fast); ``cli_helpers.rf`` runs the
installed command in a subprocess.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

INFERENCE = {
    "prediction_method": ["direct", "recursive"],
    "ensemble_method": ["mean", "stacking"],
    "confidence_threshold": [0.0, 0.6],
    "lookback_window": [50],
}
BASE = {
    "encoder": ["none"],
    "base_timeframe": ["1h"],
    "days_history": [150],
    "horizon": [3],
    "indicator_tfs": {"rsi": ["1h"]},
    "additional_features": {"returns_volatility": True},
}
GOOD = {
    "name": "cli-good",
    "data": {"source": "csv", "path": "{symbol}_H1.csv"},
    "grid": {**BASE, "model_type": ["ridge", "lasso"], "symbol": ["EUR/USD", "GBP/USD"],
             "model_hyperparams": {"ridge": {"alpha": 0.37}}},
    "inference_grid": INFERENCE,
}  # fmt: skip
BAD = {
    "name": "cli-bad",
    "data": {"source": "synthetic", "bars": 4000, "seed": 5},
    "grid": {**BASE, "model_type": ["rf"], "symbol": ["USD/JPY"],
             "model_hyperparams": {"rf": {"n_estimators": 0}}},
    "inference_grid": INFERENCE,
}  # fmt: skip
BACKDATED = datetime(2020, 1, 15, 10, 0, tzinfo=UTC)


def build(root: Path) -> dict[str, Any]:
    """Build the workspace under ``root``; returns its path, run uuids by label and queues."""
    import regimeforge as rfx
    from regimeforge.adapters.outer_loop import create_queue_from_grid_file, queue_runner_of
    from regimeforge.domain.synthetic import generate_regime_bars

    ws_path = root / "ws"
    rfx.init_workspace(ws_path, load_entry_points=False).close()
    settings = ws_path / "training_pipeline.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "keep_top_n_per_regime: 3" in text
    settings.write_text(text.replace("keep_top_n_per_regime: 3", "keep_top_n_per_regime: 1"))
    ws = rfx.open_workspace(ws_path, load_entry_points=False)
    for seed, symbol in ((5, "EURUSD"), (11, "GBPUSD")):  # two symbols, different bars
        generate_regime_bars(4000, seed).bars.to_csv(root / f"{symbol}_H1.csv")
    queues = {}
    for grid in (GOOD, BAD):
        path = root / f"{grid['name']}.yaml"
        path.write_text(yaml.safe_dump(grid), encoding="utf-8")
        queue = create_queue_from_grid_file(ws, path)
        runner = queue_runner_of(ws)
        try:
            runner.run(queue.queue_uuid)
        finally:
            runner.executor.shutdown()
        queues[grid["name"]] = queue.queue_uuid
    runs = {}
    for run in rfx.runs(ws, limit=100):
        c = run.config
        label = f"{c.model_type}_{c.symbol[:3].lower()}"
        runs[label] = run.run_uuid
    assert sorted(runs) == ["lasso_eur", "lasso_gbp", "rf_usd", "ridge_eur", "ridge_gbp"]
    set_run_columns(ws.engine, runs["lasso_gbp"], created_at=BACKDATED)
    ws.close()
    return {"path": ws_path, "runs": runs, "queues": queues}


def set_run_columns(engine: Any, run_uuid: str, **values: Any) -> None:
    """Change columns of a run directly (through the column types), to stage a situation."""
    from regimeforge.adapters.storage.rows import RunRow, table

    runs = table(RunRow)
    with engine.begin() as conn:
        conn.execute(sa.update(runs).where(runs.c.run_uuid == run_uuid).values(**values))


def copy_of(recorded: dict[str, Any], target: Path) -> Path:
    """A copy of the workspace folder (for tests that change it)."""
    destination = target / "ws"
    shutil.copytree(recorded["path"], destination)
    return destination


def run_cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    """``regimeforge ARGS`` in this process: (exit status, stdout, stderr)."""
    from regimeforge.adapters.cli import app as cli

    capsys.readouterr()
    code = cli.run([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
