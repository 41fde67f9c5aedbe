"""The schema's own rules, on SQLite and PostgreSQL: what the database refuses, what cascades.

Each rule is checked twice where it matters: through the repositories (a StorageError with a
clear message) and with plain SQL (the database itself refuses, whatever code writes to it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from storage_helpers import T0, make_backtest, make_queue, make_run, model_config, new_uuid

from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.errors import NotFoundError, StorageError
from regimeforge.domain.regimes import RegimeBest
from regimeforge.domain.states import ItemStatus, RunStatus

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


def _stored_run(uow: UowFactory, catalog, **kw):
    run = make_run(model_config(catalog), **kw)
    backtest = make_backtest(run.run_uuid, 0)
    with uow() as w:
        w.runs.add(run)
        w.backtests.add_many([backtest])
        w.commit()
    return run, backtest


def _ids(engine: Engine, run_uuid: str) -> tuple[int, int]:
    with engine.connect() as conn:
        run_id = conn.scalar(
            sa.text("SELECT id FROM training_runs WHERE run_uuid = :u"), {"u": run_uuid}
        )
        bt_id = conn.scalar(
            sa.text("SELECT id FROM inference_backtests WHERE training_run_id = :r"), {"r": run_id}
        )
    return int(run_id), int(bt_id)


def _refused(engine: Engine, sql: str, **params) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text(sql), params)


BEST_SQL = (
    "INSERT INTO regime_best_models (regime_name, rank, training_run_id, inference_backtest_id,"
    " performance_score, secondary_metrics) VALUES (:regime, :rank, :run, :bt, 1.0, '{}')"
)


def test_a_second_completed_run_of_the_same_config_and_data_is_refused(uow, catalog) -> None:
    first, _ = _stored_run(uow, catalog)
    with uow() as w:
        with pytest.raises(StorageError, match="same config hash and data fingerprint"):
            w.runs.add(make_run(first.config))
        with pytest.raises(StorageError, match="same config hash"):
            w.runs.add(make_run(first.config, status=RunStatus.RUNNING))
        # The refused statements left the transaction usable (savepoints).
        for status in (RunStatus.FAILED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.PENDING):
            w.runs.add(make_run(first.config, status=status))
        w.runs.add(make_run(first.config, fingerprint="0" * 64))  # other data: allowed
        w.commit()
    with uow() as w:
        assert w.runs.count() == 6
        retry = make_run(first.config, status=RunStatus.PENDING)
        w.runs.add(retry)
        with pytest.raises(StorageError, match="same config hash"):
            w.runs.update(retry.start(T0, first.data_fingerprint))


def test_the_partial_unique_index_holds_in_plain_sql(engine, uow, catalog) -> None:
    first, _ = _stored_run(uow, catalog)
    with engine.begin() as conn:
        row = dict(
            conn.execute(
                sa.text("SELECT * FROM training_runs WHERE run_uuid = :u"), {"u": first.run_uuid}
            )
            .mappings()
            .one()
        )
    del row["id"]
    columns = ", ".join(row)
    sql = f"INSERT INTO training_runs ({columns}) VALUES ({', '.join(':' + c for c in row)})"
    twin = {**row, "run_uuid": new_uuid(), "status": "completed"}
    for key in (
        "indicator_tfs",
        "additional_features",
        "preprocessing_params",
        "model_hyperparams",
        "encoder_params",
        "training_metrics",
        "best_regimes",
    ):
        twin[key] = json.dumps(twin[key])
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text(sql), twin)
    with engine.begin() as conn:  # a failed one of the same config is fine
        conn.execute(sa.text(sql), {**twin, "status": "failed"})


def test_a_backtest_of_a_missing_run_is_refused(engine, uow, catalog) -> None:
    with uow() as w, pytest.raises(NotFoundError, match="do not exist"):
        w.backtests.add_many([make_backtest(new_uuid(), 0)])
    _refused(
        engine,
        "INSERT INTO inference_backtests (backtest_uuid, training_run_id, prediction_method,"
        " ensemble_method, confidence_threshold, lookback_window, inference_params,"
        " inference_hash, backtest_metrics, regime_metrics, duration_seconds)"
        " VALUES (:u, 987654, 'direct', 'mean', 0.5, 50, '{}', :h, '{}', '{}', 0.1)",
        u=new_uuid(),
        h="1" * 64,
    )


def test_a_duplicate_backtest_of_a_run_is_refused(uow, catalog) -> None:
    _run, backtest = _stored_run(uow, catalog)
    twin = attrs.evolve(backtest, backtest_uuid=new_uuid())
    with uow() as w, pytest.raises(StorageError, match="already has a backtest"):
        w.backtests.add_many([twin])


def test_a_second_best_at_the_same_rank_is_refused(engine, uow, catalog) -> None:
    run, backtest = _stored_run(uow, catalog)
    run_id, bt_id = _ids(engine, run.run_uuid)
    with engine.begin() as conn:
        conn.execute(
            sa.text(BEST_SQL), {"regime": "bull_trending", "rank": 1, "run": run_id, "bt": bt_id}
        )
    _refused(engine, BEST_SQL, regime="bull_trending", rank=1, run=run_id, bt=bt_id)
    _refused(engine, BEST_SQL, regime="bull_trending", rank=0, run=run_id, bt=bt_id)  # rank >= 1
    _refused(engine, BEST_SQL, regime="no_such_regime", rank=1, run=run_id, bt=bt_id)
    _refused(engine, BEST_SQL, regime="bear_trending", rank=1, run=run_id, bt=987654)
    best = RegimeBest("no_such_regime", 1, run.run_uuid, backtest.backtest_uuid, 1.0)
    with uow() as w, pytest.raises(StorageError, match="does not exist"):
        w.bests.replace("no_such_regime", [best])


def test_statuses_outside_the_state_machines_are_refused(engine, uow, catalog) -> None:
    run, _ = _stored_run(uow, catalog)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE training_runs SET status = 'exploded' WHERE run_uuid = :u"),
            {"u": run.run_uuid},
        )


def test_deleting_a_run_cascades_to_backtests_and_bests_and_unlinks_queue_items(
    engine, uow, catalog
) -> None:
    queue, items = make_queue(2)
    run = make_run(model_config(catalog), queue_uuid=queue.queue_uuid)
    backtest = make_backtest(run.run_uuid, 0)
    with uow() as w:
        w.queues.add(queue, items)
        w.runs.add(run)
        w.backtests.add_many([backtest])
        w.bests.replace(
            "bull_trending",
            [RegimeBest("bull_trending", 1, run.run_uuid, backtest.backtest_uuid, 1.2)],
        )
        w.queues.update_item(items[0].to(ItemStatus.RUNNING, run_uuid=run.run_uuid))
        w.commit()
    with engine.connect() as conn:
        linked = "SELECT training_run_id FROM training_queue_items WHERE item_index = 0"
        assert conn.scalar(sa.text(linked)) is not None
    with uow() as w:
        w.runs.delete(run.run_uuid)
        w.commit()
    with engine.connect() as conn:
        for table in ("inference_backtests", "regime_best_models"):
            assert conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 0
        assert conn.scalar(sa.text(linked)) is None
        kept = "SELECT run_uuid FROM training_queue_items WHERE item_index = 0"
        assert conn.scalar(sa.text(kept)) == run.run_uuid
    with uow() as w:  # removing a regime removes its bests; deleting a queue its items
        w.regimes.remove("bull_trending")
        w.commit()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM training_queue"))
        assert conn.scalar(sa.text("SELECT count(*) FROM training_queue_items")) == 0


def test_duplicate_uuids_and_names_are_refused(uow, catalog) -> None:
    run, _ = _stored_run(uow, catalog)
    queue, items = make_queue(1)
    with uow() as w:
        with pytest.raises(StorageError, match="uuid exists"):
            w.runs.add(attrs.evolve(run, status=RunStatus.FAILED))
        w.queues.add(queue, items)
        with pytest.raises(StorageError, match="queue with this uuid"):
            w.queues.add(queue, [])
