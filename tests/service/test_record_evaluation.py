"""record_evaluation: one transaction for a run, its backtests, regime bests and queue progress."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from fake_tasks import INFERENCE, ListGrid, fake_result, make_configs
from fakes import FakeArtifactStore, FakeDatabase
from regimeforge.domain.events import ArtifactDeleteFailed, ModelDeleted, ModelKept, RunCompleted
from regimeforge.domain.regime_bests import best_candidates
from regimeforge.domain.regimes import DEFAULT_REGIMES
from regimeforge.domain.states import ItemStatus, RunStatus
from regimeforge.domain.usecases.items import Started, start_or_skip
from regimeforge.domain.usecases.queue_control import create_queue
from regimeforge.domain.usecases.record import RecordPolicy, record_evaluation

AT = datetime(2026, 3, 1, tzinfo=UTC)


class World:
    """A fake database with a queue of ``n`` configs and an artifact store."""

    def __init__(self, n: int = 3) -> None:
        self.db = FakeDatabase()
        self.store = FakeArtifactStore()
        self.configs = make_configs(n)
        self.queue = create_queue(
            self.db.uow(), name="q", config_grid={"grid": "test"}, grid=ListGrid(self.configs),
            inference_grid={}, at=AT,
        )  # fmt: skip

    def start(self, index: int) -> Started:
        with self.db.uow() as uow:
            item = uow.queues.claim_next(self.queue.queue_uuid, "h:1:t", AT)
            uow.commit()
        assert item is not None and item.index == index
        started = start_or_skip(
            self.db.uow(),
            item=item,
            config=self.configs[index],
            fingerprint="fp",
            run_uuid=f"run{index}",
            at=AT,
        )
        assert isinstance(started, Started)
        return started

    def record(self, index: int, policy: RecordPolicy | None = None):
        started = self.start(index)
        result = fake_result(self.configs[index].to_dict(), self.store, "fp")
        return started, result, record_evaluation(
            self.db.uow(), run=started.run, item=started.item, result=result,
            policy=policy or RecordPolicy(), artifacts=self.store, at=AT,
        )  # fmt: skip


def test_one_model_is_recorded_with_everything_it_changed() -> None:
    w = World()
    _started, result, recorded = w.record(0)
    tables = w.db.tables
    run = tables["runs"]["run0"]
    assert run.status is RunStatus.COMPLETED
    assert run.data_fingerprint == "fp" and run.model_file_sha256 == result.artifact.sha256
    assert len(tables["backtests"]) == len(INFERENCE) == recorded.backtest_count
    # The first run enters every regime where it has a sufficient backtest.
    expected = set(
        best_candidates(
            ((b.inference_hash, b.regime_metrics) for b in result.backtests),
            DEFAULT_REGIMES,
            "sharpe",
        )
    )
    assert set(tables["bests"]) == expected and run.best_regimes == tuple(sorted(expected))
    assert run.is_model_kept and w.store.exists(result.artifact.name)
    assert len(tables["history"]) == len(expected)
    item = tables["items"][(w.queue.queue_uuid, 0)]
    assert item.status is ItemStatus.COMPLETED and item.run_uuid == "run0"
    queue = tables["queues"][w.queue.queue_uuid]
    assert (queue.completed_count, queue.current_index, queue.consecutive_failures) == (1, 1, 0)
    assert isinstance(recorded.events[0], RunCompleted)
    assert any(isinstance(e, ModelKept) for e in recorded.events)


def test_a_failure_inside_the_transaction_leaves_nothing_and_no_orphan_file() -> None:
    w = World()
    started = w.start(0)
    result = fake_result(w.configs[0].to_dict(), w.store, "fp")
    before = {t: dict(v) for t, v in w.db.tables.items()}

    def boom(work: object) -> None:
        raise RuntimeError("the database went away")

    w.db.before_commit = boom
    with pytest.raises(RuntimeError, match="went away"):
        record_evaluation(
            w.db.uow(), run=started.run, item=started.item, result=result,
            policy=RecordPolicy(), artifacts=w.store, at=AT,
        )  # fmt: skip
    assert w.db.tables == before
    assert w.db.tables["runs"]["run0"].status is RunStatus.RUNNING
    assert not w.store.exists(result.artifact.name)


def test_a_model_that_improves_nothing_is_deleted_but_its_metadata_kept() -> None:
    w = World()
    w.record(0)
    started = w.start(1)
    result = fake_result(w.configs[1].to_dict(), w.store, "fp")
    # Every regime insufficient: this run can enter no top-N.
    result = attrs.evolve(
        result,
        backtests=tuple(
            attrs.evolve(
                b,
                regime_metrics={r: {**m, "sufficient": False} for r, m in b.regime_metrics.items()},
            )
            for b in result.backtests
        ),
    )
    recorded = record_evaluation(
        w.db.uow(), run=started.run, item=started.item, result=result,
        policy=RecordPolicy(), artifacts=w.store, at=AT,
    )  # fmt: skip
    run = w.db.tables["runs"]["run1"]
    assert not recorded.kept and not run.is_model_kept and run.best_regimes == ()
    assert not w.store.exists(result.artifact.name)
    assert run.model_file_sha256 == result.artifact.sha256  # the metadata stays
    assert len([b for b in w.db.tables["backtests"].values() if b.run_uuid == "run1"]) == 4
    deleted = [e for e in recorded.events if isinstance(e, ModelDeleted)]
    assert [(e.run_uuid, e.size_bytes) for e in deleted] == [("run1", result.artifact.size_bytes)]
    assert recorded.freed_bytes == result.artifact.size_bytes


def test_runs_pushed_out_of_every_top_n_lose_their_file_after_the_commit() -> None:
    w = World(n=6)
    policy = RecordPolicy(keep_top_n_per_regime=1)
    for index in range(6):
        w.record(index, policy)
    holders = {b.run_uuid for t in w.db.tables["bests"].values() for b in t}
    for run in w.db.tables["runs"].values():
        assert run.is_model_kept == (run.run_uuid in holders)
        assert w.store.exists(run.model_file_path) == run.is_model_kept
        assert set(run.best_regimes) == {
            r for r, t in w.db.tables["bests"].items() if any(b.run_uuid == run.run_uuid for b in t)
        }
    assert len(w.store.files) == len(holders) <= len(DEFAULT_REGIMES)


def _boosted(result, by: float = 100.0):
    """The result with every regime score raised and sufficient: it beats everything."""
    return attrs.evolve(
        result,
        backtests=tuple(
            attrs.evolve(
                b,
                regime_metrics={
                    r: {**m, "sharpe": m["sharpe"] + by, "sufficient": True}
                    for r, m in b.regime_metrics.items()
                },
            )
            for b in result.backtests
        ),
    )


def test_a_file_that_cannot_be_deleted_is_reported_and_the_record_stands() -> None:
    w = World()
    policy = RecordPolicy(keep_top_n_per_regime=1)
    _, first, _ = w.record(0, policy)
    w.store.fail_delete.add(first.artifact.name)
    started = w.start(1)
    result = _boosted(fake_result(w.configs[1].to_dict(), w.store, "fp"))
    recorded = record_evaluation(
        w.db.uow(), run=started.run, item=started.item, result=result,
        policy=policy, artifacts=w.store, at=AT,
    )  # fmt: skip
    run0 = w.db.tables["runs"]["run0"]
    assert not run0.is_model_kept and run0.best_regimes == ()
    assert recorded.deleted_runs == ("run0",)
    failed = [e for e in recorded.events if isinstance(e, ArtifactDeleteFailed)]
    assert [e.run_uuid for e in failed] == ["run0"]
    assert w.store.exists(first.artifact.name)  # left for `models cleanup`
    assert w.db.tables["queues"][w.queue.queue_uuid].completed_count == 2


def test_without_delete_non_best_models_every_file_stays() -> None:
    w = World(n=4)
    policy = RecordPolicy(keep_top_n_per_regime=1, delete_non_best_models=False)
    events = []
    for index in range(4):
        events.extend(w.record(index, policy)[2].events)
    assert all(r.is_model_kept for r in w.db.tables["runs"].values())
    assert len(w.store.files) == 4
    assert not any(isinstance(e, ModelDeleted) for e in events)


def test_a_malformed_result_leaves_no_file_behind() -> None:
    w = World()
    started = w.start(0)
    result = fake_result(w.configs[0].to_dict(), w.store, "fp")
    bad = attrs.evolve(
        result, backtests=(attrs.evolve(result.backtests[0], inference_hash="0" * 64),)
    )
    with pytest.raises(ValueError, match="does not match"):
        record_evaluation(
            w.db.uow(), run=started.run, item=started.item, result=bad,
            policy=RecordPolicy(), artifacts=w.store, at=AT,
        )  # fmt: skip
    assert not w.store.exists(result.artifact.name)
    assert w.db.tables["backtests"] == {}
