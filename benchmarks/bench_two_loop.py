"""The two-loop speed-up: one training + 135 inference backtests vs 135 trainings + backtests.

Run: ``.venv/bin/python benchmarks/bench_two_loop.py [--naive-sample 10] [--types ridge rf]``.

On the real EUR/USD H1 file (read in place from /work/shared/data/, never copied), through the
real pipeline: a temporary workspace (``bootstrap.init_workspace``), a grid file with one config
per model type, its queue (``create_queue_from_grid_file``), and the worker task the coordinator
would run (``GridTaskFactory.spec`` + ``adapters.worker.run_task``: load the window, fingerprint,
features, fit, regimes, forecasts, the inner loop, the model file).

- **two loops**: one task with all 135 inference configs (what RegimeForge does);
- **naive**: one task per inference config, each training its own model and backtesting that
  one config (135 trainings). Timed on ``--naive-sample`` of the 135 configs (spread over the
  grid) and scaled to 135; the output says so.

BLAS runs on ``--blas-threads`` threads (default 1): on a shared 2-core machine, numpy's BLAS
threads spinning for a busy core made a ridge fit 20x slower (0.8 s instead of 0.04 s), which
says nothing about either loop. Prints a table (seconds, ratio) and ends with one line of JSON.
The plan expected 10-100x.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import yaml
from threadpoolctl import threadpool_limits

from regimeforge.adapters.outer_loop import create_queue_from_grid_file, grid_task_factory_of
from regimeforge.adapters.worker import WorkerSpec, run_task
from regimeforge.bootstrap import init_workspace
from regimeforge.domain.usecases.tasks import TaskRequest, WorkerResult

DATA = Path("/work/shared/data")
FEATURES: dict[str, Any] = {
    "indicator_tfs": {"rsi": ["1h", "4h"], "macd": ["1h"]},
    "additional_features": {"returns_volatility": True, "trading_sessions": True},
    "preprocessing": {"warmup_bars": 64},
}


def grid_file(folder: Path, types: list[str]) -> Path:
    """A grid of one config per model type over the whole EUR/USD H1 file (default params)."""
    grid = {
        "name": "two-loop",
        "data": {"source": "csv", "path": str(DATA / "{symbol}_H1.csv")},
        "grid": {
            "model_type": types,
            "encoder": ["none"],
            "symbol": ["EUR/USD"],
            "base_timeframe": ["1h"],
            "days_history": [365],
            "horizon": [5],
            **FEATURES,
        },
    }
    path = folder / "two-loop.yaml"
    path.write_text(yaml.safe_dump(grid, sort_keys=False), encoding="utf-8")
    return path


def specs(ws: Any, path: Path) -> dict[str, WorkerSpec]:
    """Model type -> the worker spec the coordinator would send for that grid point."""
    queue = create_queue_from_grid_file(ws, path)
    factory = grid_task_factory_of(ws, in_process=True)
    with ws.uow() as uow:
        items = uow.queues.items(queue.queue_uuid)
        regimes = uow.regimes.list(active_only=True)
    out = {}
    for item in items:
        config = factory.config_for(queue, item)
        request = TaskRequest(f"bench-{item.index}", config, queue, item, regimes)
        out[config.model_type] = factory.spec(request)
    return out


def timed_task(spec: WorkerSpec) -> tuple[float, WorkerResult]:
    start = time.perf_counter()
    result = run_task(spec)
    return time.perf_counter() - start, result


def measure(spec: WorkerSpec, sample: int) -> dict[str, Any]:
    """Seconds of the two-loop task and of ``sample`` naive tasks (scaled to all configs)."""
    timed_task(attrs.evolve(spec, inference=spec.inference[:1]))  # warm-up: imports, data, jit
    two_loop, result = timed_task(spec)
    n = len(spec.inference)
    step = max(1, n // sample)
    chosen = spec.inference[::step][:sample]
    runs = [timed_task(attrs.evolve(spec, inference=[i])) for i in chosen]
    naive = [seconds for seconds, _ in runs]
    naive_scaled = sum(naive) / len(naive) * n
    # A naive loop that loaded the bars once: only its fits and one-config inner loops.
    fits = [r.durations.get("fit", 0.0) + r.durations.get("inner_loop", 0.0) for _, r in runs]
    fits_scaled = sum(fits) / len(fits) * n
    return {
        "inference_configs": n,
        "backtests_recorded": len(result.backtests),
        "two_loop_seconds": two_loop,
        "two_loop_breakdown": {k: round(v, 3) for k, v in result.durations.items()},
        "naive_sampled": len(naive),
        "naive_seconds_per_task": sum(naive) / len(naive),
        "naive_seconds_scaled": naive_scaled,
        "speedup": naive_scaled / two_loop,
        "naive_fit_only_seconds_scaled": fits_scaled,
        "speedup_vs_fit_only": fits_scaled / two_loop,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", nargs="+", default=["ridge", "rf"])
    parser.add_argument("--naive-sample", type=int, default=10,
                        help="naive tasks actually run (scaled to all 135)")  # fmt: skip
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    threadpool_limits(limits=args.blas_threads)
    if not (DATA / "EURUSD_H1.csv").exists():
        parser.error(f"{DATA / 'EURUSD_H1.csv'} is missing")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws", load_entry_points=False)
        try:
            for model_type, spec in specs(ws, grid_file(Path(tmp), args.types)).items():
                figures[model_type] = measure(spec, args.naive_sample)
        finally:
            ws.close()
    print(f"EUR/USD H1 (real file), one config per type, default hyperparameters, BLAS threads: "
          f"{args.blas_threads}; naive = one")  # fmt: skip
    print(f"training per inference config, {args.naive_sample} of 135 run and scaled to 135")
    print("(fit only: the naive loop's fits and one-config inner loops alone, bars loaded once)")
    print(f"{'type':<7}{'two loops s':>12}{'data/fit/inner':>17}{'naive s/task':>13}"
          f"{'naive x135':>11}{'speed-up':>9}{'fit only x135':>14}{'speed-up':>9}")  # fmt: skip
    for model_type, f in figures.items():
        parts = f["two_loop_breakdown"]
        split = "/".join(f"{parts.get(k, 0):.2f}" for k in ("data", "fit", "inner_loop"))
        print(f"{model_type:<7}{f['two_loop_seconds']:>12.2f}{split:>17}"
              f"{f['naive_seconds_per_task']:>13.2f}{f['naive_seconds_scaled']:>11.1f}"
              f"{f['speedup']:>8.1f}x{f['naive_fit_only_seconds_scaled']:>14.1f}"
              f"{f['speedup_vs_fit_only']:>8.1f}x")  # fmt: skip
    print(json.dumps({"benchmark": "two_loop", "blas_threads": args.blas_threads, **figures}))


if __name__ == "__main__":
    main()
