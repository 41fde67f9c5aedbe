"""Removing runs from the regime top-N by hand, and comparing re-run metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from regimeforge.domain.regimes import RegimeBest
from regimeforge.domain.usecases.ranks import DELETED, drop_ranks, holdings
from regimeforge.domain.usecases.reinference import same_metrics

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def best(regime: str, rank: int, run: str, score: float) -> RegimeBest:
    return RegimeBest(regime, rank, run, f"{run}-bt-{regime}", score, {}, AT)


TOPS = {
    "bull": [best("bull", 1, "a", 3.0), best("bull", 2, "b", 2.0), best("bull", 3, "c", 1.0)],
    "bear": [best("bear", 1, "b", 5.0), best("bear", 2, "a", 4.0)],
    "calm": [best("calm", 1, "c", 0.5)],
}


def test_removed_ranks_close_up_and_each_removal_is_a_fact() -> None:
    removal = drop_ranks(TOPS, {"a"}, at=AT, change=DELETED)
    assert removal.regimes == ("bear", "bull")  # calm did not hold run a
    assert [(e.run_uuid, e.rank) for e in removal.tops["bull"]] == [("b", 1), ("c", 2)]
    assert [(e.run_uuid, e.rank) for e in removal.tops["bear"]] == [("b", 1)]
    facts = sorted((c.regime_name, c.rank, c.change, c.run_uuid) for c in removal.changes)
    assert facts == [("bear", 2, "deleted", "a"), ("bull", 1, "deleted", "a")]
    assert all(c.at == AT and c.backtest_uuid == f"a-bt-{c.regime_name}" for c in removal.changes)


def test_a_regime_can_be_emptied_and_untouched_runs_change_nothing() -> None:
    assert drop_ranks(TOPS, {"zzz"}, at=AT, change=DELETED).tops == {}
    removal = drop_ranks(TOPS, {"c", "b"}, at=AT, change="file_missing")
    assert removal.tops["calm"] == ()
    assert [(e.run_uuid, e.rank) for e in removal.tops["bull"]] == [("a", 1)]
    assert holdings({**TOPS, **removal.tops}) == {"a": ("bear", "bull")}


def test_same_metrics_tolerates_rounding_and_null_for_nan() -> None:
    recorded = {"sharpe": 1.2345678901234, "max_drawdown": None, "n_trades": 12}
    assert same_metrics(recorded, {"sharpe": 1.2345678901235, "max_drawdown": math.nan,
                                   "n_trades": 12.0})  # fmt: skip
    assert not same_metrics(recorded, {**recorded, "sharpe": 1.24})
    assert not same_metrics(recorded, {**recorded, "extra": 1.0})
