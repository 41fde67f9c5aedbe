"""Load a stored model and forecast on fresh bars, exactly as the inner loop did in training.

``LoadedModel.predict(bars)`` runs the run's own feature pipeline on ``bars``, scales the
features with the statistics of the run's *training* rows, asks the model for the member
forecasts of the inference config's prediction method, combines them with its ensemble method
and derives confidence and position the way the inner loop does (docs/models.md,
docs/inner-loop.md). Every step is causal, so the row of bar t depends on bars up to t only.

**Decision (scaling statistics).** Training scales features with statistics of the train
segment, and a model file holds only the model. The statistics are therefore re-derived when a
model is loaded: the run's training window is read again from its queue's data source and
checked against the run's recorded data fingerprint (a changed data file is refused rather than
silently scaled differently; if the file only grew, the window that ended when the run started
is tried). Its unscaled train rows are kept, and fresh rows are scaled with
``domain.feature_prep.scale`` over ``[train rows; fresh rows]`` with the train rows as the fit,
the same arithmetic as training, so the features (and forecasts) of the training bars come out
bit for bit the same. Pass ``training_bars`` to load a model whose data source is not available.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np
import pandas as pd

from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import DataError, NotFoundError, Problem
from regimeforge.domain.ports import TrainedModel


@attrs.frozen(eq=False)
class TrainedFeatures:
    """The feature pipeline of one model config with the scaling of its training rows."""

    pipeline: Any  # domain.features.FeaturePipeline
    config: ModelConfig
    train_rows: np.ndarray  # (n_train, f) unscaled features of the train segment

    @classmethod
    def from_training_bars(
        cls, pipeline: Any, config: ModelConfig, bars: pd.DataFrame
    ) -> TrainedFeatures:
        """Prepare the training window unscaled and keep its train rows."""
        unscaled = attrs.evolve(
            config, preprocessing=MappingProxyType({**config.preprocessing, "scaling": "none"})
        )
        data = pipeline.prepare(bars, unscaled)
        return cls(pipeline, config, np.ascontiguousarray(data.features[data.train]))

    @property
    def warmup_bars(self) -> int:
        """Leading bars of any input that get no features (indicator and feature warm-ups)."""
        return int(self.pipeline.warmup_for(self.config))

    def rows(self, bars: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
        """The bars' timestamps after warm-up and their scaled features (as in training)."""
        from regimeforge.domain import feature_prep as prep
        from regimeforge.domain.marketdata import infer_timeframe, validate_bars

        config = self.config
        clean = validate_bars(bars, subject="bars")
        timeframe = infer_timeframe(clean)
        if timeframe is not None and timeframe != config.base_timeframe:
            raise DataError(
                [
                    Problem(
                        "bars",
                        f"are {timeframe} bars; the model was trained on "
                        f"{config.base_timeframe} bars",
                        f"resample the bars to {config.base_timeframe}",
                    )
                ]
            )
        warm = self.warmup_bars
        if len(clean) <= warm:
            raise DataError(
                [
                    Problem(
                        "bars",
                        f"{len(clean)} bars are no more than the model's warm-up of {warm}",
                        f"pass more than {warm} bars of history",
                    )
                ]
            )
        # The steps of FeaturePipeline.prepare that do not need a split: warm-up, forward fill.
        filled = self.pipeline.raw_features(clean, config).iloc[warm:].ffill()
        filled = filled[filled.notna().all(axis=1).to_numpy()]
        values = filled.to_numpy(dtype=np.float64)
        if values.shape[1] != self.train_rows.shape[1]:
            raise DataError(
                [Problem("bars", f"give {values.shape[1]} features; the model was trained "
                         f"on {self.train_rows.shape[1]}", "use the plugins it was trained with")]
            )  # fmt: skip
        n = self.train_rows.shape[0]
        # Reductions round differently by memory layout: lay the rows out as prepare() does.
        stacked = np.concatenate([self.train_rows, values])
        if values.flags.f_contiguous and not values.flags.c_contiguous:
            stacked = np.asfortranarray(stacked)
        method = str(config.preprocessing["scaling"])
        scaled = prep.scale(stacked, slice(0, n), method)[n:]
        return pd.DatetimeIndex(filled.index), np.ascontiguousarray(scaled)


@attrs.frozen(eq=False)
class LoadedModel:
    """A trained model with the inference config it is used with.

    ``run`` is the stored ``TrainingRun``; ``config`` its ``ModelConfig``; ``inference`` the
    ``InferenceConfig`` (for ``best_model``: the backtest that holds the regime's rank);
    ``regime``/``rank`` say which regime best it came from (None for ``load_model``).
    """

    run: TrainingRun
    inference: InferenceConfig
    model: TrainedModel
    features: TrainedFeatures
    regime: str | None = None
    rank: int | None = None

    @property
    def config(self) -> ModelConfig:
        """The model config the run trained."""
        return self.run.config

    @property
    def warmup_bars(self) -> int:
        """Leading bars of any input that get no forecast."""
        return self.features.warmup_bars

    def predict(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Forecasts for every bar after the warm-up.

        Columns: ``forecast`` (expected log return over the next ``horizon`` bars),
        ``confidence`` in [0, 1] (trailing over ``inference.lookback_window`` forecasts),
        ``position`` (int -1, 0 or 1: the forecast's sign where confidence reaches
        ``inference.confidence_threshold``). The index is the bars' UTC timestamps. Causal: the
        rows of ``predict(bars[:t])`` equal the first rows of ``predict(bars)``. Pass at least
        ``warmup_bars + inference.lookback_window`` bars so that confidence has its full window.
        """
        from regimeforge.domain.confidence import TrailingScale, erf, z_threshold
        from regimeforge.domain.ensembles import ensemble

        index, rows = self.features.rows(bars)
        inference = self.inference
        params = dict(inference.params) or None  # e.g. a diffusion model's n_samples
        member = self.model.forecast(rows, inference.prediction_method, params)
        forecast, spread = ensemble(member, inference.ensemble_method)
        z = TrailingScale.of(forecast, spread).z(inference.lookback_window)
        signs = np.sign(np.where(np.isfinite(forecast), forecast, 0.0))
        # the inner loop's rule: confidence >= threshold  <=>  z >= z_threshold(threshold)
        position = np.where(z >= z_threshold(inference.confidence_threshold), signs, 0.0)
        return pd.DataFrame(
            {
                "forecast": forecast,
                "confidence": erf(z / math.sqrt(2.0)),
                "position": position.astype(np.int64),
            },
            index=index,
        )


def load_model(
    workspace: Any,
    run_uuid: str,
    inference: InferenceConfig | None = None,
    *,
    training_bars: pd.DataFrame | None = None,
    regime: str | None = None,
    rank: int | None = None,
) -> LoadedModel:
    """The model of a completed run, verified against its recorded SHA-256, ready to predict.

    ``inference`` defaults to the run's best backtest by the primary metric. ``training_bars``
    are the bars the run trained on, when its data source cannot be read here.
    NotFoundError when the run or its model file is gone (a model that left every regime's
    top-N had its file deleted).
    """
    from regimeforge.domain.features import FeaturePipeline
    from regimeforge.plugins.builtin.models.composite import load_model as load_composite

    with workspace.uow() as uow:
        run: TrainingRun = uow.runs.get(run_uuid)
        chosen = inference or _best_inference(workspace, uow.backtests.for_run(run_uuid), run)
    if not run.model_file_path or not run.model_file_sha256 or not run.is_model_kept:
        raise NotFoundError(
            f"run {run_uuid} has no model file (status {run.status.value}; a model that left "
            "every regime's top-N is deleted when delete_non_best_models is on)"
        )
    payload = workspace.artifacts.open(run.model_file_path, run.model_file_sha256)
    model = load_composite(workspace.registry, payload)
    pipeline = FeaturePipeline(workspace.registry.indicators)
    bars = training_bars if training_bars is not None else training_window(workspace, run)
    features = TrainedFeatures.from_training_bars(pipeline, run.config, bars)
    return LoadedModel(run, chosen, model, features, regime, rank)


def best_model(workspace: Any, regime: str, rank: int = 1, **options: Any) -> LoadedModel:
    """The model holding ``rank`` in ``regime``'s top-N, with that backtest's inference config.

    ``options`` go to ``load_model`` (``training_bars``). NotFoundError naming the regimes that
    have bests when ``regime`` has no such rank.
    """
    with workspace.uow() as uow:
        bests = uow.bests.all()
        entries = {b.rank: b for b in bests.get(regime, [])}
        if rank not in entries:
            held = ", ".join(f"{n} ({len(e)})" for n, e in sorted(bests.items()) if e) or "none"
            raise NotFoundError(
                f"regime {regime!r} has no best of rank {rank}; regimes with bests: {held}"
            )
        best = entries[rank]
        inference = uow.backtests.get(best.backtest_uuid).inference
    return load_model(workspace, best.run_uuid, inference, regime=regime, rank=rank, **options)


def _best_inference(workspace: Any, backtests: list[Any], run: TrainingRun) -> InferenceConfig:
    if not backtests:
        raise NotFoundError(f"run {run.run_uuid} has no backtests to choose an inference from")
    metric = workspace.settings.primary_metric
    descriptor = workspace.registry.metrics.get(metric)
    higher = bool(getattr(getattr(descriptor, "metric", None), "higher_is_better", True))

    def score(backtest: Any) -> float:
        value = float(backtest.backtest_metrics.get(metric, math.nan))
        return -math.inf if math.isnan(value) else (value if higher else -value)

    chosen: InferenceConfig = max(backtests, key=score).inference
    return chosen


def training_window(workspace: Any, run: TrainingRun) -> pd.DataFrame:
    """The bars ``run`` trained on, read from its queue's data source, fingerprint checked."""
    from regimeforge.adapters.outer_loop import grid_task_factory_of
    from regimeforge.adapters.worker import data_source
    from regimeforge.domain.marketdata import fingerprint
    from regimeforge.domain.usecases.pipeline import load_window
    from regimeforge.domain.usecases.tasks import plain

    fix = "pass training_bars=<the bars the run trained on>"
    if run.queue_uuid is None:
        raise DataError([Problem("training_bars", f"run {run.run_uuid} has no queue", fix)])
    with workspace.uow() as uow:
        queue = uow.queues.get(run.queue_uuid)
    if "file" not in queue.config_grid:
        raise DataError(
            [Problem("training_bars", f"queue {queue.name} was not made from a grid file", fix)]
        )
    data = plain(grid_task_factory_of(workspace, in_process=True).data_of(queue))
    source = data_source(workspace.registry, data, str(workspace.root))
    for as_of in (None, run.started_at):
        bars = load_window(source, run.config, as_of)
        if not run.data_fingerprint or fingerprint(bars) == run.data_fingerprint:
            return bars
    raise DataError(
        [
            Problem(
                "training_bars",
                f"the data of run {run.run_uuid} changed since it trained (its fingerprint no "
                "longer matches), so its feature scaling cannot be rebuilt",
                fix,
            )
        ]
    )
