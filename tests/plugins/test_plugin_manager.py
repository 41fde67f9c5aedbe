"""The plugin manager: built-ins, entry-point discovery, checks on what plugins return."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regimeforge import hookimpl
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.errors import PluginError
from regimeforge.domain.regimes import RegimeBestChange
from regimeforge.plugins.descriptors import EncoderDescriptor, ModelTypeDescriptor
from regimeforge.plugins.manager import DEFAULT_PLUGINS, get_plugin_manager

HERE = Path(__file__).resolve().parent


def make_dist(root: Path, entry_points: str, name: str = "rf-example-plugin") -> None:
    """A minimal installed distribution: what pip would leave in site-packages, without pip."""
    info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def example_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``rf_example_plugin`` importable and advertised under the entry-point group."""
    make_dist(tmp_path, "[regimeforge]\nrf-example = rf_example_plugin\n")
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("rf_example_plugin", None)


class Models:
    """An extra plugin registering a model type and an encoder."""

    def __init__(self, *names: str, available: bool = True) -> None:
        self.names = names
        self.available = available

    @hookimpl
    def register_model_types(self) -> list[ModelTypeDescriptor]:
        return [
            ModelTypeDescriptor(
                n,
                object,  # type: ignore[arg-type]
                hyperparams={"alpha": 1.0},
                inference_params={"n_samples": 8},
                available=self.available,
                unavailable_reason="" if self.available else "needs the torch extra",
            )
            for n in self.names
        ]

    @hookimpl
    def register_encoders(self) -> list[EncoderDescriptor]:
        return [EncoderDescriptor(f"{n}-enc", dict) for n in self.names]  # type: ignore[arg-type]


def test_defaults_register_every_builtin_module() -> None:
    registry = get_plugin_manager(entry_points=False)
    assert [p.name for p in registry.plugins] == list(DEFAULT_PLUGINS)
    assert {p.source for p in registry.plugins} == {"built-in"}


def test_no_defaults_and_an_extra_plugin() -> None:
    registry = get_plugin_manager(
        entry_points=False, include_defaults=False, extra_plugins=[Models("m1", "m2")]
    )
    assert list(registry.model_types) == ["m1", "m2"]
    assert registry.origin("model_types", "m1") == "Models"
    assert registry.get("encoders", "m2-enc").name == "m2-enc"
    with pytest.raises(PluginError, match="no model type named 'zz'; known: m1, m2"):
        registry.origin("model_types", "zz")


def test_catalog_lists_only_available_types_with_their_defaults() -> None:
    registry = get_plugin_manager(
        entry_points=False,
        include_defaults=False,
        extra_plugins=[Models("ok"), Models("gpu", available=False)],
    )
    catalog = registry.catalog()
    assert dict(catalog.model_types) == {"ok": {"alpha": 1.0}}
    assert dict(catalog.inference_params) == {"ok": {"n_samples": 8}}
    assert set(catalog.encoders) == {"ok-enc", "gpu-enc"}
    assert registry.unavailable() == {"model_types:gpu": "needs the torch extra"}


def test_a_name_registered_twice_names_both_plugins() -> None:
    class Other(Models):
        pass

    with pytest.raises(PluginError) as exc:
        get_plugin_manager(
            entry_points=False, include_defaults=False, extra_plugins=[Models("x"), Other("x")]
        )
    assert "'x' is registered twice" in str(exc.value)
    assert "'Models'" in str(exc.value) and "'Other'" in str(exc.value)


class BadReturn:
    @hookimpl
    def register_model_types(self) -> Any:
        return {"name": "not a list"}


class WrongItem:
    @hookimpl
    def register_model_types(self) -> Any:
        return [EncoderDescriptor("enc", dict)]  # type: ignore[arg-type]


class Raises:
    @hookimpl
    def register_metrics(self) -> Any:
        raise RuntimeError("boom")


class UnknownHook:
    @hookimpl
    def register_strategies(self) -> Any:
        return []


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (BadReturn(), "plugin 'BadReturn': register_model_types must return a list"),
        (WrongItem(), "plugin 'WrongItem': register_model_types returned EncoderDescriptor"),
        (Raises(), "plugin 'Raises' failed in register_metrics: boom"),
        (UnknownHook(), "register_strategies"),
    ],
)
def test_bad_plugins_are_refused_naming_the_plugin(plugin: object, message: str) -> None:
    with pytest.raises(PluginError) as exc:
        get_plugin_manager(entry_points=False, include_defaults=False, extra_plugins=[plugin])
    assert message in str(exc.value)
    assert type(plugin).__name__ in str(exc.value)


def test_entry_point_plugin_is_discovered(example_dist: Path) -> None:
    registry = get_plugin_manager(entry_points=True)
    assert registry.origin("model_types", "example-mean") == "rf-example"
    assert registry.origin("detectors", "example-first") == "rf-example"
    assert registry.origin("metrics", "example_mean_return") == "rf-example"
    info = next(p for p in registry.plugins if p.name == "rf-example")
    assert info.source == "entry point rf-example from rf-example-plugin 0.1"
    assert info.module == "rf_example_plugin"
    assert dict(registry.catalog().model_types)["example-mean"] == {"shrink": 0.0}
    assert "example-gpu" not in registry.catalog().model_types
    assert registry.unavailable() == {"model_types:example-gpu": "needs a GPU (example)"}


@pytest.mark.parametrize(
    ("allow", "block", "loaded"),
    [
        ((), (), True),
        (("rf-example",), (), True),
        (("other",), (), False),
        ((), ("rf-example",), False),
    ],
)
def test_allow_and_block_filter_entry_points(
    example_dist: Path, allow: tuple[str, ...], block: tuple[str, ...], loaded: bool
) -> None:
    registry = get_plugin_manager(entry_points=True, allow=allow, block=block)
    assert ("example-mean" in registry.model_types) is loaded


def test_tests_do_not_load_entry_points_unless_asked(example_dist: Path) -> None:
    assert "example-mean" not in get_plugin_manager(entry_points=False).model_types


def test_a_broken_entry_point_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(tmp_path, "[regimeforge]\nbroken = no_such_module_rf\n", name="rf-broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match=r"entry point 'broken'.*rf-broken 0\.1.*failed to load"):
        get_plugin_manager(entry_points=True, include_defaults=False)


def test_an_entry_point_clashing_with_a_builtin_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = DEFAULT_PLUGINS[0]
    make_dist(tmp_path, f"[regimeforge]\n{name} = rf_example_plugin\n", name="rf-clash")
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="two plugins are named"):
        get_plugin_manager(entry_points=True)


class Recorder:
    """Implements every lifecycle hook and records the keyword arguments it received."""

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, Any]] = {}

    @hookimpl
    def before_queue_started(self, queue: TrainingQueue) -> None:
        self.calls["before_queue_started"] = {"queue": queue}

    @hookimpl
    def before_run_started(self, queue: Any, item: Any, config: Any) -> None:
        self.calls["before_run_started"] = {"queue": queue, "item": item, "config": config}

    @hookimpl
    def after_run_finished(self, run: TrainingRun, backtests_count: int, kept: bool) -> None:
        self.calls["after_run_finished"] = {"run": run, "n": backtests_count, "kept": kept}

    @hookimpl
    def on_run_error(self, run: TrainingRun, error: str) -> None:
        self.calls["on_run_error"] = {"run": run, "error": error}

    @hookimpl
    def after_regime_best_changed(self, change: RegimeBestChange) -> None:
        self.calls["after_regime_best_changed"] = {"change": change}

    @hookimpl
    def after_queue_finished(self, queue: TrainingQueue, statistics: Any) -> None:
        self.calls["after_queue_finished"] = {"queue": queue, "statistics": statistics}

    @hookimpl
    def on_queue_error(self, queue: TrainingQueue, error: str) -> None:
        self.calls["on_queue_error"] = {"queue": queue, "error": error}

    @hookimpl
    def after_progress_reported(
        self, queue_uuid: str, done: int, total: int, eta_seconds: float | None
    ) -> None:
        self.calls["after_progress_reported"] = {"done": done, "total": total}


def test_every_lifecycle_hook_reaches_plugins(catalog: Any, example_dist: Path) -> None:
    recorder = Recorder()
    registry = get_plugin_manager(entry_points=True, extra_plugins=[recorder])
    config = ModelConfig.from_mapping(
        {
            "model_type": "ridge",
            "symbol": "EUR/USD",
            "base_timeframe": "1h",
            "days_history": 120,
            "horizon": 5,
        },
        catalog,
    )
    run = TrainingRun(run_uuid="r1", config=config, config_hash=config.config_hash)
    queue = TrainingQueue(queue_uuid="q1", name="q", config_grid={}, total_configs=1)
    item = QueueItem(queue_uuid="q1", index=0, config_hash=config.config_hash)
    change = object.__new__(RegimeBestChange)  # the hook passes it through untouched
    hook = registry.hook
    hook.before_queue_started(queue=queue)
    hook.before_run_started(queue=queue, item=item, config=config.to_dict())
    hook.after_run_finished(run=run, backtests_count=135, kept=True)
    hook.on_run_error(run=run, error="boom")
    hook.after_regime_best_changed(change=change)
    hook.after_queue_finished(queue=queue, statistics={"completed": 1})
    hook.on_queue_error(queue=queue, error="disk full")
    hook.after_progress_reported(queue_uuid="q1", done=1, total=1, eta_seconds=None)
    assert set(recorder.calls) == {
        "before_queue_started",
        "before_run_started",
        "after_run_finished",
        "on_run_error",
        "after_regime_best_changed",
        "after_queue_finished",
        "on_queue_error",
        "after_progress_reported",
    }
    assert recorder.calls["after_run_finished"] == {"run": run, "n": 135, "kept": True}
    import rf_example_plugin

    assert [name for name, _ in rf_example_plugin.CALLS[-2:]] == [
        "after_run_finished",
        "after_queue_finished",
    ]
