"""Repository round trips of every domain object, on SQLite and on the running PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta

import attrs
import pytest
from storage_helpers import T0, make_backtest, make_queue, make_run, model_config, new_uuid

from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.errors import InputError, NotFoundError, StorageError
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.regimes import (
    DEFAULT_REGIME_DEFINITIONS,
    RegimeBest,
    RegimeBestChange,
    RegimeDefinition,
)
from regimeforge.domain.states import ItemStatus, QueueStatus, RunStatus

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def uow(db_url: str) -> Iterator[UowFactory]:
    upgrade(db_url)
    engine = make_engine(db_url)
    yield lambda: SqlAlchemyUnitOfWork(engine)
    engine.dispose()


def test_a_run_round_trips_with_its_config_and_aware_utc_times(uow, catalog) -> None:
    queue, items = make_queue(2)
    run = make_run(model_config(catalog), queue_uuid=queue.queue_uuid)
    with uow() as w:
        w.queues.add(queue, items)
        w.runs.add(run)
        w.commit()
    with uow() as w:
        stored = w.runs.get(run.run_uuid)
    assert stored == run
    assert stored.config.config_hash == run.config_hash == run.config.config_hash
    assert stored.config.to_dict() == run.config.to_dict()
    assert stored.completed_at is not None and stored.completed_at.tzinfo is UTC
    assert stored.completed_at == run.completed_at  # microseconds kept


def test_update_writes_every_field_and_missing_runs_are_not_found(uow, catalog) -> None:
    run = make_run(model_config(catalog), status=RunStatus.RUNNING)
    with uow() as w:
        w.runs.add(run)
        w.commit()
    done = run.complete(T0 + timedelta(hours=1), training_metrics={"mse": 0.1}, feature_count=3)
    with uow() as w:
        w.runs.update(done)
        w.commit()
    with uow() as w:
        assert w.runs.get(run.run_uuid) == done
        with pytest.raises(NotFoundError, match="no run"):
            w.runs.get(new_uuid())
        with pytest.raises(NotFoundError):
            w.runs.update(attrs.evolve(done, run_uuid=new_uuid()))


def test_a_run_of_an_unknown_queue_is_refused(uow, catalog) -> None:
    with uow() as w, pytest.raises(NotFoundError, match="no queue"):
        w.runs.add(make_run(model_config(catalog), queue_uuid=new_uuid()))


def test_non_finite_metrics_are_stored_as_null(uow, catalog) -> None:
    run = attrs.evolve(
        make_run(model_config(catalog)),
        training_metrics={"loss": math.nan, "profit_factor": math.inf, "ok": 1.5},
    )
    with uow() as w:
        w.runs.add(run)
        w.commit()
    with uow() as w:
        assert dict(w.runs.get(run.run_uuid).training_metrics) == {
            "loss": None,
            "profit_factor": None,
            "ok": 1.5,
        }


def test_backtests_round_trip_in_bulk_and_are_deleted_with_their_run(uow, catalog) -> None:
    run = make_run(model_config(catalog))
    backtests = [make_backtest(run.run_uuid, i) for i in range(135)]
    backtests[3] = attrs.evolve(backtests[3], created_at=None)  # stamped by the database
    with uow() as w:
        w.runs.add(run)
        w.backtests.add_many(backtests)
        w.commit()
    with uow() as w:
        stored = w.backtests.for_run(run.run_uuid)
        assert [b.inference_hash for b in stored] == sorted(b.inference_hash for b in backtests)
        by_uuid = {b.backtest_uuid: b for b in stored}
        for original in backtests[:3] + backtests[4:]:
            assert by_uuid[original.backtest_uuid] == original
        assert by_uuid[backtests[3].backtest_uuid].created_at is not None
        assert w.backtests.get(backtests[10].backtest_uuid) == backtests[10]
        assert w.backtests.for_run(new_uuid()) == []
        with pytest.raises(NotFoundError):
            w.backtests.get(new_uuid())
        w.runs.delete(run.run_uuid)
        w.commit()
    with uow() as w:
        assert w.backtests.for_run(run.run_uuid) == []
        with pytest.raises(NotFoundError):
            w.runs.delete(run.run_uuid)


def test_delete_for_run_counts_what_it_deleted(uow, catalog) -> None:
    run = make_run(model_config(catalog))
    with uow() as w:
        w.runs.add(run)
        w.backtests.add_many([make_backtest(run.run_uuid, i) for i in range(5)])
        assert w.backtests.delete_for_run(run.run_uuid) == 5
        assert w.backtests.for_run(run.run_uuid) == []


def test_regime_definitions_round_trip(uow) -> None:
    with uow() as w:
        seeded = w.regimes.list()
        assert [attrs.evolve(r, created_at=None) for r in seeded] == list(
            DEFAULT_REGIME_DEFINITIONS
        )
        assert all(r.created_at is not None and r.created_at.tzinfo is UTC for r in seeded)
        extra = RegimeDefinition(
            name="crash",
            detection_rules={"realized_vol": "> 95th percentile", "signed_return": "< 0"},
            description="fast falls",
            detector="hmm",
            priority=5,
            is_active=False,
            created_at=T0,
        )
        w.regimes.add(extra)
        assert w.regimes.get("crash") == extra
        assert w.regimes.list()[0] == extra
        assert "crash" not in [r.name for r in w.regimes.list(active_only=True)]
        with pytest.raises(StorageError, match="exists"):
            w.regimes.add(extra)
        w.regimes.update(attrs.evolve(extra, priority=99, is_active=True, created_at=None))
        assert w.regimes.get("crash") == attrs.evolve(extra, priority=99, is_active=True)
        w.regimes.remove("crash")
        with pytest.raises(NotFoundError):
            w.regimes.get("crash")
        with pytest.raises(NotFoundError):
            w.regimes.remove("crash")


def _bests(run_uuid: str, backtest_uuids: list[str], regime: str) -> list[RegimeBest]:
    return [
        RegimeBest(regime, 9, run_uuid, b, 2.0 - i / 10, {"sortino": 1.5 + i}, T0)
        for i, b in enumerate(backtest_uuids)
    ]


def test_regime_bests_and_history_round_trip(uow, catalog) -> None:
    run = make_run(model_config(catalog))
    backtests = [make_backtest(run.run_uuid, i) for i in range(4)]
    uuids = [b.backtest_uuid for b in backtests]
    change = RegimeBestChange(
        "bull_trending", "entered", 1, run.run_uuid, uuids[0], 2.0, 1.0, new_uuid(), 1.0, 100.0, T0
    )
    with uow() as w:
        w.runs.add(run)
        w.backtests.add_many(backtests)
        w.bests.replace("bull_trending", _bests(run.run_uuid, uuids[:3], "bull_trending"))
        w.bests.replace("calm_ranging", _bests(run.run_uuid, uuids[3:], "calm_ranging"))
        w.bests.add_history([change, attrs.evolve(change, change="left", percent=None)])
        w.commit()
    with uow() as w:
        top = w.bests.top("bull_trending")
        assert [b.rank for b in top] == [1, 2, 3]
        assert top == [
            attrs.evolve(b, rank=i + 1)
            for i, b in enumerate(_bests(run.run_uuid, uuids[:3], "bull_trending"))
        ]
        assert set(w.bests.all()) == {"bull_trending", "calm_ranging"}
        assert w.bests.runs_with_rank() == {run.run_uuid}
        history = w.bests.history("bull_trending")
        assert [h.change for h in history] == ["left", "entered"]
        assert history[1] == change
        assert w.bests.history("calm_ranging") == []
        w.bests.replace("bull_trending", [])
        assert w.bests.top("bull_trending") == []
        w.runs.delete(run.run_uuid)
        assert w.bests.all() == {}
        assert len(w.bests.history()) == 2  # facts outlive their runs
        with pytest.raises(NotFoundError):
            w.bests.replace("bull_trending", _bests(new_uuid(), uuids[:1], "bull_trending"))


def test_queues_and_items_round_trip(uow, catalog) -> None:
    queue, items = make_queue(5)
    with uow() as w:
        w.queues.add(queue, items)
        w.commit()
    later = T0 + timedelta(minutes=5)
    running = queue.to(QueueStatus.RUNNING, later, coordinator_host="h", coordinator_pid=42)
    run = make_run(model_config(catalog), queue_uuid=queue.queue_uuid)
    with uow() as w:
        assert w.queues.get(queue.queue_uuid) == queue
        assert w.queues.get(queue.name) == queue  # by its name too
        assert w.queues.items(queue.queue_uuid) == items
        w.queues.update(attrs.evolve(running, heartbeat_at=later, message="hi"))
        w.runs.add(run)
        done = items[1].to(ItemStatus.RUNNING, attempts=1, claimed_by="w1", heartbeat_at=later)
        done = done.to(ItemStatus.COMPLETED, run_uuid=run.run_uuid)
        w.queues.update_item(done)
        w.commit()
    with uow() as w:
        assert w.queues.get(queue.queue_uuid) == attrs.evolve(
            running, heartbeat_at=later, message="hi"
        )
        assert w.queues.items(queue.queue_uuid, ItemStatus.COMPLETED) == [done]
        assert w.queues.count_items(queue.queue_uuid) == {
            ItemStatus.PENDING: 4,
            ItemStatus.COMPLETED: 1,
        }
        assert [q.queue_uuid for q in w.queues.list()] == [queue.queue_uuid]
        with pytest.raises(NotFoundError):
            w.queues.get("nope")
        with pytest.raises(NotFoundError):
            w.queues.update_item(attrs.evolve(done, index=99))
        w.runs.delete(run.run_uuid)  # the item keeps the uuid of its (deleted) run
        assert w.queues.items(queue.queue_uuid, ItemStatus.COMPLETED)[0].run_uuid == run.run_uuid


def test_runs_list_filters_orders_and_counts(uow, catalog) -> None:
    queue, items = make_queue(1)
    ridge = make_run(model_config(catalog), queue_uuid=queue.queue_uuid, at=T0)
    rf = make_run(
        model_config(catalog, model_type="rf", symbol="GOOG", model_hyperparams={}),
        status=RunStatus.FAILED,
        at=T0 + timedelta(hours=1),
    )
    lasso = attrs.evolve(
        make_run(
            model_config(catalog, model_type="lasso", model_hyperparams={}),
            at=T0 + timedelta(hours=2),
        ),
        is_model_kept=False,
    )
    with uow() as w:
        w.queues.add(queue, items)
        for run in (ridge, rf, lasso):
            w.runs.add(run)
        w.backtests.add_many([make_backtest(ridge.run_uuid, 0, sharpe=2.0, drawdown=-0.3)])
        w.backtests.add_many([make_backtest(lasso.run_uuid, 0, sharpe=0.5, drawdown=-0.05)])
        w.commit()

    def uuids(f: RunFilter | None = None, **kw) -> list[str]:
        with uow() as w:
            return [r.run_uuid for r in w.runs.list(f, **kw)]

    assert uuids() == [lasso.run_uuid, rf.run_uuid, ridge.run_uuid]
    assert uuids(order_by="created_at") == [ridge.run_uuid, rf.run_uuid, lasso.run_uuid]
    assert uuids(limit=1, offset=1) == [rf.run_uuid]
    assert uuids(order_by="-sharpe") == [ridge.run_uuid, lasso.run_uuid, rf.run_uuid]
    assert uuids(RunFilter(status=RunStatus.FAILED)) == [rf.run_uuid]
    assert uuids(RunFilter(model_type="lasso")) == [lasso.run_uuid]
    assert uuids(RunFilter(symbol="GOOG")) == [rf.run_uuid]
    assert uuids(RunFilter(queue_uuid=queue.queue_uuid)) == [ridge.run_uuid]
    assert uuids(RunFilter(kept=False)) == [lasso.run_uuid, rf.run_uuid]
    assert uuids(RunFilter(kept=True)) == [ridge.run_uuid]
    assert uuids(RunFilter(created_after=T0 + timedelta(minutes=30))) == [
        lasso.run_uuid,
        rf.run_uuid,
    ]
    assert uuids(RunFilter(created_before=T0 + timedelta(minutes=30))) == [ridge.run_uuid]
    assert uuids(RunFilter(text="BOOM")) == [rf.run_uuid]  # error message, any case
    assert uuids(RunFilter(text="goo")) == [rf.run_uuid]
    assert uuids(RunFilter(text="%")) == []  # wildcards are literal
    assert uuids(RunFilter(min_sharpe=1.0)) == [ridge.run_uuid]
    assert uuids(RunFilter(max_drawdown=0.1)) == [lasso.run_uuid]
    assert uuids(RunFilter(min_sharpe=1.0, max_drawdown=0.1)) == []
    with uow() as w:
        assert w.runs.count() == 3
        assert w.runs.count(RunFilter(status=RunStatus.COMPLETED)) == 2
        assert w.runs.count(RunFilter(queue_uuid=queue.queue_uuid, min_sharpe=1.5)) == 1
        with pytest.raises(InputError, match="order_by"):
            w.runs.list(order_by="-password")


def test_find_completed_answers_many_keys_in_batches(uow, catalog) -> None:
    configs = [model_config(catalog, horizon=h) for h in range(1, 6)]
    done = [make_run(c, fingerprint=f"{i}" * 64) for i, c in enumerate(configs[:3])]
    failed = make_run(configs[3], status=RunStatus.FAILED, fingerprint="3" * 64)
    with uow() as w:
        for run in [*done, failed]:
            w.runs.add(run)
        w.commit()
    keys = {(f"{i:064x}", "x" * 64) for i in range(2_500)}  # > 900: several chunks
    keys |= {(r.config_hash, r.data_fingerprint) for r in [*done, failed]}
    keys.add((done[0].config_hash, "other data" + "0" * 54))  # same config, other data
    with uow() as w:
        found = w.runs.find_completed(keys)
        assert found == {(r.config_hash, r.data_fingerprint): r.run_uuid for r in done}
        assert w.runs.find_completed([]) == {}


def test_the_unit_of_work_rolls_back_unless_committed(uow, catalog) -> None:
    run = make_run(model_config(catalog))
    unit = uow()
    with unit as w:
        w.runs.add(run)
    with unit as w:  # the same unit can be entered again
        with pytest.raises(NotFoundError):
            w.runs.get(run.run_uuid)
        w.runs.add(run)
        w.rollback()
        with pytest.raises(NotFoundError):
            w.runs.get(run.run_uuid)
    with pytest.raises(ValueError), unit as w:
        w.runs.add(run)
        raise ValueError("crash between writes")
    with unit as w:
        assert w.runs.count() == 0
        with pytest.raises(StorageError, match="already open"):
            unit.__enter__()
    with pytest.raises(StorageError, match="outside"):
        unit.commit()


def test_a_run_whose_seed_differs_from_its_config_is_refused(uow, catalog) -> None:
    run = attrs.evolve(make_run(model_config(catalog)), seed=99)
    with uow() as w, pytest.raises(StorageError, match="seed"):
        w.runs.add(run)
