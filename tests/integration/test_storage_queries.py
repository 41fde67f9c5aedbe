"""The read-only queries of the ``runs``/``models`` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
from storage_helpers import T0, make_backtest, make_run, model_config

from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.migrate import upgrade
from regimeforge.adapters.storage.queries import (
    count_runs,
    distinct_values,
    find_runs,
    resolve_runs,
    run_keys,
    storage_figures,
)
from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork
from regimeforge.domain.errors import ConfigError
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.regimes import RegimeBest
from regimeforge.domain.states import RunStatus
from regimeforge.domain.usecases.model_files import MISSING_NOTE

UowFactory = Callable[[], SqlAlchemyUnitOfWork]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def uow(request: pytest.FixtureRequest) -> Iterator[UowFactory]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    upgrade(url)
    engine = make_engine(url)
    yield lambda: SqlAlchemyUnitOfWork(engine)
    engine.dispose()


@pytest.fixture
def runs(uow: UowFactory, catalog: Any) -> dict[str, Any]:
    """Five runs with chosen uuids: three ridge (two kept, one freed), a lasso, a failed rf."""
    ridge = [model_config(catalog, horizon=h) for h in (3, 5, 7)]
    lasso = model_config(catalog, model_type="lasso", symbol="GBP/USD",
                         model_hyperparams={"alpha": 0.0123})  # fmt: skip
    rf = model_config(catalog, model_type="rf", encoder="none", encoder_params={},
                      model_hyperparams={"n_estimators": 10})  # fmt: skip
    made = {
        "a": attrs.evolve(
            make_run(ridge[0], at=T0), run_uuid="abcd0001" + "0" * 24, model_file_size_bytes=1000
        ),
        "b": attrs.evolve(
            make_run(ridge[1], at=T0 + timedelta(days=1)),
            run_uuid="abcd0002" + "0" * 24,
            model_file_size_bytes=2000,
        ),
        "c": attrs.evolve(
            make_run(ridge[2], at=T0 + timedelta(days=2)),
            run_uuid="ef010000" + "0" * 24,
            model_file_size_bytes=400,
            is_model_kept=False,
            best_regimes=(),
        ),
        "d": attrs.evolve(
            make_run(lasso, at=T0 + timedelta(days=3)),
            run_uuid="ef020000" + "0" * 24,
            model_file_size_bytes=30,
            is_model_kept=False,
            best_regimes=(),
            error_message=f"{MISSING_NOTE}: x/y; cleared",
        ),
        "e": attrs.evolve(
            make_run(rf, status=RunStatus.FAILED, at=T0 + timedelta(days=4)),
            run_uuid="12340000" + "0" * 24,
        ),
    }
    backtests = {
        "a": [make_backtest(made["a"].run_uuid, i, sharpe=s, drawdown=-0.3)
              for i, s in enumerate((0.5, 2.5, 1.0))],
        "b": [make_backtest(made["b"].run_uuid, i, sharpe=s, drawdown=-0.05)
              for i, s in enumerate((1.5, -1.0))],
        "c": [make_backtest(made["c"].run_uuid, 0, sharpe=0.1)],
    }  # fmt: skip
    with uow() as w:
        for run in made.values():
            w.runs.add(run)
        for found in backtests.values():
            w.backtests.add_many(found)
        a, b = backtests["a"][1], backtests["b"][0]
        w.bests.replace("bull_trending", [
            RegimeBest("bull_trending", 1, a.run_uuid, a.backtest_uuid, 3.0, {}, T0),
            RegimeBest("bull_trending", 2, b.run_uuid, b.backtest_uuid, 2.0, {}, T0),
        ])  # fmt: skip
        w.bests.replace("calm_ranging", [
            RegimeBest("calm_ranging", 1, a.run_uuid, backtests["a"][0].backtest_uuid, 1.0, {}, T0),
            RegimeBest("calm_ranging", 2, a.run_uuid, a.backtest_uuid, 0.9, {}, T0),
        ])  # fmt: skip
        w.commit()
    return {k: r.run_uuid for k, r in made.items()}


def _uuids(found: list[Any]) -> list[str]:
    return [s.run.run_uuid for s in found]


def test_runs_are_resolved_by_id_or_uuid_prefix(uow: UowFactory, runs: dict[str, str]) -> None:
    with uow() as w:
        keys = run_keys(w.session, list(runs.values()))
        by_id = str(keys[runs["c"]])
        assert resolve_runs(w.session, [by_id, "abcd0002", "EF02"]) == [
            runs["c"], runs["b"], runs["d"]]  # fmt: skip
        assert resolve_runs(w.session, ["abcd-0001"]) == [runs["a"]]  # dashes are ignored
        with pytest.raises(ConfigError) as raised:
            resolve_runs(w.session, ["abcd", "zz", "ffff", "abcd0001", "abcd0001"])
    messages = [str(p) for p in raised.value.problems]
    assert len(messages) == 4
    assert "'abcd' matches several runs" in messages[0] and "more characters" in messages[0]
    assert "'zz' is not a run id or uuid prefix" in messages[1]
    assert "no run matches 'ffff'" in messages[2]
    assert "given twice" in messages[3]
    assert all(m.startswith("RUN: ") for m in messages)


def test_short_digit_strings_are_ids_and_longer_ones_uuid_prefixes(
    uow: UowFactory, runs: dict[str, str]
) -> None:
    with uow() as w:
        keys = run_keys(w.session, list(runs.values()))
        assert [keys[runs[k]] for k in "abcde"] == [1, 2, 3, 4, 5]  # insertion order
        assert resolve_runs(w.session, ["2", "1234"]) == [runs["b"], runs["e"]]
        with pytest.raises(ConfigError, match="no run matches '99'"):
            resolve_runs(w.session, ["99"])


def test_search_looks_in_columns_and_inside_the_config_documents(
    uow: UowFactory, runs: dict[str, str]
) -> None:
    with uow() as w:

        def search(text: str) -> set[str]:
            return set(_uuids(find_runs(w.session, search=text, limit=None)))

        assert search("0.0123") == {runs["d"]}  # a hyperparameter value
        assert search("GBP") == search("gbp") == {runs["d"]}  # symbol, any case
        assert search("macd") == set(runs.values())  # inside indicator_tfs
        assert search("it broke") == {runs["e"]}  # the error message
        assert search("ef0200000000") == {runs["d"]}  # uuid text
        assert search("%") == set()  # % is literal, not a wildcard
        assert count_runs(w.session, search="ridge") == 3


def test_find_runs_counts_backtests_and_sorts_by_best_score(
    uow: UowFactory, runs: dict[str, str]
) -> None:
    with uow() as w:
        found = find_runs(w.session, sort="-score", limit=None)
        scores = {s.run.run_uuid: (s.backtests, s.best_score) for s in found}
        lower = find_runs(w.session, sort="-score", limit=None, higher_is_better=False)
        page = find_runs(w.session, sort="id", limit=2, offset=1)
        filtered = find_runs(w.session, RunFilter(min_sharpe=1.2, max_drawdown=0.1), limit=None)
        with pytest.raises(ConfigError, match="--sort: cannot sort by 'nope'"):
            find_runs(w.session, sort="nope")
    # best 2.5, 1.5, 0.1, then the runs without a score (newest id first)
    assert _uuids(found) == [runs["a"], runs["b"], runs["c"], runs["e"], runs["d"]]
    assert scores[runs["a"]] == (3, 2.5) and scores[runs["b"]] == (2, 1.5)
    assert scores[runs["d"]] == (0, None)
    assert _uuids(lower)[:3] == [runs["b"], runs["c"], runs["a"]]  # lowest minimum first
    assert _uuids(page) == [runs["b"], runs["c"]]
    assert _uuids(filtered) == [runs["b"]]  # run a reaches 2.5 only with a 30 % drawdown


def test_storage_figures_split_kept_freed_and_lost_files(
    uow: UowFactory, runs: dict[str, str]
) -> None:
    with uow() as w:
        figures = storage_figures(w.session)
        types = distinct_values(w.session, "model_type")
    assert (figures.kept_files, figures.kept_bytes) == (2, 3000)
    assert (figures.freed_files, figures.freed_bytes) == (1, 400)  # run c; d was lost, e failed
    assert figures.lost_files == 1
    assert {(g.name, g.files, g.bytes) for g in figures.by_regime} == {
        ("bull_trending", 2, 3000),
        ("calm_ranging", 1, 1000),  # run a holds two ranks there: counted once
    }
    assert [(g.name, g.files, g.bytes) for g in figures.by_model_type] == [("ridge", 2, 3000)]
    assert types == ["lasso", "rf", "ridge"]
