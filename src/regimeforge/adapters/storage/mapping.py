"""Rows <-> domain objects, written out field by field (never ``Cls(**row)``).

``*_values`` functions give the column values of an object (without the integer keys the
repository resolves); ``*_from_row`` functions build an object from a row mapping. JSON documents
are written as plain data (``plain``: mapping proxies and tuples thawed, numpy scalars unwrapped,
non-finite floats stored as null because JSON and PostgreSQL's JSONB have no NaN). Configs are read
back frozen the way ``domain/config.py`` freezes them (mappings -> ``MappingProxyType``, lists ->
tuples), so a rebuilt ``ModelConfig`` equals the original and has its ``config_hash``; other
documents (metrics, grids) come back as read-only mappings holding JSON lists, the form the use
cases build them in (``canonical.normalise``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.entities import InferenceBacktest, TrainingRun
from regimeforge.domain.errors import StorageError
from regimeforge.domain.states import RunStatus

Row = Mapping[Any, Any]


class _NotPlainError(Exception):
    """Raised by the fast path when a value needs the general conversion."""


def _fast_plain(value: Any) -> Any:
    # The common case (dicts of str -> float/int/bool/str/None, as metrics are) without the
    # isinstance chain and the path strings of ``plain``; anything else -> _NotPlainError.
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if kind is dict or kind is MappingProxyType:  # frozen domain documents are proxies
        return {k if type(k) is str else str(k): _fast_plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_fast_plain(v) for v in value]
    raise _NotPlainError


def plain(value: Any, path: str = "value") -> Any:
    """``value`` as plain JSON data (see the module docstring); StorageError if impossible."""
    try:
        return _fast_plain(value)
    except _NotPlainError:
        return _plain(value, path)


def _plain(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    for unwrap in ("tolist", "item"):  # numpy arrays and scalars (tolist of a scalar: itself)
        method = getattr(value, unwrap, None)
        if callable(method):
            return _plain(method(), path)
    raise StorageError(f"{path}: {type(value).__name__} cannot be stored as JSON")


def freeze(value: Any) -> Any:
    """Read-only form of JSON data: mappings -> MappingProxyType, lists -> tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def readonly(value: Any) -> Any:
    """Mappings of JSON data made read-only (``MappingProxyType``); lists stay lists."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: readonly(v) for k, v in value.items()})
    if isinstance(value, list):
        return [readonly(v) for v in value]
    return value


def frozen_map(value: Any, *, config: bool = False) -> Mapping[str, Any]:
    """A JSON object read from the database (``{}`` for null): ``freeze`` for configs,
    ``readonly`` for other documents."""
    value = value if value is not None else {}
    frozen = freeze(value) if config else readonly(value)
    if not isinstance(frozen, Mapping):
        raise StorageError(f"expected a JSON object in the database, found {type(value).__name__}")
    return frozen


# --- training runs ---------------------------------------------------------------------------


def run_values(run: TrainingRun) -> dict[str, Any]:
    """Column values of a run (``queue_id`` is resolved by the repository)."""
    config = run.config
    if run.seed != config.seed:
        raise StorageError(
            f"run {run.run_uuid}: seed {run.seed} differs from its config's seed {config.seed} "
            "(the seed is part of the config hash; build the run with seed=config.seed)"
        )
    return {
        "run_uuid": run.run_uuid,
        "status": run.status.value,
        "model_type": config.model_type,
        "encoder": config.encoder,
        "symbol": config.symbol,
        "base_timeframe": config.base_timeframe,
        "days_history": config.days_history,
        "horizon": config.horizon,
        "indicator_tfs": plain(config.indicator_tfs, "indicator_tfs"),
        "additional_features": plain(config.additional_features, "additional_features"),
        "preprocessing_params": plain(config.preprocessing, "preprocessing"),
        "model_hyperparams": plain(config.model_hyperparams, "model_hyperparams"),
        "encoder_params": plain(config.encoder_params, "encoder_params"),
        "training_metrics": plain(run.training_metrics, "training_metrics"),
        "feature_count": run.feature_count,
        "training_duration_seconds": run.training_duration_seconds,
        "model_file_path": run.model_file_path,
        "model_file_size_bytes": run.model_file_size_bytes,
        "model_file_sha256": run.model_file_sha256,
        "is_model_kept": run.is_model_kept,
        "best_regimes": list(run.best_regimes),
        "error_message": run.error_message,
        "created_by": run.created_by,
        "config_hash": run.config_hash,
        "data_fingerprint": run.data_fingerprint,
        "seed": config.seed,
        "package_version": run.package_version,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "updated_at": run.updated_at,
    }


def model_config_from_row(row: Row) -> ModelConfig:
    """The stored canonical config, rebuilt without a catalog (defaults were filled on write)."""
    return ModelConfig(
        model_type=row["model_type"],
        encoder=row["encoder"],
        symbol=row["symbol"],
        base_timeframe=row["base_timeframe"],
        days_history=int(row["days_history"]),
        horizon=int(row["horizon"]),
        indicator_tfs=frozen_map(row["indicator_tfs"], config=True),
        additional_features=frozen_map(row["additional_features"], config=True),
        preprocessing=frozen_map(row["preprocessing_params"], config=True),
        model_hyperparams=frozen_map(row["model_hyperparams"], config=True),
        encoder_params=frozen_map(row["encoder_params"], config=True),
        seed=int(row["seed"]),
    )


def run_from_row(row: Row, queue_uuid: str | None) -> TrainingRun:
    """A run from its row and the uuid of its queue (looked up by the repository's join)."""
    return TrainingRun(
        run_uuid=row["run_uuid"],
        config=model_config_from_row(row),
        config_hash=row["config_hash"],
        status=RunStatus(row["status"]),
        data_fingerprint=row["data_fingerprint"],
        seed=int(row["seed"]),
        queue_uuid=queue_uuid,
        created_by=row["created_by"],
        package_version=row["package_version"],
        training_metrics=frozen_map(row["training_metrics"]),
        feature_count=row["feature_count"],
        training_duration_seconds=row["training_duration_seconds"],
        model_file_path=row["model_file_path"],
        model_file_size_bytes=row["model_file_size_bytes"],
        model_file_sha256=row["model_file_sha256"],
        is_model_kept=bool(row["is_model_kept"]),
        best_regimes=tuple(row["best_regimes"] or ()),
        error_message=row["error_message"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        updated_at=row["updated_at"],
    )


# --- backtests -------------------------------------------------------------------------------


def backtest_values(backtest: InferenceBacktest, training_run_id: int) -> dict[str, Any]:
    """Column values of a backtest of the run with primary key ``training_run_id``."""
    inference = backtest.inference
    return {
        "backtest_uuid": backtest.backtest_uuid,
        "training_run_id": training_run_id,
        "prediction_method": inference.prediction_method,
        "ensemble_method": inference.ensemble_method,
        "confidence_threshold": float(inference.confidence_threshold),
        "lookback_window": int(inference.lookback_window),
        "inference_params": plain(inference.params, "inference.params"),
        "inference_hash": backtest.inference_hash,
        # metrics are plain already in the common case; the engine's JSON serializer converts
        # the rest (NaN -> null, numpy -> Python) on the way in (engine.to_json)
        "backtest_metrics": backtest.backtest_metrics,
        "regime_metrics": backtest.regime_metrics,
        "duration_seconds": float(backtest.duration_seconds),
        "created_at": backtest.created_at,
    }


def backtest_from_row(row: Row, run_uuid: str) -> InferenceBacktest:
    """A backtest from its row and its run's uuid."""
    inference = InferenceConfig(
        prediction_method=row["prediction_method"],
        ensemble_method=row["ensemble_method"],
        confidence_threshold=float(row["confidence_threshold"]),
        lookback_window=int(row["lookback_window"]),
        params=frozen_map(row["inference_params"], config=True),
    )
    return InferenceBacktest(
        backtest_uuid=row["backtest_uuid"],
        run_uuid=run_uuid,
        inference=inference,
        inference_hash=row["inference_hash"],
        backtest_metrics=frozen_map(row["backtest_metrics"]),
        regime_metrics=frozen_map(row["regime_metrics"]),
        duration_seconds=float(row["duration_seconds"]),
        created_at=row["created_at"],
    )
