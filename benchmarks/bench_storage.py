"""Storage: the batched dedup lookup (``RunRepository.find_completed``) and bulk backtest inserts.

Run: ``.venv/bin/python benchmarks/bench_storage.py [--keys 49000] [--runs 10000] [--pg URL]``.
A queue of 49,000 configs asks which (config hash, data fingerprint) pairs were completed before
it starts; the target is <= 1 s. The baseline is the obvious one-query-per-key loop, run in the
same process on a sample of keys and scaled. Also timed: inserting one model's 135 backtests.
SQLite always; PostgreSQL when ``--pg`` (or REGIMEFORGE_TEST_PG_URL) names a reachable server.
Prints a table and ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.mapping import run_values
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.rows import RunRow
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.entities import InferenceBacktest, TrainingRun
from regimeforge.domain.states import RunStatus

CONFIG = ModelConfig("ridge", "none", "EUR/USD", "1h", 120, 5, {}, {}, {}, {"alpha": 1.0}, {})


def populate(engine: sa.Engine, n_runs: int) -> list[tuple[str, str]]:
    """Insert ``n_runs`` completed runs directly (fast); returns their dedup keys."""
    rows, keys = [], []
    for i in range(n_runs):
        key = (f"{i:064x}", f"{i * 7:064x}")
        run = TrainingRun(str(uuid.uuid4()), CONFIG, key[0], RunStatus.COMPLETED, key[1])
        values = run_values(run)
        del values["created_at"]
        rows.append(values)
        keys.append(key)
    with engine.begin() as conn:
        conn.execute(sa.insert(RunRow.__table__), rows)
    return keys


def timed(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    """Fastest wall time of ``repeat`` calls, and the result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_key_baseline(engine: sa.Engine, keys: list[tuple[str, str]]) -> dict:
    """One SELECT per key: what a straightforward loop would do."""
    table = RunRow.__table__
    found = {}
    with engine.connect() as conn:
        for config_hash, fingerprint in keys:
            uuid_ = conn.scalar(
                sa.select(table.c.run_uuid).where(
                    table.c.status == "completed",
                    table.c.config_hash == config_hash,
                    table.c.data_fingerprint == fingerprint,
                )
            )
            if uuid_ is not None:
                found[(config_hash, fingerprint)] = uuid_
    return found


def backtests(run_uuid: str, n: int = 135) -> list[InferenceBacktest]:
    """``n`` distinct backtests of a run."""
    out = []
    for i in range(n):
        inference = InferenceConfig("direct", "mean", i / n, 20 + i)
        metrics = {"sharpe": 1.0, "max_drawdown": -0.1, "trades": 10}
        regimes = {"bull_trending": metrics}
        out.append(
            InferenceBacktest(
                str(uuid.uuid4()), run_uuid, inference, inference.config_hash, metrics, regimes
            )
        )
    return out


def measure(url: str, n_keys: int, n_runs: int) -> dict[str, float]:
    """The figures of one database."""
    upgrade(url)
    engine = make_engine(url)
    try:
        stored = populate(engine, n_runs)
        keys = stored + [(f"{i:064x}", "missing") for i in range(n_runs, n_keys)]
        uow = SqlAlchemyUnitOfWork(engine)

        def batched() -> dict:
            with uow as w:
                return w.runs.find_completed(keys)

        ours, found = timed(batched)
        assert len(found) == n_runs
        sample = keys[:: max(1, len(keys) // 2000)]
        base_sample, _ = timed(lambda: per_key_baseline(engine, sample), repeat=1)
        base = base_sample * len(keys) / len(sample)

        run_uuid = next(iter(found.values()))

        def insert_backtests() -> None:
            with uow as w:
                w.backtests.add_many(backtests(run_uuid))
                # rolled back: every repeat inserts the same rows again

        insert, _ = timed(insert_backtests)
        return {
            "find_completed_seconds": ours,
            "per_key_baseline_seconds_scaled": base,
            "speedup_vs_per_key": base / ours,
            "insert_135_backtests_seconds": insert,
        }
    finally:
        engine.dispose()


def main() -> None:
    """Parse arguments, measure SQLite (and PostgreSQL when reachable), print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=49_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--pg", default=os.environ.get("REGIMEFORGE_TEST_PG_URL", ""))
    args = parser.parse_args()
    figures: dict[str, Any] = {"keys": args.keys, "stored_runs": args.runs}
    with tempfile.TemporaryDirectory() as folder:
        sqlite = measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.keys, args.runs)
    figures.update({f"sqlite_{k}": v for k, v in sqlite.items()})
    if args.pg:
        name = f"rf_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
        try:
            pg = measure(url, args.keys, args.runs)
            figures.update({f"postgresql_{k}": v for k, v in pg.items()})
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"{'figure':<52}{'value':>14}")
    for key, value in figures.items():
        print(f"{key:<52}{value:>14.4f}" if isinstance(value, float) else f"{key:<52}{value:>14,}")
    print(json.dumps({"benchmark": "storage", **figures}))


if __name__ == "__main__":
    main()
