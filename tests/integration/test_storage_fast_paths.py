"""The storage fast paths keep the slow paths' results, on SQLite and on PostgreSQL.

Keys cached per unit of work (and forgotten on rollback or delete), queue updates that write only
what changed since the locked read, the compiled bulk insert, single statements without a
savepoint on SQLite, the dedup lookup through the config_hash index.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import attrs
import numpy as np
import pytest
from sqlalchemy.engine import Engine
from storage_helpers import T0, make_backtest, make_queue, make_run, model_config

from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.runs import _SQLITE_COMPLETED
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.errors import NotFoundError, StorageError
from regimeforge.domain.states import QueueStatus, RunStatus

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine: Engine) -> UowFactory:
    return lambda: SqlAlchemyUnitOfWork(engine)


def test_a_rolled_back_run_is_not_found_through_a_cached_key(uow, catalog) -> None:
    run = make_run(model_config(catalog), status=RunStatus.RUNNING)
    with uow() as w:
        w.runs.add(run)  # its key is remembered...
        w.rollback()  # ...and forgotten with the row
        with pytest.raises(NotFoundError, match="runs that do not exist"):
            w.backtests.add_many([make_backtest(run.run_uuid, 0)])
        w.runs.add(run)  # the same uuid again: a new row, a new key
        w.backtests.add_many([make_backtest(run.run_uuid, 1)])
        w.commit()
    with uow() as w:
        assert [b.run_uuid for b in w.backtests.for_run(run.run_uuid)] == [run.run_uuid]


def test_a_deleted_run_forgets_its_key(uow, catalog) -> None:
    run = make_run(model_config(catalog))
    with uow() as w:
        w.runs.add(run)
        w.runs.delete(run.run_uuid)
        with pytest.raises(NotFoundError):
            w.backtests.add_many([make_backtest(run.run_uuid, 0)])


def test_a_queue_read_then_updated_ends_as_if_every_column_was_written(uow) -> None:
    queue, items = make_queue(3)
    with uow() as w:
        w.queues.add(queue, items)
        w.commit()
    later = T0.replace(hour=9)
    with uow() as w:
        read = w.queues.get(queue.queue_uuid)
        running = read.to(QueueStatus.RUNNING, later, coordinator_host="h", coordinator_pid=7)
        w.queues.update(running)
        w.queues.update(running)  # nothing changed: nothing to write, still fine
        counted = attrs.evolve(running, completed_count=1, current_index=1, updated_at=later)
        w.queues.update(counted)
        w.commit()
    with uow() as w:
        assert w.queues.get(queue.queue_uuid) == counted
        # A queue not read in this unit of work is written in full.
        other = attrs.evolve(counted, config_grid={"grid": {"horizon": [3]}}, message="edited")
        w.queues.update(other)
        w.commit()
    with uow() as w:
        assert w.queues.get(queue.queue_uuid) == other
        with pytest.raises(NotFoundError):
            w.queues.update(attrs.evolve(other, queue_uuid="0" * 32))


def test_the_bulk_insert_stores_what_the_mapping_gives(uow, catalog) -> None:
    run = make_run(model_config(catalog))
    backtests = [make_backtest(run.run_uuid, i) for i in range(7)]
    odd = attrs.evolve(
        backtests[0],
        backtest_metrics={"sharpe": np.float64(1.5), "nan": math.nan, "inf": -math.inf},
        regime_metrics={"bull_trending": {"sharpe": np.float32(0.5), "bars": np.int64(40)}},
    )
    unstamped = attrs.evolve(backtests[1], created_at=None)  # the database stamps it
    with uow() as w:
        w.runs.add(run)
        w.backtests.add_many([odd, unstamped, *backtests[2:]])
        w.commit()
    with uow() as w:
        stored = {b.backtest_uuid: b for b in w.backtests.for_run(run.run_uuid)}
    assert stored[odd.backtest_uuid].backtest_metrics == {"sharpe": 1.5, "nan": None, "inf": None}
    assert stored[odd.backtest_uuid].regime_metrics == {
        "bull_trending": {"sharpe": 0.5, "bars": 40}
    }
    assert stored[unstamped.backtest_uuid].created_at is not None
    for b in backtests[2:]:
        assert stored[b.backtest_uuid] == b


def test_a_refused_bulk_insert_leaves_no_row_and_the_unit_usable(uow, catalog) -> None:
    run = make_run(model_config(catalog))
    first = make_backtest(run.run_uuid, 0)
    twin = attrs.evolve(make_backtest(run.run_uuid, 1), inference_hash=first.inference_hash)
    with uow() as w:
        w.runs.add(run)
        with pytest.raises(StorageError, match="already has a backtest with this inference hash"):
            w.backtests.add_many([first, make_backtest(run.run_uuid, 2), twin])
        w.backtests.add_many([make_backtest(run.run_uuid, 3)])
        w.commit()
    with uow() as w:
        assert len(w.backtests.for_run(run.run_uuid)) == 1


def test_dedup_finds_completed_runs_by_hash_and_fingerprint(engine, uow, catalog) -> None:
    configs = [model_config(catalog, horizon=h) for h in (3, 5, 7)]
    done = make_run(configs[0])
    elsewhere = make_run(configs[1], fingerprint="e" * 64)
    failed = make_run(configs[2], status=RunStatus.FAILED)
    with uow() as w:
        for run in (done, elsewhere, failed):
            w.runs.add(run)
        w.commit()
    keys = [(c.config_hash, "f" * 64) for c in configs] + [(configs[1].config_hash, "e" * 64)]
    with uow() as w:
        assert w.runs.find_completed(keys) == {
            (configs[0].config_hash, "f" * 64): done.run_uuid,
            (configs[1].config_hash, "e" * 64): elsewhere.run_uuid,
        }
    if engine.dialect.name == "sqlite":
        # Through the config_hash index: the status index matches every completed run.
        query = _SQLITE_COMPLETED.params(hashes=[c.config_hash for c in configs])
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
        assert "ix_training_runs_config_hash" in plan, plan
