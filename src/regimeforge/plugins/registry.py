"""``PluginRegistry``: the checked, duplicate-free view of what the loaded plugins registered.

Built by ``plugins.manager.get_plugin_manager``; consumers look things up by kind and name
(``registry.model_types["ridge"]``), ask where a name came from (``origin``), build the
``ConfigCatalog`` the validators need (``catalog``) and call lifecycle hooks through ``hook``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pluggy

from regimeforge.domain.catalog import ConfigCatalog
from regimeforge.domain.errors import PluginError
from regimeforge.plugins import descriptors as d

#: kind -> (registration hook, descriptor class). The kinds are the registry's attribute names.
KINDS: Mapping[str, tuple[str, type]] = {
    "model_types": ("register_model_types", d.ModelTypeDescriptor),
    "encoders": ("register_encoders", d.EncoderDescriptor),
    "indicators": ("register_indicators", d.IndicatorDescriptor),
    "detectors": ("register_regime_detectors", d.RegimeDetectorDescriptor),
    "metrics": ("register_metrics", d.MetricDescriptor),
    "data_sources": ("register_data_sources", d.DataSourceDescriptor),
    "executors": ("register_executors", d.ExecutorDescriptor),
    "notifiers": ("register_notifiers", d.NotifierDescriptor),
}


@attrs.frozen
class PluginInfo:
    """One loaded plugin: its pluggy name, where it came from and its module."""

    name: str
    source: str
    module: str


class PluginRegistry:
    """Name -> descriptor dicts per kind, with the plugin each name came from.

    Attributes ``model_types``, ``encoders``, ``indicators``, ``detectors``, ``metrics``,
    ``data_sources``, ``executors`` and ``notifiers`` are dicts keyed by name, in registration
    order (built-ins first). ``plugins`` lists the loaded plugins; ``hook`` is pluggy's hook
    relay for the lifecycle hooks (call with keywords).
    """

    def __init__(
        self,
        manager: pluggy.PluginManager,
        entries: Mapping[str, Mapping[str, Any]],
        origins: Mapping[tuple[str, str], str],
        plugins: list[PluginInfo],
    ) -> None:
        self.manager = manager
        self.model_types: dict[str, d.ModelTypeDescriptor] = dict(entries["model_types"])
        self.encoders: dict[str, d.EncoderDescriptor] = dict(entries["encoders"])
        self.indicators: dict[str, d.IndicatorDescriptor] = dict(entries["indicators"])
        self.detectors: dict[str, d.RegimeDetectorDescriptor] = dict(entries["detectors"])
        self.metrics: dict[str, d.MetricDescriptor] = dict(entries["metrics"])
        self.data_sources: dict[str, d.DataSourceDescriptor] = dict(entries["data_sources"])
        self.executors: dict[str, d.ExecutorDescriptor] = dict(entries["executors"])
        self.notifiers: dict[str, d.NotifierDescriptor] = dict(entries["notifiers"])
        self._origins = dict(origins)
        self.plugins = list(plugins)

    @property
    def hook(self) -> Any:
        """pluggy's hook relay (``registry.hook.after_run_finished(run=..., ...)``)."""
        return self.manager.hook

    def kind(self, kind: str) -> dict[str, Any]:
        """The name -> descriptor dict of ``kind`` (one of ``KINDS``)."""
        if kind not in KINDS:
            raise PluginError(f"unknown plugin kind {kind!r}; known: {', '.join(KINDS)}")
        entries: dict[str, Any] = getattr(self, kind)
        return entries

    def origin(self, kind: str, name: str) -> str:
        """The plugin that registered ``name`` of ``kind``; PluginError for an unknown name."""
        try:
            return self._origins[(kind, name)]
        except KeyError:
            known = ", ".join(self.kind(kind)) or "none"
            what = kind[:-1].replace("_", " ")
            raise PluginError(f"no {what} named {name!r}; known: {known}") from None

    def get(self, kind: str, name: str) -> Any:
        """The descriptor of ``name``; PluginError naming the known ones when it is missing."""
        self.origin(kind, name)
        return self.kind(kind)[name]

    def catalog(self) -> ConfigCatalog:
        """What the config validators know: available model types and encoders, indicators."""
        models = {n: m for n, m in self.model_types.items() if m.available}
        return ConfigCatalog(
            model_types={n: m.hyperparams for n, m in models.items()},
            encoders={n: e.params for n, e in self.encoders.items() if e.available},
            indicators=frozenset(self.indicators),  # type: ignore[arg-type]  # attrs converter typing
            inference_params={n: m.inference_params for n, m in models.items()},
            unavailable={
                n: d.unavailable_reason or "unavailable here"
                for kind in (self.model_types, self.encoders)
                for n, d in kind.items()
                if not d.available
            },
        )

    def unavailable(self) -> dict[str, str]:
        """``"kind:name" -> reason`` for everything registered but not usable here."""
        out: dict[str, str] = {}
        for kind in KINDS:
            for name, desc in self.kind(kind).items():
                if not getattr(desc, "available", True):
                    out[f"{kind}:{name}"] = getattr(desc, "unavailable_reason", "") or "unknown"
        return out
