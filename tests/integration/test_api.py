"""The Python API end to end: a real tiny grid (ridge on synthetic bars) through ``regimeforge``.

One workspace is stopped with a cancel token after its first model and resumed; another runs the
same grid straight through. Their databases must agree, and the best model of a regime must
forecast fresh bars exactly as the inner loop did at training time, causally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import regimeforge as rf
from regimeforge.domain import events as ev
from regimeforge.domain.errors import ConfigError, DataError, NotFoundError
from regimeforge.domain.states import QueueStatus, RunStatus
from regimeforge.domain.synthetic import generate_regime_bars

pytestmark = pytest.mark.slow

GRID: dict[str, Any] = {
    "name": "api-tiny",
    "data": {"source": "synthetic", "bars": 4000, "seed": 5},
    "grid": {
        "model_type": ["ridge"],
        "encoder": ["none"],
        "symbol": ["EUR/USD"],
        "base_timeframe": ["1h"],
        "days_history": [150],
        "horizon": [3, 6],
        "indicator_tfs": {"rsi": ["1h", "4h"]},
        "additional_features": {"returns_volatility": True},
    },
    "inference_grid": {
        "prediction_method": ["direct", "recursive"],
        "ensemble_method": ["mean", "stacking"],
        "confidence_threshold": [0.0, 0.6],
        "lookback_window": [50],
    },
}


class Recorder:
    """on_progress: keeps every event; cancels its token after the first recorded run."""

    def __init__(self, token: rf.CancelToken | None = None) -> None:
        self.events: list[ev.Event] = []
        self.token = token

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)
        if self.token is not None and isinstance(event, ev.RunCompleted):
            self.token.cancel()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grids") / "api-tiny.yaml"
    path.write_text(yaml.safe_dump(GRID), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory, grid_file: Path) -> Any:
    """Workspace stopped by a token after model 1, then resumed: (ws, first, second, events)."""
    ws = rf.init_workspace(tmp_path_factory.mktemp("a") / "ws", load_entry_points=False)
    token = rf.CancelToken()
    recorder = Recorder(token)
    first = rf.run_grid(ws, grid_file, on_progress=recorder, cancel=token)
    resumed = Recorder()
    second = rf.resume(ws, first.queue_uuid, on_progress=resumed)
    yield ws, first, second, recorder, resumed
    ws.close()


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same grid (given as a mapping) run without interruption."""
    ws = rf.init_workspace(tmp_path_factory.mktemp("b") / "ws", load_entry_points=False)
    outcome = rf.run_grid(ws, GRID)
    yield ws, outcome
    ws.close()


@pytest.fixture(scope="module")
def fresh() -> Any:
    """Bars the models never saw (another seed, another year)."""
    return generate_regime_bars(1500, 99, start="2024-01-01").bars


def test_a_cancel_token_pauses_after_the_model_in_training_and_resume_finishes(
    interrupted: Any,
) -> None:
    ws, first, second, recorder, resumed = interrupted
    assert (first.status, first.reason, first.completed) == (QueueStatus.PAUSED, "requested", 1)
    assert first.checkpoint_path and Path(first.checkpoint_path).exists()
    assert (second.status, second.completed, second.total) == (QueueStatus.COMPLETED, 2, 2)
    assert second.queue_uuid == first.queue_uuid
    assert rf.queue_status(ws, "api-tiny").status is QueueStatus.COMPLETED
    # the progress callback saw the whole story: start, inner loop, records, progress, pause
    assert len(recorder.of(ev.QueueStarted)) == 1 and len(recorder.of(ev.RunStarted)) == 1
    assert recorder.of(ev.InferenceProgress)[-1].done == 8
    assert [(p.done, p.total) for p in recorder.of(ev.Progress)] == [(1, 2)]
    assert [p.reason for p in recorder.of(ev.QueuePaused)] == ["requested"]
    assert resumed.of(ev.QueueStarted)[0].resumed
    assert [(p.done, p.total) for p in resumed.of(ev.Progress)] == [(2, 2)]
    assert resumed.of(ev.QueueCompleted)


def _state(ws: Any) -> dict[str, Any]:
    runs = {r.run_uuid: r for r in rf.runs(ws, limit=100)}
    backtests = {
        (runs[uuid].config_hash, b.inference_hash): dict(b.backtest_metrics)
        for uuid in runs
        for b in rf.backtests(ws, uuid)
    }
    bests = {
        name: [(b.rank, runs[b.run_uuid].config_hash, b.performance_score) for b in entries]
        for name, entries in rf.regime_bests(ws).items()
    }
    kept = sorted(r.config_hash for r in runs.values() if r.is_model_kept)
    return {"backtests": backtests, "bests": bests, "kept": kept}


def test_stopping_and_resuming_ends_like_an_uninterrupted_run(
    interrupted: Any, straight: Any
) -> None:
    ws_b, outcome = straight
    assert (outcome.status, outcome.completed) == (QueueStatus.COMPLETED, 2)
    assert _state(interrupted[0]) == _state(ws_b)
    assert len(_state(ws_b)["backtests"]) == 16


def test_runs_and_bests_are_plain_queries(interrupted: Any) -> None:
    ws = interrupted[0]
    done = rf.runs(ws, status="completed")
    assert len(done) == 2 and all(r.status is RunStatus.COMPLETED for r in done)
    assert {r.config.horizon for r in done} == {3, 6}
    assert rf.runs(ws, model_type="lasso") == []
    assert len(rf.runs(ws, queue="api-tiny", limit=1)) == 1
    assert rf.get_run(ws, done[0].run_uuid) == done[0]
    kept = rf.runs(ws, kept=True)
    assert kept and all(r.is_model_kept for r in kept)
    bests = rf.regime_bests(ws)
    names = {r.name for r in rf.regimes(ws)}
    assert bests and set(bests) <= names
    for entries in bests.values():
        assert [b.rank for b in entries] == list(range(1, len(entries) + 1))
        assert {b.run_uuid for b in entries} <= {r.run_uuid for r in kept}
    with pytest.raises(ConfigError, match="status"):
        rf.runs(ws, status="finished")


def test_a_grid_loads_from_a_file_or_a_mapping(interrupted: Any, grid_file: Path) -> None:
    ws = interrupted[0]
    for source in (grid_file, GRID):
        grid = rf.load_grid(source, ws)
        assert (grid.name, len(grid.grid)) == ("api-tiny", 2)
        assert [p.config.horizon for p in grid.grid] == [3, 6]
        assert len(grid.inference_grid) == 8
    with pytest.raises(ConfigError, match="horizon"):
        rf.load_grid({**GRID, "grid": {**GRID["grid"], "horizon": [0]}}, ws)


def test_detect_regimes_labels_fresh_bars_with_the_workspace_regimes(
    interrupted: Any, fresh: Any
) -> None:
    ws = interrupted[0]
    labels = rf.detect_regimes(ws, fresh)
    assert labels.name == "regime" and labels.index.equals(fresh.index)
    names = {r.name for r in rf.regimes(ws)}
    assert set(labels) - {""} <= names and len(set(labels) - {""}) >= 2
    assert (labels.iloc[600:] != "").all()  # the defaults label every bar after warm-up
    part = rf.detect_regimes(ws, fresh.iloc[:900])
    assert part.equals(labels.iloc[:900])  # causal
    with pytest.raises(ConfigError, match="detector"):
        rf.detect_regimes(ws, fresh, detector="nope")


def _best(ws: Any) -> Any:
    regime, entries = sorted(rf.regime_bests(ws).items())[0]
    return rf.best_model(ws, regime), entries[0]


def test_the_best_model_of_a_regime_predicts_fresh_bars(interrupted: Any, fresh: Any) -> None:
    ws = interrupted[0]
    model, best = _best(ws)
    assert model.run.run_uuid == best.run_uuid and model.rank == 1
    stored = {b.backtest_uuid: b.inference for b in rf.backtests(ws, best.run_uuid)}
    assert model.inference == stored[best.backtest_uuid]
    assert model.config == model.run.config
    out = model.predict(fresh)
    assert list(out.columns) == ["forecast", "confidence", "position"]
    assert len(out) == len(fresh) - model.warmup_bars
    assert out.index.equals(fresh.index[model.warmup_bars :])
    assert np.isfinite(out.to_numpy()).all()
    assert out["confidence"].between(0.0, 1.0).all()
    assert set(np.unique(out["position"])) <= {-1.0, 0.0, 1.0}
    threshold = model.inference.confidence_threshold
    assert (out["position"][out["confidence"] < threshold - 1e-12] == 0).all()


def test_predict_reproduces_the_forecasts_made_at_training_time(interrupted: Any) -> None:
    from regimeforge.api.models import training_window
    from regimeforge.domain.confidence import confidence
    from regimeforge.domain.ensembles import ensemble
    from regimeforge.domain.features import FeaturePipeline

    ws = interrupted[0]
    model, _ = _best(ws)
    window = training_window(ws, model.run)
    data = FeaturePipeline(ws.registry.indicators).prepare(window, model.config)
    index, rows = model.features.rows(window)
    assert index.equals(data.index)
    np.testing.assert_array_equal(rows, data.features)  # the same scaling, bit for bit
    inference = model.inference
    member = model.model.forecast(data.features[data.test], inference.prediction_method)
    forecast, spread = ensemble(member, inference.ensemble_method)
    out = model.predict(window).loc[data.index[data.test]]
    np.testing.assert_allclose(out["forecast"], forecast, rtol=1e-12, atol=1e-15)
    # the inner loop's confidence window starts with the test segment; after a full window
    # both see the same trailing forecasts
    lookback = inference.lookback_window
    trained = confidence(forecast, lookback, spread)
    np.testing.assert_allclose(out["confidence"][lookback:], trained[lookback:], atol=1e-12)


def test_predict_never_looks_ahead(interrupted: Any, fresh: Any) -> None:
    model, _ = _best(interrupted[0])
    full = model.predict(fresh)
    for t in (model.warmup_bars + 1, model.warmup_bars + 60, 1100, len(fresh) - 1):
        part = model.predict(fresh.iloc[:t])
        assert part.index[-1] == fresh.index[t - 1]
        # equal up to rounding (matrix products of other sizes may round the last bit apart)
        np.testing.assert_allclose(
            part.to_numpy(), full.iloc[: len(part)].to_numpy(), rtol=1e-9, atol=1e-15
        )


def test_loading_models_refuses_what_it_cannot_do(interrupted: Any, fresh: Any) -> None:
    ws = interrupted[0]
    model, best = _best(ws)
    with pytest.raises(NotFoundError, match="regimes with bests"):
        rf.best_model(ws, "no_such_regime")
    with pytest.raises(NotFoundError, match="rank 99"):
        rf.best_model(ws, best.regime_name, rank=99)
    with pytest.raises(DataError, match="warm-up"):
        model.predict(fresh.iloc[: model.warmup_bars])
    four_hours = fresh.resample("4h").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    with pytest.raises(DataError, match="4h bars"):
        model.predict(four_hours)
    # the default inference is the run's best backtest by the primary metric
    plain = rf.load_model(ws, best.run_uuid)
    metric = ws.settings.primary_metric
    scores = [b.backtest_metrics[metric] for b in rf.backtests(ws, best.run_uuid)]
    chosen = [b for b in rf.backtests(ws, best.run_uuid) if b.inference == plain.inference]
    assert chosen[0].backtest_metrics[metric] == max(scores)


def test_given_training_bars_load_the_same_model(interrupted: Any, fresh: Any) -> None:
    from regimeforge.api.models import training_window

    ws = interrupted[0]
    model, best = _best(ws)
    again = rf.best_model(ws, best.regime_name, training_bars=training_window(ws, model.run))
    assert again.predict(fresh).equals(model.predict(fresh))


def test_tokens_cancelled_before_the_start_pause_or_cancel_at_once(
    interrupted: Any, grid_file: Path
) -> None:
    ws = interrupted[0]
    token = rf.CancelToken()
    token.cancel()
    paused = rf.run_grid(ws, grid_file, name="again", cancel=token)
    assert (paused.status, paused.reason, paused.completed) == (QueueStatus.PAUSED, "requested", 0)
    done = rf.resume(ws, "again")
    assert (done.status, done.skipped) == (QueueStatus.COMPLETED, 2)  # same configs and data
    discard = rf.CancelToken()
    discard.cancel()
    discard.cancel(discard=True)
    assert discard.discard and discard.cancelled
    cancelled = rf.run_grid(ws, grid_file, name="dropped", cancel=discard)
    assert (cancelled.status, cancelled.reason) == (QueueStatus.CANCELLED, "cancelled")
    assert rf.resume(ws, "dropped").reason == "nothing to do"


def test_importing_regimeforge_loads_no_database_or_model_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, regimeforge as rf\n"
        "before = {m for m in ('sqlalchemy', 'sklearn', 'torch', 'regimeforge.api') "
        "if m in sys.modules}\n"
        "rf.best_model, rf.run_grid, rf.CancelToken\n"
        "after = {m for m in ('sqlalchemy', 'sklearn', 'torch') if m in sys.modules}\n"
        "print(sorted(before), sorted(after), sorted(set(rf.__all__) - set(dir(rf))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "[]", "[]"]


def test_a_token_cancelled_from_another_thread_reaches_the_running_queue(
    interrupted: Any, grid_file: Path
) -> None:
    import threading

    ws = interrupted[0]
    token = rf.CancelToken()
    flagged: list[bool] = []

    def on_progress(event: ev.Event) -> None:
        if not isinstance(event, ev.QueueStarted):
            return
        threading.Thread(target=token.cancel).start()
        # The coordinator's thread is held here, so only the watcher thread can set the flag.
        for _ in range(3000):
            if rf.queue_status(ws, event.queue_uuid).pause_requested:
                flagged.append(True)
                return
            threading.Event().wait(0.01)

    outcome = rf.run_grid(
        ws, grid_file, name="from-a-thread", on_progress=on_progress, cancel=token
    )
    assert flagged == [True]
    assert (outcome.status, outcome.reason, outcome.completed) == (
        QueueStatus.PAUSED,
        "requested",
        0,
    )


def test_ctrl_c_pauses_re_raises_and_removes_files_left_unrecorded(
    tmp_path: Path, grid_file: Path
) -> None:
    ws = rf.init_workspace(tmp_path / "ws", load_entry_points=False)
    try:
        # A model file no run names, as an interruption between writing and recording leaves.
        orphan = Path(ws.settings.artifacts_dir) / "ab" / f"ab{'0' * 30}.joblib"
        orphan.parent.mkdir(parents=True)
        orphan.write_bytes(b"never recorded")

        def interrupt(event: ev.Event) -> None:
            if isinstance(event, ev.RunCompleted):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            rf.run_grid(ws, grid_file, on_progress=interrupt)
        assert not orphan.exists()
        with ws.uow() as uow:
            (stored,) = uow.queues.list()
            kept = [r for r in uow.runs.list() if r.is_model_kept]
        assert stored.status is QueueStatus.PAUSED and stored.completed_count == 1
        assert kept and all(
            (Path(ws.settings.artifacts_dir) / r.model_file_path).exists() for r in kept
        )
    finally:
        ws.close()
