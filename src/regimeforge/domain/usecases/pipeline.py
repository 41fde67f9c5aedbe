"""What a worker does with one model config: data -> features -> fit -> regimes -> inner loop.

``evaluate_config`` touches no database and no file: it returns an ``Evaluation`` (the trained
model in memory, the data fingerprint, the backtests). ``to_worker_result`` turns it into the
plain, picklable ``WorkerResult`` the coordinator records, once the worker has written the model
file to the artifact store.

The market-data module is imported when the function runs (the coordinator only needs
``tasks``, and never this module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import attrs
import numpy as np
import pandas as pd

from regimeforge.domain import backtest as bt
from regimeforge.domain.backtest import BacktestResult
from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.costs import CostModel
from regimeforge.domain.errors import CancelledError
from regimeforge.domain.events import Event, InferenceProgress
from regimeforge.domain.forecasts import MemberForecasts, PreparedData
from regimeforge.domain.kernel import BacktestKernel
from regimeforge.domain.ports import (
    ArtifactInfo,
    Clock,
    FeatureBuilder,
    MarketDataSource,
    Metric,
    ModelTrainer,
    RegimeDetector,
    TrainedModel,
)
from regimeforge.domain.regimes import RegimeDefinition
from regimeforge.domain.timeframes import periods_per_year
from regimeforge.domain.usecases.tasks import BacktestRecord, WorkerResult, plain


@attrs.frozen(eq=False)
class Evaluation:
    """One trained config and its inner loop (in memory; see ``to_worker_result``)."""

    data_fingerprint: str
    model: TrainedModel
    training_metrics: Mapping[str, float]
    feature_count: int
    durations: Mapping[str, float]
    backtests: list[BacktestResult]


def _seconds(clock: Clock | None) -> float:
    return clock.monotonic() if clock is not None else 0.0


def load_window(
    source: MarketDataSource, config: ModelConfig, as_of: datetime | None
) -> pd.DataFrame:
    """The bars of ``config``: ``days_history`` days of its base timeframe ending at ``as_of``."""
    from regimeforge.domain.marketdata import select_window

    bars = source.bars(config.symbol, config.base_timeframe, end=as_of)
    window: pd.DataFrame = select_window(bars, config.days_history, end=as_of)
    return window


def aligned_labels(labels: np.ndarray, bars: pd.DataFrame, data: PreparedData) -> np.ndarray:
    """Regime labels of the bars, on the prepared rows (``""`` where a row has no bar label)."""
    series = pd.Series(np.asarray(labels, dtype=object), index=bars.index)
    out: np.ndarray = series.reindex(data.index).fillna("").to_numpy(dtype=str)
    return out


def evaluate_config(
    config: ModelConfig,
    *,
    source: MarketDataSource,
    features: FeatureBuilder,
    trainer: ModelTrainer,
    detector: RegimeDetector,
    regimes: Sequence[RegimeDefinition],
    inference_grid: Sequence[InferenceConfig],
    metrics: Sequence[Metric],
    cost: CostModel,
    min_bars: int,
    min_trades: int,
    as_of: datetime | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[Event], None] | None = None,
    clock: Clock | None = None,
    run_uuid: str = "",
    kernel: BacktestKernel | None = None,
) -> Evaluation:
    """Train ``config`` once and backtest every inference config against it (see module doc)."""
    from regimeforge.domain.marketdata import fingerprint

    durations: dict[str, float] = {}
    t0 = _seconds(clock)
    bars = load_window(source, config, as_of)
    data_fingerprint = fingerprint(bars)
    data = features.prepare(bars, config)
    t1 = _seconds(clock)
    durations["data"] = t1 - t0
    model = trainer.fit(data, config)
    t2 = _seconds(clock)
    durations["fit"] = t2 - t1
    if should_stop is not None and should_stop():
        raise CancelledError("cancelled after training, before the inner loop")
    results = backtest_model(
        model,
        bars,
        data,
        config,
        detector=detector,
        regimes=regimes,
        inference_grid=inference_grid,
        metrics=metrics,
        cost=cost,
        min_bars=min_bars,
        min_trades=min_trades,
        should_stop=should_stop,
        progress=progress,
        clock=clock,
        run_uuid=run_uuid,
        kernel=kernel,
    )
    durations["inner_loop"] = _seconds(clock) - t2
    return Evaluation(
        data_fingerprint=data_fingerprint,
        model=model,
        training_metrics=dict(model.training_metrics),
        feature_count=int(model.feature_count),
        durations=durations,
        backtests=list(results),
    )


def backtest_model(
    model: TrainedModel,
    bars: pd.DataFrame,
    data: PreparedData,
    config: ModelConfig,
    *,
    detector: RegimeDetector,
    regimes: Sequence[RegimeDefinition],
    inference_grid: Sequence[InferenceConfig],
    metrics: Sequence[Metric],
    cost: CostModel,
    min_bars: int,
    min_trades: int,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[Event], None] | None = None,
    clock: Clock | None = None,
    run_uuid: str = "",
    kernel: BacktestKernel | None = None,
) -> list[BacktestResult]:
    """The inner loop of a trained ``model`` on the test segment of ``data`` (prepared from
    ``bars``): regimes detected once, forecasts once per prediction method and set of
    inference params (``bt.grid_forecasts``), every inference config of ``inference_grid``
    backtested. ``evaluate_config`` and ``runs rerun-inference`` (a stored model on its own
    training window) share it.
    """
    labels = aligned_labels(detector.detect(bars, regimes), bars, data)
    test = data.test
    # Forecasts once per (method, params), over the test bars only (the inner loop's input).
    forecasts: dict[str, MemberForecasts] = bt.grid_forecasts(
        model, data.features[test], inference_grid
    )

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(InferenceProgress(run_uuid, done, total))

    return bt.run_inner_loop(
        bt.InnerLoopInput(
            forecasts=forecasts,
            bar_returns=data.targets[test, 0],
            regime_labels=labels[test],
            periods_per_year=periods_per_year(config.base_timeframe),
            cost=cost,
        ),
        list(inference_grid),
        list(metrics),
        regimes=[r.name for r in regimes if r.is_active],
        min_bars=min_bars,
        min_trades=min_trades,
        kernel=kernel,
        should_stop=should_stop,
        progress=report,
        clock=clock.monotonic if clock is not None else None,
    )


def to_worker_result(evaluation: Evaluation, artifact: ArtifactInfo) -> WorkerResult:
    """The picklable result of an evaluation whose model was written as ``artifact``."""
    return WorkerResult(
        data_fingerprint=evaluation.data_fingerprint,
        artifact=artifact,
        training_metrics={k: float(v) for k, v in evaluation.training_metrics.items()},
        feature_count=evaluation.feature_count,
        durations={k: float(v) for k, v in evaluation.durations.items()},
        backtests=backtest_records(evaluation.backtests),
    )


def backtest_records(results: Sequence[BacktestResult]) -> tuple[BacktestRecord, ...]:
    """The plain, picklable records of inner-loop results."""
    records = []
    for result in results:
        inference: InferenceConfig = result.inference
        records.append(
            BacktestRecord(
                inference=plain(inference.to_dict()),
                inference_hash=inference.config_hash,
                backtest_metrics=plain(result.metrics),
                regime_metrics=plain(result.regime_metrics),
                duration_seconds=float(result.duration_seconds),
            )
        )
    return tuple(records)
