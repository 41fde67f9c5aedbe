"""Outer-loop bookkeeping: what the coordinator costs per config, beyond training itself.

Run: ``.venv/bin/python benchmarks/bench_outer_loop.py [--measure 200] [--pg URL]``.
A trivial "model" (a precomputed result with 135 backtests over 4 regimes) goes through the real
coordinator (claim, dedup lookup, run row, one recording transaction with 135 backtest rows,
regime bests, queue counters, progress, heartbeats, checkpoints every 10 models) on SQLite and,
when reachable, PostgreSQL, for queues of 100 and 10,000 configs (the first ``--measure`` configs
of each are timed, so the two sizes do the same work: any difference is the grid size's cost).
Baseline in the same process: Optuna's RDB storage on SQLite (random sampler, trivial objective).
Targets (issue 5): <= 15 ms per config on SQLite, flat in grid size. Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from regimeforge.adapters.checkpoints import JsonCheckpointStore
from regimeforge.adapters.clock import SystemClock
from regimeforge.adapters.executors.inline import InlineExecutor
from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.ports import ArtifactInfo
from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.usecases.coordinator import QueueRunner
from regimeforge.domain.usecases.queue_control import create_queue
from regimeforge.domain.usecases.runner_support import RunnerSettings
from regimeforge.domain.usecases.tasks import BacktestRecord, TaskRequest, WorkerResult

CATALOG = ConfigCatalog({"ridge": {"alpha": 1.0}}, {"none": {}}, BUILTIN_INDICATORS)
METRICS = ("sharpe", "sortino", "max_drawdown", "calmar", "total_return", "win_rate",
           "profit_factor", "n_trades", "exposure", "turnover", "hit_rate")  # fmt: skip
INFERENCE = [
    InferenceConfig.from_mapping(
        {
            "prediction_method": p,
            "ensemble_method": e,
            "confidence_threshold": c,
            "lookback_window": w,
        }
    )
    for p in ("direct", "recursive", "direct_multi")
    for e in ("mean", "weighted", "stacking")
    for c in (0.0, 0.3, 0.5, 0.7, 0.9)
    for w in (50, 100, 200)
]


def unit(*parts: Any) -> float:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:6], "big") / 2**48


class Grid:
    """``n`` ridge configs, built on access (a 10,000-point queue without 10,000 objects)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> ModelConfig:
        return ModelConfig.from_mapping(
            {"model_type": "ridge", "symbol": "EUR/USD", "base_timeframe": "1h",
             "days_history": 120, "horizon": 5, "model_hyperparams": {"alpha": 1e-3 * (i + 1)}},
            CATALOG,
        )  # fmt: skip


class MemoryStore:
    """A dict artifact store: files are not what this benchmark measures."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.names = itertools.count()

    def put(self, data: bytes, *, suffix: str = ".bin") -> ArtifactInfo:
        name = f"m{next(self.names)}{suffix}"
        self.files[name] = data
        return ArtifactInfo(name, len(data), hashlib.sha256(data).hexdigest())

    def delete(self, name: str) -> int:
        return len(self.files.pop(name, b""))

    def exists(self, name: str) -> bool:
        return name in self.files


STORE = MemoryStore()
RESULTS: dict[str, WorkerResult] = {}


def trivial_model(config_hash: str) -> WorkerResult:
    """The precomputed result of a config, with a new artifact (the "training" costs nothing)."""
    result = RESULTS.get(config_hash) or make_result(config_hash)
    return attrs.evolve(result, artifact=STORE.put(config_hash.encode()))


def make_result(config_hash: str) -> WorkerResult:
    """135 backtests with 11 metrics overall and per regime (scores vary by config)."""
    records = []
    for inference in INFERENCE:
        ih = inference.config_hash
        overall = {m: unit(config_hash, ih, m) for m in METRICS}
        regimes = {
            r: {
                **{m: unit(config_hash, ih, r, m) for m in METRICS},
                "bars": 200,
                "trades": 20,
                "sufficient": True,
            }
            for r in DEFAULT_REGIMES
        }
        records.append(BacktestRecord(inference.to_dict(), ih, overall, regimes, 0.001))
    info = ArtifactInfo("", 0, "")
    return WorkerResult("fp", info, {"val_mse": 0.1}, 12, {"fit": 0.0}, tuple(records))


class Tasks:
    """The TaskFactory of the trivial model; stops the run after ``limit`` configs."""

    def __init__(self, grid: Grid, limit: int) -> None:
        self.grid, self.limit, self.started = grid, limit, 0

    def config_for(self, queue: Any, item: Any) -> ModelConfig:
        return self.grid[item.index]

    def data_fingerprint(self, queue: Any, config: ModelConfig) -> str:
        return "fp"

    def task(self, request: TaskRequest) -> Any:
        self.started += 1
        if self.started == self.limit:
            from regimeforge.domain.usecases.queue_control import request_pause

            request_pause(self.uow(), request.queue.queue_uuid, datetime.now(UTC))
        return trivial_model, (request.config.config_hash,)


def bookkeeping(url: str, size: int, measure: int, root: Path) -> float:
    """Seconds per config for the first ``measure`` configs of a ``size``-config queue."""
    upgrade(url)
    engine = make_engine(url)
    uow = lambda: SqlAlchemyUnitOfWork(engine)  # noqa: E731
    grid = Grid(size)
    for i in range(measure):  # precomputed outside the timing: only bookkeeping is measured
        config_hash = grid[i].config_hash
        RESULTS[config_hash] = RESULTS.get(config_hash) or make_result(config_hash)
    queue = create_queue(uow(), name=f"bench{size}", config_grid={"bench": size}, grid=grid,
                         inference_grid={}, at=datetime.now(UTC))  # fmt: skip
    tasks = Tasks(grid, measure)
    tasks.uow = uow  # type: ignore[attr-defined]
    settings = RunnerSettings(host="bench", pid=os.getpid(), artifacts_path=str(root))
    runner = QueueRunner(uow, InlineExecutor(), STORE, JsonCheckpointStore(root / "cp"),  # type: ignore[arg-type]
                         SystemClock(), lambda e: None, settings, tasks)  # fmt: skip
    start = time.perf_counter()
    outcome = runner.run(queue.queue_uuid)
    seconds = time.perf_counter() - start
    assert outcome.completed == measure, outcome
    engine.dispose()
    return seconds / measure


def optuna_baseline(root: Path, trials: int) -> float:
    """Seconds per trial of Optuna's RDB storage on SQLite (random sampler, trivial objective)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=f"sqlite:///{root / 'optuna.db'}", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    start = time.perf_counter()
    study.optimize(lambda t: t.suggest_float("alpha", 1e-3, 1.0), n_trials=trials)
    return (time.perf_counter() - start) / trials


def pg_database(server: str, name: str) -> str | None:
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception:
        return None
    return sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--measure", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    default_pg = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    parser.add_argument("--pg", default=os.environ.get("REGIMEFORGE_TEST_PG_URL", default_pg))
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        figures["optuna_sqlite_ms_per_trial"] = 1000 * optuna_baseline(root, args.measure)
        for size in args.sizes:
            measure = min(args.measure, size)
            url = f"sqlite:///{root / f'rf{size}.db'}"
            figures[f"sqlite_{size}_ms_per_config"] = 1000 * bookkeeping(url, size, measure, root)
            pg = pg_database(args.pg, f"rf_bench_outer_{size}") if args.pg else None
            if pg:
                figures[f"postgres_{size}_ms_per_config"] = 1000 * bookkeeping(
                    pg, size, measure, root
                )
    base = figures["optuna_sqlite_ms_per_trial"]
    print(f"{'measurement':<40}{'ms per config':>15}{'vs Optuna':>12}")
    for name, value in figures.items():
        print(f"{name:<40}{value:>15.2f}{value / base:>11.2f}x")
    sizes = sorted(args.sizes)
    if len(sizes) > 1:
        small, big = (figures[f"sqlite_{s}_ms_per_config"] for s in (sizes[0], sizes[-1]))
        figures["sqlite_growth_ratio"] = big / small
        print(f"SQLite: {sizes[-1]:,}-config queue / {sizes[0]:,}-config queue: {big / small:.2f}")
    print(
        json.dumps(
            {"benchmark": "outer_loop_bookkeeping", **{k: round(v, 3) for k, v in figures.items()}}
        )
    )


if __name__ == "__main__":
    main()
