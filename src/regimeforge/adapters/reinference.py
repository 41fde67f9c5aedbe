"""Re-running the inner loop of a stored model (``regimeforge runs rerun-inference``).

``rerun_inference(ws, run_uuid, inference)`` loads the run's model file through the artifact
store (its SHA-256 is verified before anything is deserialised), reads the bars it trained on
again from its queue's data source (the data fingerprint must match: see
``api.models.training_window``), prepares the features exactly as training did, runs the inner
loop with ``inference`` (``domain.usecases.pipeline.backtest_model``, the worker's own code) and
records the result in one transaction (``domain.usecases.reinference``: new configs are added,
recorded ones are left as they are). New regime bests are published as events to the
workspace's lifecycle hooks and notifiers.

``ws`` is a ``bootstrap.Workspace`` (read: ``settings``, ``registry``, ``uow``, ``artifacts``,
``clock``); adapters never import the composition root.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import ConfigError, NotFoundError, Problem
from regimeforge.domain.events import Event
from regimeforge.domain.inference_grid import expand_inference_grid
from regimeforge.domain.usecases.reinference import Reinference, check_rerunnable


class ModelFileMissing(NotFoundError):  # noqa: N818 - reads as the fact it reports
    """The run's model file was deleted (it left every top-N) or is gone from the disk."""


def read_inference_grid(path: Path) -> tuple[InferenceConfig, ...]:
    """The inference configs of a YAML file: an ``inference_grid:`` block (a grid file works)
    or the block's mapping itself. ConfigError naming ``--inference-grid`` otherwise."""
    import yaml

    fix = "give a YAML mapping of lists, e.g. {confidence_threshold: [0.0, 0.5]}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([Problem("--inference-grid", f"{path} does not exist", fix)]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = Problem("--inference-grid", f"{path} is not readable YAML ({exc})", fix)
        raise ConfigError([problem]) from None
    if isinstance(data, Mapping) and "inference_grid" in data:
        data = data["inference_grid"]
    if not isinstance(data, Mapping):
        raise ConfigError([Problem("--inference-grid", f"{path} holds no mapping", fix)])
    try:
        return expand_inference_grid(data, path="inference_grid")
    except ConfigError as exc:
        raise ConfigError(exc.problems, subject=f"--inference-grid {path}") from None


def settings_inference_grid(settings: Any) -> tuple[InferenceConfig, ...]:
    """The inference configs of the settings' ``inference_grid``."""
    return expand_inference_grid(settings.inference_grid.to_mapping())


def model_file_problem(ws: Any, run: TrainingRun) -> str | None:
    """Why ``run`` has no model file to load (None when it has one on disk)."""
    if not run.model_file_path or not run.model_file_sha256:
        return f"run {run.run_uuid[:12]} has no model file"
    if not run.is_model_kept:
        return (
            f"the model file of run {run.run_uuid[:12]} was deleted (it held no regime rank; "
            "set delete_non_best_models: false to keep every model)"
        )
    if not ws.artifacts.exists(run.model_file_path):
        return (
            f"the model file {run.model_file_path} of run {run.run_uuid[:12]} is missing from "
            f"{ws.settings.artifacts_dir} (`regimeforge models cleanup` records it)"
        )
    return None


def rerun_inference(
    ws: Any,
    run_uuid: str,
    inference: Sequence[InferenceConfig],
    *,
    progress: Callable[[Event], None] | None = None,
) -> Reinference:
    """Backtest ``inference`` against the stored model of ``run_uuid`` and record it."""
    from regimeforge.adapters.outer_loop import event_dispatcher_of, runner_settings_of
    from regimeforge.api.models import training_window
    from regimeforge.domain.costs import cost_for_symbol
    from regimeforge.domain.features import FeaturePipeline
    from regimeforge.domain.usecases.pipeline import backtest_model, backtest_records
    from regimeforge.domain.usecases.reinference import record_reinference
    from regimeforge.domain.usecases.tasks import plain
    from regimeforge.plugins.builtin.models.composite import load_model
    from regimeforge.plugins.builtin.numba_kernel import default_kernel

    settings, registry = ws.settings, ws.registry
    with ws.uow() as uow:
        run: TrainingRun = uow.runs.get(run_uuid)
        regimes = list(uow.regimes.list(active_only=True))
    check_rerunnable(run)
    missing = model_file_problem(ws, run)
    if missing is not None:
        raise ModelFileMissing(missing)
    payload = ws.artifacts.open(run.model_file_path, run.model_file_sha256)  # verified first
    model = load_model(registry, payload)
    bars = training_window(ws, run)
    data = FeaturePipeline(registry.indicators).prepare(bars, run.config)
    block = plain(settings.regimes)
    results = backtest_model(
        model,
        bars,
        data,
        run.config,
        detector=registry.get("detectors", str(block.get("detector", "rules"))).factory(block),
        regimes=regimes,
        inference_grid=list(inference),
        metrics=[d.metric for d in registry.metrics.values()],
        cost=cost_for_symbol(run.config.symbol, plain(settings.costs)),
        min_bars=int(settings.min_bars_per_regime),
        min_trades=int(settings.min_trades_per_regime),
        progress=progress,
        clock=ws.clock,
        run_uuid=run_uuid,
        kernel=default_kernel(),
    )
    recorded = record_reinference(
        ws.uow(),
        run_uuid=run_uuid,
        records=backtest_records(results),
        policy=runner_settings_of(settings, registry).policy,
        artifacts=ws.artifacts,
        at=ws.clock.now(),
    )
    publish = event_dispatcher_of(registry, settings, ws.uow)
    for event in recorded.events:
        publish(event)
    return recorded
