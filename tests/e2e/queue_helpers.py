"""Helpers for the queue e2e tests: background ``regimeforge`` processes and the workspace's
SQLite database read directly (as a script that only knows the contracts would)."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli_helpers import EXE, REPO, clean_env, rf

TINY_GRID = """\
name: {name}
data: {{source: synthetic, bars: 2000, seed: 3}}
grid:
  model_type: [ridge]
  encoder: [none]
  symbol: [EUR/USD]
  base_timeframe: [1h]
  days_history: [60]
  horizon: {horizons}
  model_hyperparams: {{ridge: {{alpha: {alphas}}}}}
"""


def write_grid(
    folder: Path, name: str, horizons: list[int], alphas: list[float] | None = None
) -> Path:
    """A tiny ridge grid on synthetic bars: len(horizons) × len(alphas) configurations."""
    path = folder / f"{name}.yaml"
    text = TINY_GRID.format(name=name, horizons=horizons, alphas=alphas or [1.0])
    path.write_text(text, encoding="utf-8")
    return path


def init(folder: Path) -> Path:
    """``regimeforge init folder``; returns it."""
    result = rf("init", folder)
    assert result.returncode == 0, result.stderr
    return folder


def start(*args: str | Path, new_session: bool = False) -> subprocess.Popen[str]:
    """``regimeforge ARGS`` in the background (its own process group with ``new_session``)."""
    return subprocess.Popen(
        [str(EXE), *map(str, args)],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def sql(ws: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the workspace's database (a new connection each time)."""
    db = sqlite3.connect(ws / "regimeforge.db", timeout=30)
    try:
        return db.execute(query, params).fetchall()
    except sqlite3.OperationalError:  # no tables yet (the run has not migrated/started)
        return []
    finally:
        db.close()


def one(ws: Path, query: str, *params: Any) -> Any:
    """The single value of a query (None when there is no row)."""
    rows = sql(ws, query, *params)
    return rows[0][0] if rows else None


def completed(ws: Path) -> int:
    """How many runs are completed."""
    return int(one(ws, "select count(*) from training_runs where status = 'completed'") or 0)


def wait_until(
    condition: Callable[[], bool], proc: subprocess.Popen[str], limit: float = 240.0
) -> bool:
    """Poll ``condition`` until it holds, the process ends, or ``limit`` seconds pass."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.05)
    return False


def queue_uuid(ws: Path) -> str:
    """The uuid of the newest queue."""
    return str(one(ws, "select queue_uuid from training_queue order by id desc limit 1"))


def completed_hashes(ws: Path) -> list[str]:
    """Config hashes of the completed runs, sorted."""
    rows = sql(ws, "select config_hash from training_runs where status = 'completed' order by 1")
    return [r[0] for r in rows]


def backtests_per_run(ws: Path) -> dict[str, tuple[str, int]]:
    """run uuid -> (status, number of backtests), for every run."""
    rows = sql(
        ws,
        "select r.run_uuid, r.status, count(b.id) from training_runs r "
        "left join inference_backtests b on b.training_run_id = r.id group by r.id",
    )
    return {uuid: (status, n) for uuid, status, n in rows}


def model_files(ws: Path) -> set[str]:
    """Every file under the artifacts folder, relative to it."""
    root = ws / "artifacts"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def kept_files(ws: Path) -> set[str]:
    """The model files the database says are kept."""
    rows = sql(ws, "select model_file_path from training_runs where is_model_kept = 1")
    return {r[0] for r in rows}


def assert_consistent(ws: Path, backtests: int = 135) -> None:
    """No run left running, every completed run fully recorded (and nothing else has
    backtests), no config completed twice, no model file that no kept run names."""
    per_run = backtests_per_run(ws)
    assert not [u for u, (status, _) in per_run.items() if status == "running"]
    for uuid, (status, n) in per_run.items():
        assert n == (backtests if status == "completed" else 0), (uuid, status, n)
    hashes = completed_hashes(ws)
    assert len(hashes) == len(set(hashes))
    assert not sql(ws, "select 1 from training_queue_items where status = 'running'")
    assert model_files(ws) == kept_files(ws)
