"""Regime bests: the improvement rule, top-N invariants, order independence, the gate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.regime_bests import (
    Candidate,
    best_candidates,
    to_candidates,
    update_bests,
)
from regimeforge.domain.regimes import RegimeBest
from regimeforge.domain.significance import block_bootstrap_better

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def cand(run: str, score: float, minutes: int = 0, regime: str = "bull") -> Candidate:
    return Candidate(regime, run, f"bt-{run}-{score}", score, {}, T0 + timedelta(minutes=minutes))


def feed(
    runs: Sequence[Candidate], top_n: int, higher: bool = True
) -> dict[str, tuple[RegimeBest, ...]]:
    state: dict[str, tuple[RegimeBest, ...]] = {}
    for c in runs:
        state.update(update_bests(state, [c], top_n=top_n, higher_is_better=higher, at=T0).tops)
    return state


def test_strictly_better_enters_with_delta_and_percent() -> None:
    state = feed([cand("a", 1.0), cand("b", 0.5, 1)], top_n=2)
    update = update_bests(state, [cand("c", 1.5, 2)], top_n=2, at=T0)
    entered = [c for c in update.changes if c.change == "entered"]
    left = [c for c in update.changes if c.change == "left"]
    assert [(c.run_uuid, c.rank, c.previous_score, c.delta, c.percent) for c in entered] == [
        ("c", 1, 1.0, 0.5, 50.0)
    ]
    assert [c.run_uuid for c in left] == ["b"] and update.runs_without_rank == {"b"}
    assert [e.run_uuid for e in update.tops["bull"]] == ["c", "a"]


def test_ties_do_not_enter_and_percent_needs_a_positive_old_score() -> None:
    state = feed([cand("a", -1.0)], top_n=1)
    assert update_bests(state, [cand("b", -1.0, 5)], top_n=1, at=T0).tops == {}
    update = update_bests(state, [cand("b", -0.5, 5)], top_n=1, at=T0)
    (entered,) = [c for c in update.changes if c.change == "entered"]
    assert entered.delta == 0.5 and entered.percent is None


def test_lower_is_better_and_a_runs_better_backtest_replaces_its_own() -> None:
    state = feed([cand("a", 3.0), cand("b", 2.0, 1)], top_n=3, higher=False)
    assert [e.run_uuid for e in state["bull"]] == ["b", "a"]
    update = update_bests(state, [cand("a", 1.0, 2)], top_n=3, higher_is_better=False, at=T0)
    assert [(e.run_uuid, e.performance_score) for e in update.tops["bull"]] == [
        ("a", 1.0),
        ("b", 2.0),
    ]
    assert update.runs_without_rank == frozenset()


def test_runs_keep_their_files_while_they_rank_in_any_regime() -> None:
    state = feed([cand("a", 1.0, 0, "bull"), cand("a", 1.0, 0, "calm")], top_n=1)
    update = update_bests(state, [cand("b", 2.0, 1, "bull")], top_n=1, at=T0)
    assert update.runs_without_rank == frozenset()
    state.update(update.tops)
    update = update_bests(state, [cand("c", 2.0, 1, "calm")], top_n=1, at=T0)
    assert update.runs_without_rank == {"a"}


runs_strategy = st.lists(
    st.tuples(st.sampled_from("abcdefgh"), st.integers(-3, 3), st.integers(0, 5)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(runs_strategy, st.integers(1, 4), st.booleans(), st.randoms(use_true_random=False))
def test_properties(raw: list[tuple[str, int, int]], top_n: int, higher: bool, rnd: object) -> None:
    # One candidate per (run, score) pair; a run achieves its scores at its own time.
    runs = [cand(r, float(s), minutes=ord(r) * 10 + m) for r, s, m in raw]
    runs.sort(key=lambda c: c.achieved_at)
    state: dict[str, tuple[RegimeBest, ...]] = {}
    for c in runs:
        update = update_bests(state, [c], top_n=top_n, higher_is_better=higher, at=T0)
        before = {e.rank: e for e in state.get("bull", ())}
        for change in update.changes:
            if change.change == "entered" and change.rank in before:
                old = before[change.rank].performance_score
                score = change.performance_score
                assert (score > old) if higher else (score < old)
                assert change.delta is not None and change.delta > 0
        state.update(update.tops)
        top = state.get("bull", ())
        scores = [e.performance_score for e in top]
        assert scores == sorted(scores, reverse=higher)
        assert len(top) <= top_n and len({e.run_uuid for e in top}) == len(top)
        assert [e.rank for e in top] == list(range(1, len(top) + 1))
    shuffled = list(runs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert _ids(feed(shuffled, top_n, higher)) == _ids(state)


def _ids(state: Mapping[str, Sequence[RegimeBest]]) -> list[tuple[str, str]]:
    return [(e.run_uuid, e.backtest_uuid) for e in state.get("bull", ())]


def test_best_candidates_skips_insufficient_and_non_finite() -> None:
    results = [
        ("bt1", {"bull": {"sharpe": 1.0, "sufficient": True}, "calm": {"sharpe": 9.0}}),
        ("bt2", {"bull": {"sharpe": 2.0}, "calm": {"sharpe": 0.1, "sufficient": True}}),
        ("bt3", {"bull": {"sharpe": float("nan"), "sufficient": True}}),
    ]
    best = best_candidates(results, ["bull", "calm"], "sharpe")
    assert {k: v[:2] for k, v in best.items()} == {"bull": ("bt1", 1.0), "calm": ("bt2", 0.1)}
    (first, _) = to_candidates(best, run_uuid="r", achieved_at=T0)
    assert first.regime_name == "bull" and first.backtest_uuid == "bt1"


def test_significance_gate() -> None:
    rng = np.random.default_rng(0)
    strong, weak = rng.normal(0.002, 0.01, 2000), rng.normal(0.0, 0.01, 2000)
    assert block_bootstrap_better(strong, weak, confidence=0.95, block_size=20, n_bootstrap=500)
    assert not block_bootstrap_better(weak, strong, confidence=0.95, block_size=20, n_bootstrap=500)
    noise = weak + rng.normal(0, 1e-5, 2000)
    assert not block_bootstrap_better(noise, weak, confidence=0.95, block_size=20, n_bootstrap=500)
    returns = {"bt-a-1.0": weak, "bt-b-1.1": rng.normal(0.0, 0.01, 2000), "bt-c-1.2": strong}
    state = feed([cand("a", 1.0)], top_n=1)

    def gate(challenger: Candidate, incumbent: RegimeBest) -> bool:
        return block_bootstrap_better(
            returns[challenger.backtest_uuid], returns[incumbent.backtest_uuid], seed=1
        )

    assert update_bests(state, [cand("b", 1.1, 1)], top_n=1, at=T0, gate=gate).tops == {}
    assert "bull" in update_bests(state, [cand("c", 1.2, 1)], top_n=1, at=T0, gate=gate).tops
