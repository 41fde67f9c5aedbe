"""Outer-loop bookkeeping: what the coordinator costs per config, beyond training itself.

Run: ``.venv/bin/python benchmarks/bench_outer_loop.py [--measure 100] [--pg URL] [--no-optuna]
[--stdlib-json]``.

A trivial "model" (a precomputed result with 135 backtests, 11 metrics overall and per regime for
4 regimes) goes through the real coordinator (claim, dedup lookup, run row, one recording
transaction with 135 backtest rows, regime bests and their history, queue counters, progress,
heartbeats, pause/cancel polling, a checkpoint every 10 models) on SQLite and, when reachable,
PostgreSQL, for queues of 100 and 10,000 configs. The same first ``--measure`` configs of each
queue are timed, so both sizes do the same work: any difference is the grid size's cost. The
queue's stored grid document is the demo grid file's (as ``queue create`` stores it). One more
SQLite row times the same number of configs after ``--after`` (1,000) configs were recorded: the
cost in the middle of a long search, where indexes and checkpoints are no longer small.

Baselines in the same process: Optuna's RDB storage (random sampler, trivial objective) on
SQLite and PostgreSQL, and Optuna's GridSampler on a small grid, whose cost per trial grows with
every trial (the first and last windows are timed and a 1,000-point grid is extrapolated).
Wall and CPU milliseconds are both printed: the machine is shared, CPU time moves less.
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import yaml

from regimeforge.adapters.checkpoints import JsonCheckpointStore
from regimeforge.adapters.clock import SystemClock
from regimeforge.adapters.executors.inline import InlineExecutor
from regimeforge.adapters.storage import engine as storage_engine
from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.inference_grid import expand_inference_grid
from regimeforge.domain.ports import ArtifactInfo
from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.usecases.coordinator import QueueRunner
from regimeforge.domain.usecases.queue_control import create_queue, request_pause
from regimeforge.domain.usecases.runner_support import RunnerSettings
from regimeforge.domain.usecases.tasks import BacktestRecord, TaskRequest, WorkerResult

ROOT = Path(__file__).resolve().parents[1]
DEMO_GRID = ROOT / "configs" / "grids" / "demo.yaml"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CATALOG = ConfigCatalog({"ridge": {"alpha": 1.0}}, {"none": {}}, BUILTIN_INDICATORS)
METRICS = ("sharpe", "sortino", "max_drawdown", "calmar", "total_return", "win_rate",
           "profit_factor", "n_trades", "exposure", "turnover", "hit_rate")  # fmt: skip
INFERENCE = expand_inference_grid()  # the default 135 configurations


@attrs.frozen
class Timing:
    """Milliseconds per config (or trial): wall clock and this process's CPU."""

    wall_ms: float
    cpu_ms: float


def timed(fn: Callable[[], Any], count: int) -> Timing:
    """Run ``fn`` once; milliseconds per item of ``count``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Timing(
        1000 * (time.perf_counter() - wall) / count, 1000 * (time.process_time() - cpu) / count
    )


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
    """The TaskFactory of the trivial model; pauses the queue after ``limit`` configs."""

    def __init__(
        self, grid: Grid, limit: int, uow: Callable[[], SqlAlchemyUnitOfWork], model: Any = None
    ) -> None:
        self.grid, self.limit, self.uow, self.started = grid, limit, uow, 0
        self.model = model or trivial_model

    def config_for(self, queue: Any, item: Any) -> ModelConfig:
        return self.grid[item.index]

    def data_fingerprint(self, queue: Any, config: ModelConfig) -> str:
        return "fp"

    def task(self, request: TaskRequest) -> Any:
        self.started += 1
        if self.started == self.limit:
            request_pause(self.uow(), request.queue.queue_uuid, datetime.now(UTC))
        return self.model, (request.config.config_hash,)


def grid_document(size: int) -> dict[str, Any]:
    """What ``queue create`` stores for a grid file (the demo grid's), marked with the size."""
    raw = yaml.safe_load(DEMO_GRID.read_text(encoding="utf-8"))
    return {"file": raw, "base_dir": str(DEMO_GRID.parent), "path": str(DEMO_GRID), "n": size}


def runner_for(
    url: str, size: int, limit: int, root: Path, *, model: Any = None, events: Any = None
) -> tuple[QueueRunner, str, Any]:
    """A migrated database at ``url`` with a ``size``-config queue, and a runner for it."""
    upgrade(url)
    engine = make_engine(url)
    uow = lambda: SqlAlchemyUnitOfWork(engine)  # noqa: E731
    grid = Grid(size)
    queue = create_queue(uow(), name=f"bench{size}", config_grid=grid_document(size), grid=grid,
                         inference_grid={}, at=datetime.now(UTC))  # fmt: skip
    settings = RunnerSettings(host="bench", pid=os.getpid(), artifacts_path=str(root))
    runner = QueueRunner(uow, InlineExecutor(), STORE, JsonCheckpointStore(root / "cp"),  # type: ignore[arg-type]
                         SystemClock(), events or (lambda e: None), settings,
                         Tasks(grid, limit, uow, model))  # fmt: skip
    return runner, queue.queue_uuid, engine


def bookkeeping(url: str, size: int, measure: int, root: Path, *, after: int = 0) -> Timing:
    """Per config, over ``measure`` configs of a ``size``-config queue, after ``after`` others.

    With ``after``, that many configs are recorded first (untimed; their results are copies of
    a few precomputed ones): the timed configs then write into a database that already holds
    their runs, backtests and checkpoints, as in the middle of a long search.
    """
    grid = Grid(size)
    for i in range(after, after + measure):  # precomputed: only bookkeeping is timed
        config_hash = grid[i].config_hash
        RESULTS[config_hash] = RESULTS.get(config_hash) or make_result(config_hash)
    pool = [make_result(f"warm-up {i}") for i in range(8)] if after else []

    def warm_up(config_hash: str) -> WorkerResult:
        result = pool[int(config_hash[:8], 16) % len(pool)]
        return attrs.evolve(result, artifact=STORE.put(config_hash.encode()))

    runner, queue_uuid, engine = runner_for(url, size, after or measure, root, model=warm_up)
    tasks = runner.tasks
    assert isinstance(tasks, Tasks)
    if after:
        assert runner.run(queue_uuid).completed == after
        tasks.limit += measure
    tasks.model = trivial_model
    outcomes = []
    timing = timed(lambda: outcomes.append(runner.run(queue_uuid)), measure)
    assert outcomes[0].completed == after + measure, outcomes[0]
    engine.dispose()
    return timing


def optuna_random(storage: str, trials: int) -> Timing:
    """Optuna's RDB storage: random sampler, trivial objective."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(storage=storage, sampler=sampler)
    return timed(
        lambda: study.optimize(lambda t: t.suggest_float("alpha", 1e-3, 1.0), n_trials=trials),
        trials,
    )


def optuna_grid(storage: str, points: int, window: int) -> dict[str, float]:
    """Optuna's GridSampler on ``points`` values: ms per trial at the start and the end."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    values = [round(0.001 * (i + 1), 6) for i in range(points)]
    sampler = optuna.samplers.GridSampler({"alpha": values}, seed=0)
    study = optuna.create_study(storage=storage, sampler=sampler)
    stamps = [time.perf_counter()]
    study.optimize(
        lambda t: t.suggest_float("alpha", 0.0, 1.0),
        n_trials=points,
        callbacks=[lambda s, t: stamps.append(time.perf_counter())],
    )
    per_trial = [b - a for a, b in itertools.pairwise(stamps)]
    first = 1000 * sum(per_trial[1 : window + 1]) / window  # the first trial sets up the study
    last = 1000 * sum(per_trial[-window:]) / window
    # Linear growth per trial between the two windows' middles, extrapolated to 1,000 trials.
    slope = (last - first) / (points - window - 1)
    start = first - slope * (window + 1) / 2
    n = 1000
    total_ms = start * n + slope * n * (n - 1) / 2
    return {
        "first_ms": first,
        "last_ms": last,
        "growth_ms_per_trial": slope,
        "extrapolated_1000_minutes": total_ms / 60_000,
    }


def pg_database(server: str, name: str) -> str | None:
    """A fresh database ``name`` on the server of ``server``; None when unreachable."""
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", type=int, default=100, help="configs timed per queue")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--pg", default=os.environ.get("REGIMEFORGE_TEST_PG_URL", DEFAULT_PG),
                        help="PostgreSQL server URL ('' to skip)")  # fmt: skip
    parser.add_argument("--no-optuna", action="store_true", help="skip the Optuna baselines")
    parser.add_argument("--grid-points", type=int, default=100, help="GridSampler grid size")
    parser.add_argument("--after", type=int, default=1000,
                        help="also time the largest queue after this many (0: no)")  # fmt: skip
    parser.add_argument("--stdlib-json", action="store_true",
                        help="the json module for JSON columns, even with orjson")  # fmt: skip
    args = parser.parse_args()
    if args.stdlib_json:
        storage_engine.orjson = None  # type: ignore[assignment]
    encoder = "json" if storage_engine.orjson is None else "orjson"
    measure = min([args.measure, *args.sizes])
    rows: dict[str, Timing] = {}  # printed name -> timing
    keys: dict[str, str] = {}  # printed name -> JSON key
    grid: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pg_optuna = pg_database(args.pg, "rf_bench_optuna") if args.pg else None
        if not args.no_optuna:
            name = "Optuna RDB, SQLite, random sampler"
            keys[name] = "optuna_sqlite"
            rows[name] = optuna_random(f"sqlite:///{root / 'optuna.db'}", measure)
            if pg_optuna:
                name = "Optuna RDB, PostgreSQL, random sampler"
                keys[name] = "optuna_postgres"
                rows[name] = optuna_random(pg_optuna, measure)
            window = max(5, args.grid_points // 5)
            grid = optuna_grid(f"sqlite:///{root / 'grid.db'}", args.grid_points, window)
        for size in sorted(args.sizes):
            name = f"regimeforge, SQLite, {size:,}-config queue"
            keys[name] = f"sqlite_{size}"
            rows[name] = bookkeeping(f"sqlite:///{root / f'rf{size}.db'}", size, measure, root)
        big = max(args.sizes)
        if args.after and args.after + measure <= big:
            name = f"regimeforge, SQLite, {big:,} queue, after {args.after:,}"
            keys[name] = f"sqlite_{big}_after_{args.after}"
            url = f"sqlite:///{root / 'rf-after.db'}"
            rows[name] = bookkeeping(url, big, measure, root, after=args.after)
        for size in sorted(args.sizes):
            pg = pg_database(args.pg, f"rf_bench_outer_{size}") if args.pg else None
            if pg:
                name = f"regimeforge, PostgreSQL, {size:,}-config queue"
                keys[name] = f"postgres_{size}"
                rows[name] = bookkeeping(pg, size, measure, root)
    base = rows.get("Optuna RDB, SQLite, random sampler")
    print(f"{measure} configs (trials) timed per row; JSON columns encoded with {encoder}")
    print(f"{'measurement':<48}{'wall ms':>9}{'CPU ms':>9}{'vs Optuna':>11}")
    for name, t in rows.items():
        ratio = f"{t.wall_ms / base.wall_ms:>10.2f}x" if base else f"{'':>11}"
        print(f"{name:<48}{t.wall_ms:>9.2f}{t.cpu_ms:>9.2f}{ratio}")
    figures: dict[str, Any] = {"benchmark": "outer_loop_bookkeeping", "configs_measured": measure,
                               "json_encoder": encoder}  # fmt: skip
    for name, t in rows.items():
        figures[f"{keys[name]}_wall_ms"] = round(t.wall_ms, 3)
        figures[f"{keys[name]}_cpu_ms"] = round(t.cpu_ms, 3)
    if grid:
        print(
            f"Optuna GridSampler, {args.grid_points}-point grid on SQLite: "
            f"{grid['first_ms']:.1f} ms per trial at the start, "
            f"{grid['last_ms']:.1f} ms at the end "
            f"(+{grid['growth_ms_per_trial']:.2f} ms per trial); a 1,000-point grid: "
            f"~{grid['extrapolated_1000_minutes']:.1f} minutes of overhead (extrapolated)"
        )
        figures.update({f"optuna_grid_{k}": round(v, 3) for k, v in grid.items()})
    for db in ("SQLite", "PostgreSQL"):
        small, big = (rows.get(f"regimeforge, {db}, {s:,}-config queue")
                      for s in (min(args.sizes), max(args.sizes)))  # fmt: skip
        if small and big and small is not big:
            ratio = big.cpu_ms / small.cpu_ms
            figures[f"{'sqlite' if db == 'SQLite' else 'postgres'}_growth_cpu"] = round(ratio, 3)
            print(f"{db}: {max(args.sizes):,}-config / {min(args.sizes):,}-config queue, "
                  f"CPU per config: {ratio:.2f}")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
