"""Storage: what fraction of the trained models keeps its file (the plan expected 5-15%).

Run: ``.venv/bin/python benchmarks/bench_kept.py [--grid configs/grids/demo.yaml]``.

The demo grid (synthetic regime-switching bars, ridge/lasso/rf x 135 inference configs) runs end
to end in a temporary workspace (``bootstrap.init_workspace``) through the same wiring as
``regimeforge run`` (``create_queue_from_grid_file`` + ``queue_runner_of``, default settings:
top 3 per regime, files of models outside every top-N deleted). Counted afterwards from the
database and the artifacts folder: completed runs, runs whose file is kept, bytes written and
kept. A model is kept only while it holds a rank, so at most ``regimes x top-N`` files remain
whatever the grid's size: the fraction falls as grids grow. Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from regimeforge.adapters.outer_loop import create_queue_from_grid_file, queue_runner_of
from regimeforge.bootstrap import init_workspace
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.states import RunStatus

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=ROOT / "configs" / "grids" / "demo.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws", load_entry_points=False)
        try:
            queue = create_queue_from_grid_file(ws, args.grid)
            runner = queue_runner_of(ws)
            start = time.perf_counter()
            try:
                outcome = runner.run(queue.queue_uuid)
            finally:
                runner.executor.shutdown()
            seconds = time.perf_counter() - start
            with ws.uow() as uow:
                completed = uow.runs.count(RunFilter(status=RunStatus.COMPLETED))
                kept_runs = uow.runs.list(RunFilter(kept=True), limit=10_000)
                regimes = len(uow.regimes.list(active_only=True))
            files = [p for p in Path(ws.settings.artifacts_dir).rglob("*") if p.is_file()]
            kept_bytes = sum(p.stat().st_size for p in files)
            top_n = ws.settings.keep_top_n_per_regime
        finally:
            ws.close()
    written = kept_bytes + outcome.freed_bytes
    kept = len(kept_runs)
    figures: dict[str, Any] = {
        "benchmark": "models_kept",
        "grid": str(args.grid.relative_to(ROOT) if args.grid.is_relative_to(ROOT) else args.grid),
        "configs": queue.total_configs,
        "completed_runs": completed,
        "kept_runs": kept,
        "kept_fraction": kept / completed if completed else 0.0,
        "slots": regimes * top_n,
        "files_left": len(files),
        "bytes_written": written,
        "bytes_kept": kept_bytes,
        "seconds": round(seconds, 1),
    }
    print(f"grid {figures['grid']}: {queue.total_configs} configs, {completed} completed in "
          f"{seconds:.0f} s ({outcome.status.value})")  # fmt: skip
    print(f"models kept: {kept} of {completed} = {100 * figures['kept_fraction']:.0f}% "
          f"(at most {regimes} regimes x top {top_n} = {regimes * top_n} files, whatever the "
          "grid's size)")  # fmt: skip
    freed = outcome.freed_bytes / 2**20
    print(f"model files: {len(files)} left, {kept_bytes / 2**20:.2f} MB kept of "
          f"{written / 2**20:.2f} MB written ({freed:.2f} MB freed)")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
