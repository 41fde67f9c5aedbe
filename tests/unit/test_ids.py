"""Identifiers: random ones for runs and queues; ordered ones (UUID version 7) for backtests."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regimeforge.domain import ids


def time_ms(identifier: str) -> int:
    """The Unix time in milliseconds a version 7 identifier starts with (its first 48 bits)."""
    return int(identifier[:12], 16)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A clock the test moves: ``new_ordered_id`` reads the list's last value (milliseconds)."""
    moments = [1_700_000_000_000]
    monkeypatch.setattr(ids.time, "time_ns", lambda: moments[-1] * 1_000_000)
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)
    return moments


def test_an_id_is_a_version_7_uuid_that_starts_with_its_time(clock: list[int]) -> None:
    made = ids.new_ordered_id()
    parsed = uuid.UUID(made)
    assert len(made) == 32 and made == parsed.hex
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert time_ms(made) == clock[-1]


@given(steps=st.lists(st.integers(-5_000, 5_000), min_size=1, max_size=300))
def test_ids_only_increase_whatever_the_clock_does(steps: list[int]) -> None:
    # Forwards, backwards, standing still: each id sorts after the one before.
    start = 1_700_000_000_000
    moments = [start]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ids.time, "time_ns", lambda: moments[-1] * 1_000_000)
        mp.setattr(ids, "_last_ms", 0)
        made = [ids.new_ordered_id()]
        for step in steps:
            moments.append(max(start, moments[-1] + step))
            made.append(ids.new_ordered_id())
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(uuid.UUID(m).version == 7 for m in made)


def test_a_full_millisecond_moves_on_to_the_next(clock: list[int]) -> None:
    made = [ids.new_ordered_id() for _ in range(4096 + 10)]  # more than the 12-bit counter holds
    assert made == sorted(made) and len(set(made)) == len(made)
    assert time_ms(made[0]) == clock[-1]
    assert time_ms(made[-1]) == clock[-1] + 1  # borrowed from the next millisecond


def test_backtests_are_told_apart_by_the_random_end_of_their_ids() -> None:
    made = [ids.new_ordered_id() for _ in range(2000)]
    assert len({ids.short_backtest_id(m) for m in made}) == 2000
    assert all(ids.short_backtest_id(m) == m[-8:] for m in made)


def test_run_ids_are_random_version_4_uuids_that_differ_from_the_start() -> None:
    made = [ids.new_id() for _ in range(2000)]
    assert all(uuid.UUID(m).version == 4 and uuid.UUID(m).hex == m for m in made)
    assert len({m[:8] for m in made}) == 2000  # a prefix names a run (runs show 3fa85f64)
