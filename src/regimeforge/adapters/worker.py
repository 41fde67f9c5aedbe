"""The worker side of the outer loop: a picklable task and the factory that builds it.

``run_task(spec)`` is the top-level function an executor runs (in this thread, in a child process
or on a Dask worker). It rebuilds everything from plain data in ``WorkerSpec``: the plugin
registry (once per process), the data source of the grid's ``data`` block, the feature pipeline,
the trainer, the regime detector and the metrics; runs ``evaluate_config``; writes the model file
to the shared artifact store; and returns a ``WorkerResult``.

``GridTaskFactory`` is the coordinator's ``TaskFactory`` for queues made from grid files: the grid
point of an item, the data fingerprint of a config (cached per data window, for the dedup check)
and the task with its spec.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from regimeforge.domain.config import InferenceConfig, ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.events import Event
from regimeforge.domain.regimes import RegimeDefinition
from regimeforge.domain.usecases.tasks import TaskRequest, WorkerResult, plain


@attrs.frozen
class WorkerSpec:
    """Everything a worker needs, as plain picklable data.

    ``settings`` holds: ``plugins`` ({entry_points, allow, block}), ``regimes`` and ``costs``
    (the settings blocks), ``min_bars``, ``min_trades``, ``compress`` (artifact compression),
    ``as_of`` (ISO time or None: the end of the data). ``encoder_source`` is the stored model
    file (``name``, ``sha256``) an encoder such as ``latents`` reuses, resolved by the
    coordinator side (``adapters/encoder_sources.py``); None for every other encoder.
    """

    run_uuid: str
    config: dict[str, Any]
    data: dict[str, Any]
    base_dir: str
    inference: list[dict[str, Any]]
    regimes: list[dict[str, Any]]
    artifacts_dir: str
    settings: dict[str, Any]
    encoder_source: dict[str, str] | None = None


@functools.lru_cache(maxsize=4)
def _registry(entry_points: bool, allow: tuple[str, ...], block: tuple[str, ...]) -> Any:
    from regimeforge.plugins.manager import get_plugin_manager

    return get_plugin_manager(entry_points=entry_points, allow=allow, block=block)


def registry_for(settings: Mapping[str, Any]) -> Any:
    """The plugin registry of this process for the ``plugins`` settings (built once)."""
    plugins = settings.get("plugins", {})
    return _registry(
        bool(plugins.get("entry_points", False)),
        tuple(plugins.get("allow", ())),
        tuple(plugins.get("block", ())),
    )


def data_source(registry: Any, data: Mapping[str, Any], base_dir: str) -> Any:
    """The MarketDataSource of a grid file's ``data`` block."""
    return registry.get("data_sources", str(data.get("source", "csv"))).factory(data, base_dir)


def _regime(entry: Mapping[str, Any]) -> RegimeDefinition:
    return RegimeDefinition(
        name=entry["name"],
        detection_rules=dict(entry["detection_rules"]),
        description=entry.get("description", ""),
        detector=entry.get("detector", "rules"),
        priority=int(entry.get("priority", 100)),
        is_active=bool(entry.get("is_active", True)),
    )


def run_task(
    spec: WorkerSpec,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[Event], None] | None = None,
) -> WorkerResult:
    """Train one config and run its inner loop; the model file goes to the artifact store."""
    from datetime import datetime

    from regimeforge.adapters.artifacts import FilesystemArtifactStore
    from regimeforge.adapters.clock import SystemClock
    from regimeforge.domain.costs import cost_for_symbol
    from regimeforge.domain.features import FeaturePipeline
    from regimeforge.domain.usecases.pipeline import evaluate_config, to_worker_result
    from regimeforge.plugins.builtin.models.composite import build_trainer
    from regimeforge.plugins.builtin.numba_kernel import default_kernel

    registry = registry_for(spec.settings)
    config = ModelConfig.from_mapping(spec.config, registry.catalog())
    store = FilesystemArtifactStore(
        spec.artifacts_dir, compress=bool(spec.settings.get("compress"))
    )
    source = spec.encoder_source
    encoder_source = None if source is None else store.open(source["name"], source["sha256"])
    regimes = [_regime(r) for r in spec.regimes]
    block = spec.settings.get("regimes", {})
    detector = registry.get("detectors", str(block.get("detector", "rules"))).factory(block)
    as_of = spec.settings.get("as_of")
    evaluation = evaluate_config(
        config,
        source=data_source(registry, spec.data, spec.base_dir),
        features=FeaturePipeline(registry.indicators),
        trainer=build_trainer(registry, config, encoder_source=encoder_source),
        detector=detector,
        regimes=regimes,
        inference_grid=[InferenceConfig.from_mapping(i) for i in spec.inference],
        metrics=[d.metric for d in registry.metrics.values()],
        cost=cost_for_symbol(config.symbol, spec.settings.get("costs")),
        min_bars=int(spec.settings.get("min_bars", 50)),
        min_trades=int(spec.settings.get("min_trades", 5)),
        as_of=datetime.fromisoformat(as_of) if as_of else None,
        should_stop=should_stop,
        progress=progress,
        clock=SystemClock(),
        run_uuid=spec.run_uuid,
        kernel=default_kernel(),
    )
    info = store.put(evaluation.model.to_bytes(), suffix=".model")
    return to_worker_result(evaluation, info)


class GridTaskFactory:
    """The ``TaskFactory`` of queues created from grid files (see the module docstring).

    ``grid_of(queue)`` returns the queue's grid (``len``, ``grid[i] -> ModelConfig``),
    ``data_of(queue)`` its ``data`` block and ``inference_of(queue)`` its inference configs;
    ``worker_settings`` is ``WorkerSpec.settings`` (see ``worker_settings_of``). ``in_process``
    passes the coordinator's cancel and progress callbacks to the task (inline executor only).
    ``encoder_source(config)`` resolves the stored model an encoder reuses (``latents``), or
    returns None; without it such configs fail with the encoder's own message.
    """

    def __init__(
        self,
        *,
        grid_of: Callable[[TrainingQueue], Any],
        data_of: Callable[[TrainingQueue], Mapping[str, Any]],
        inference_of: Callable[[TrainingQueue], Sequence[InferenceConfig]],
        base_dir: Path | str,
        artifacts_dir: Path | str,
        worker_settings: Mapping[str, Any],
        in_process: bool,
        encoder_source: Callable[[ModelConfig], dict[str, str] | None] | None = None,
    ) -> None:
        self.grid_of = grid_of
        self.data_of = data_of
        self.inference_of = inference_of
        self.base_dir = str(base_dir)
        self.artifacts_dir = str(artifacts_dir)
        self.worker_settings = dict(worker_settings)
        self.in_process = in_process
        self.encoder_source = encoder_source
        self._fingerprints: dict[tuple[str, ...], str] = {}

    def config_for(self, queue: TrainingQueue, item: QueueItem) -> ModelConfig:
        """Grid point ``item.index`` of the queue's grid."""
        config: ModelConfig = self.grid_of(queue)[item.index]
        return config

    def data_fingerprint(self, queue: TrainingQueue, config: ModelConfig) -> str:
        """Hash of the bars ``config`` trains on (cached per data block and window)."""
        from regimeforge.domain.marketdata import fingerprint
        from regimeforge.domain.usecases.pipeline import load_window

        data = plain(self.data_of(queue))
        key = (repr(sorted(data.items())), config.symbol, config.base_timeframe,
               str(config.days_history))  # fmt: skip
        if key not in self._fingerprints:
            registry = registry_for(self.worker_settings)
            bars = load_window(data_source(registry, data, self.base_dir), config, None)
            self._fingerprints[key] = fingerprint(bars)
        return self._fingerprints[key]

    def spec(self, request: TaskRequest) -> WorkerSpec:
        """The plain-data spec of one task."""
        return WorkerSpec(
            run_uuid=request.run_uuid,
            config=plain(request.config.to_dict()),
            data=plain(self.data_of(request.queue)),
            base_dir=self.base_dir,
            inference=[plain(i.to_dict()) for i in self.inference_of(request.queue)],
            regimes=[
                {
                    **plain(
                        attrs.asdict(r, recurse=False, filter=lambda a, _: a.name != "created_at")
                    )
                }
                for r in request.regimes
            ],
            artifacts_dir=self.artifacts_dir,
            settings=self.worker_settings,
            encoder_source=self.encoder_source(request.config) if self.encoder_source else None,
        )

    def task(self, request: TaskRequest) -> tuple[Callable[..., WorkerResult], tuple[Any, ...]]:
        """``run_task`` and its arguments (callbacks only when the task runs in this process)."""
        spec = self.spec(request)
        if self.in_process:
            return run_task, (spec, request.should_stop, request.progress)
        return run_task, (spec,)


def worker_settings_of(settings: Any, *, load_entry_points: bool = True) -> dict[str, Any]:
    """``WorkerSpec.settings`` from the workspace ``Settings`` (plain data only)."""
    return {
        "plugins": {
            "entry_points": bool(settings.plugins.entry_points and load_entry_points),
            "allow": list(settings.plugins.allow),
            "block": list(settings.plugins.block),
        },
        "regimes": plain(settings.regimes),
        "costs": plain(settings.costs),
        "min_bars": settings.min_bars_per_regime,
        "min_trades": settings.min_trades_per_regime,
        "compress": settings.compress_old_models,
        "as_of": None,
    }
