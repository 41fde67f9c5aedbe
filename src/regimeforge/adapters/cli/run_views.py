"""How runs and backtests are shown: plain documents (JSON, CSV) and the pieces of rich tables.

``run_document`` is the one JSON shape of a run (``runs list --json``, ``runs show --json``,
``runs export``); ``backtest_document`` the one of a backtest. ``best_backtests`` ranks a run's
backtests by the primary metric the way regime bests do (missing or non-finite values last).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from regimeforge.domain.entities import InferenceBacktest, TrainingRun

#: Metrics shown in tables (others are in --json and exports).
TABLE_METRICS = ("sharpe", "sortino", "max_drawdown", "total_return", "win_rate", "n_trades")


def jsonable(value: Any) -> Any:
    """Plain JSON data: mappings -> dicts, tuples -> lists, times -> ISO text, NaN -> null."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and not isinstance(value, str | bytes):
        return jsonable(item())
    return value


def dumps(value: Any) -> str:
    """Indented, strict JSON text of ``value``."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False)


def when(value: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM`` (UTC) or empty."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def number(value: Any, digits: int = 4) -> str:
    """A metric for a table: ``1.2346``, ``-`` when missing or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e9):
        return f"{int(value):,}"
    return f"{value:.{digits}f}" if math.isfinite(value) else "-"


def fmt_bytes(n: int | None) -> str:
    """Bytes for people: ``12.3 KiB``; ``-`` when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover - the loop returns


def flat_config(run: TrainingRun) -> dict[str, Any]:
    """The run's canonical config with nested parts as dotted keys (``indicator_tfs.rsi``)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for key in value:
                walk(f"{prefix}.{key}" if prefix else str(key), value[key])
        elif isinstance(value, list | tuple):
            out[prefix] = ", ".join(str(v) for v in value)
        else:
            out[prefix] = "{}" if isinstance(value, Mapping) else value

    walk("", run.config.to_dict())
    return out


def _score(backtest: InferenceBacktest, metric: str, higher_is_better: bool) -> float:
    value = backtest.backtest_metrics.get(metric)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return -math.inf
    return float(value) if higher_is_better else -float(value)


def best_backtests(
    backtests: Iterable[InferenceBacktest], metric: str, higher_is_better: bool = True
) -> list[InferenceBacktest]:
    """Backtests best first by ``metric`` (ties: inference hash order, as stored)."""
    return sorted(backtests, key=lambda b: -_score(b, metric, higher_is_better))


def backtest_document(backtest: InferenceBacktest) -> dict[str, Any]:
    """One backtest as plain data."""
    doc: dict[str, Any] = jsonable(
        {
            "backtest_uuid": backtest.backtest_uuid,
            "inference": backtest.inference.to_dict(),
            "inference_hash": backtest.inference_hash,
            "metrics": backtest.backtest_metrics,
            "regime_metrics": backtest.regime_metrics,
            "duration_seconds": backtest.duration_seconds,
            "created_at": backtest.created_at,
        }
    )
    return doc


def run_document(
    run: TrainingRun,
    *,
    key: int | None = None,
    backtests: int | None = None,
    best_score: float | None = None,
    metric: str = "sharpe",
) -> dict[str, Any]:
    """One run as plain data (the JSON shape of every ``runs`` command)."""
    config = run.config
    doc: dict[str, Any] = {
        "id": key,
        "run_uuid": run.run_uuid,
        "status": run.status.value,
        "model_type": config.model_type,
        "encoder": config.encoder,
        "symbol": config.symbol,
        "base_timeframe": config.base_timeframe,
        "days_history": config.days_history,
        "horizon": config.horizon,
        "config_hash": run.config_hash,
        "config": config.to_dict(),
        "data_fingerprint": run.data_fingerprint,
        "seed": run.seed,
        "queue_uuid": run.queue_uuid,
        "created_by": run.created_by,
        "package_version": run.package_version,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "training_duration_seconds": run.training_duration_seconds,
        "feature_count": run.feature_count,
        "training_metrics": run.training_metrics,
        "backtests": backtests,
        "best_score": {"metric": metric, "value": best_score},
        "model_file": {
            "path": run.model_file_path,
            "size_bytes": run.model_file_size_bytes,
            "sha256": run.model_file_sha256,
            "kept": run.is_model_kept,
        },
        "best_regimes": list(run.best_regimes),
        "error_message": run.error_message,
    }
    plain: dict[str, Any] = jsonable(doc)
    return plain


#: Run columns of a CSV export (one row per run or per backtest).
CSV_RUN_COLUMNS = (
    "id", "run_uuid", "status", "model_type", "encoder", "symbol", "base_timeframe",
    "days_history", "horizon", "config_hash", "data_fingerprint", "created_at", "completed_at",
    "training_duration_seconds", "feature_count", "model_file_kept", "model_file_size_bytes",
    "best_regimes", "error_message", "config",
)  # fmt: skip
CSV_BACKTEST_COLUMNS = ("backtest_uuid", "prediction_method", "ensemble_method",
                        "confidence_threshold", "lookback_window")  # fmt: skip


def csv_row(
    doc: Mapping[str, Any],
    backtest: Mapping[str, Any] | None,
    metric_names: Sequence[str],
    regime_names: Sequence[str],
    metric: str,
) -> dict[str, Any]:
    """One CSV row: the run's columns, then the backtest's (empty when there is none)."""
    row = {c: doc.get(c) for c in CSV_RUN_COLUMNS}
    row["model_file_kept"] = doc["model_file"]["kept"]
    row["model_file_size_bytes"] = doc["model_file"]["size_bytes"]
    row["best_regimes"] = ";".join(doc["best_regimes"])
    row["config"] = json.dumps(doc["config"], sort_keys=True, separators=(",", ":"))
    inference = backtest["inference"] if backtest else {}
    row["backtest_uuid"] = backtest["backtest_uuid"] if backtest else None
    for name in CSV_BACKTEST_COLUMNS[1:]:
        row[name] = inference.get(name)
    metrics = backtest["metrics"] if backtest else {}
    for name in metric_names:
        row[name] = metrics.get(name)
    regimes = backtest["regime_metrics"] if backtest else {}
    for regime in regime_names:
        row[f"{regime}.{metric}"] = regimes.get(regime, {}).get(metric)
        row[f"{regime}.sufficient"] = regimes.get(regime, {}).get("sufficient")
    return row
