"""Claiming queue items: lowest pending first, atomically, never the same item twice.

On PostgreSQL several workers claim concurrently (SELECT ... FOR UPDATE SKIP LOCKED); on SQLite
claims are serialised by the IMMEDIATE transactions. Both are hammered from threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from storage_helpers import T0, make_queue, new_uuid

from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.entities import QueueItem
from regimeforge.domain.errors import NotFoundError
from regimeforge.domain.states import ItemStatus

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    engine = make_engine(db_url, pool_size=8)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine: Engine) -> UowFactory:
    return lambda: SqlAlchemyUnitOfWork(engine)


def test_claims_take_the_lowest_pending_item_and_count_attempts(uow) -> None:
    queue, items = make_queue(4)
    other, other_items = make_queue(2, name="other")
    with uow() as w:
        w.queues.add(queue, items)
        w.queues.add(other, other_items)
        w.queues.update_item(items[0].to(ItemStatus.SKIPPED))
        w.commit()
    with uow() as w:
        first = w.queues.claim_next(queue.queue_uuid, "worker-a", T0)
        w.commit()
    assert first == QueueItem(
        queue.queue_uuid, 1, items[1].config_hash, ItemStatus.RUNNING, 1, "worker-a", T0
    )
    with uow() as w:  # released (crashed worker) and claimed again: attempts 2
        w.queues.update_item(first.to(ItemStatus.PENDING, claimed_by=None))
        again = w.queues.claim_next(queue.queue_uuid, "worker-b", T0 + timedelta(seconds=1))
        assert again is not None and (again.index, again.attempts) == (1, 2)
        claimed = [w.queues.claim_next(queue.queue_uuid, "worker-b", T0) for _ in range(3)]
        assert [c.index if c else None for c in claimed] == [2, 3, None]
        assert w.queues.count_items(other.queue_uuid) == {ItemStatus.PENDING: 2}
        with pytest.raises(NotFoundError):
            w.queues.claim_next(new_uuid(), "worker-b", T0)


def test_a_claim_that_is_not_committed_is_not_taken(uow) -> None:
    queue, items = make_queue(2)
    with uow() as w:
        w.queues.add(queue, items)
        w.commit()
    with uow() as w:
        assert w.queues.claim_next(queue.queue_uuid, "crashing", T0).index == 0
    with uow() as w:
        assert w.queues.claim_next(queue.queue_uuid, "next", T0).index == 0


def test_concurrent_workers_never_claim_the_same_item(uow) -> None:
    n_items, n_workers = 60, 6
    queue, items = make_queue(n_items)
    with uow() as w:
        w.queues.add(queue, items)
        w.commit()
    claims: dict[str, list[int]] = {f"w{i}": [] for i in range(n_workers)}
    errors: list[BaseException] = []
    start = threading.Barrier(n_workers)

    def work(name: str) -> None:
        try:
            start.wait()
            while True:
                with uow() as w:
                    item = w.queues.claim_next(queue.queue_uuid, name, T0)
                    if item is None:
                        return
                    # Hold the claim's lock while doing a little more work in the transaction.
                    w.queues.count_items(queue.queue_uuid)
                    w.commit()
                claims[name].append(item.index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    taken = Counter(i for indexes in claims.values() for i in indexes)
    assert sorted(taken) == list(range(n_items))
    assert set(taken.values()) == {1}
    with uow() as w:
        stored = w.queues.items(queue.queue_uuid)
    assert all(i.status is ItemStatus.RUNNING and i.attempts == 1 for i in stored)
    assert {i.index: i.claimed_by for i in stored} == {
        i: name for name, indexes in claims.items() for i in indexes
    }


@pytest.mark.postgres
def test_skip_locked_lets_a_second_worker_pass_a_held_claim(pg_url: str) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        queue, items = make_queue(3)
        with SqlAlchemyUnitOfWork(engine) as w:
            w.queues.add(queue, items)
            w.commit()
        with SqlAlchemyUnitOfWork(engine) as holder:
            held = holder.queues.claim_next(queue.queue_uuid, "slow", T0)
            # The holder has not committed: its row is locked; another worker skips it.
            with SqlAlchemyUnitOfWork(engine) as other:
                passed = other.queues.claim_next(queue.queue_uuid, "fast", T0)
                other.commit()
            holder.commit()
        assert (held.index, passed.index) == (0, 1)
    finally:
        engine.dispose()
