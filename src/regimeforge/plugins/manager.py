"""The plugin manager: built-in plugins plus the entry-point group ``regimeforge``.

``get_plugin_manager`` registers the ``DEFAULT_PLUGINS`` modules, then (unless told not to) the
installed entry points filtered by an allowlist and a blocklist, refuses hook implementations that
match no hookspec (``check_pending``), calls every registration hook plugin by plugin, checks each
returned item and refuses a name registered twice, naming both plugins. Nothing is built at
import time.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import pluggy

from regimeforge.domain.errors import PluginError
from regimeforge.plugins import hookspecs
from regimeforge.plugins.registry import KINDS, PluginInfo, PluginRegistry

ENTRY_POINT_GROUP = "regimeforge"

#: The built-in plugins, registered first and exactly like third-party ones.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "regimeforge.plugins.builtin.indicators",
    "regimeforge.plugins.builtin.models",
    "regimeforge.plugins.builtin.encoders",
    "regimeforge.plugins.builtin.neural",
    "regimeforge.plugins.builtin.detectors",
    "regimeforge.plugins.builtin.metrics",
    # adapter-side built-ins are imported by name: the plugins layer never imports adapters.
    "regimeforge.adapters.marketdata.plugin",
    "regimeforge.adapters.executors.plugin",
    "regimeforge.adapters.notifiers.plugin",
)


def _register(
    pm: pluggy.PluginManager, plugin: Any, name: str, source: str, infos: list[PluginInfo]
) -> None:
    module = getattr(plugin, "__name__", type(plugin).__module__)
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:  # a hookimpl whose arguments match no spec
        raise PluginError(f"plugin {name!r} ({source}) is invalid: {exc}") from None
    except ValueError as exc:  # pluggy: the name or object is already registered
        raise PluginError(f"plugin {name!r} ({source}) cannot be registered: {exc}") from None
    infos.append(PluginInfo(name=name, source=source, module=str(module)))


def _load_entry_points(
    pm: pluggy.PluginManager, allow: Iterable[str], block: Iterable[str], infos: list[PluginInfo]
) -> None:
    allowed, blocked = set(allow), set(block)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or (allowed and ep.name not in allowed):
            continue
        if pm.get_plugin(ep.name) is not None:
            other = next(i for i in infos if i.name == ep.name)
            raise PluginError(
                f"two plugins are named {ep.name!r}: {other.module} ({other.source}) and "
                f"entry point {ep.value}; block one with plugins.block"
            )
        dist = ep.dist
        where = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party package must say which one it is
            raise PluginError(
                f"entry point {ep.name!r} ({ep.value}, from {where}) failed to load: {exc}"
            ) from exc
        _register(pm, plugin, ep.name, f"entry point {ep.name} from {where}", infos)


def _collect(pm: pluggy.PluginManager) -> tuple[dict[str, dict[str, Any]], dict[Any, str]]:
    entries: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    origins: dict[tuple[str, str], str] = {}
    for kind, (hook_name, cls) in KINDS.items():
        # get_hookimpls() is in registration order: built-ins, entry points, extras.
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            plugin = impl.plugin_name
            try:
                result = impl.function()
            except Exception as exc:
                raise PluginError(f"plugin {plugin!r} failed in {hook_name}: {exc}") from exc
            if result is None:
                continue
            if not isinstance(result, list | tuple):
                raise PluginError(
                    f"plugin {plugin!r}: {hook_name} must return a list of {cls.__name__}, "
                    f"got {type(result).__name__}"
                )
            for item in result:
                if not isinstance(item, cls):
                    raise PluginError(
                        f"plugin {plugin!r}: {hook_name} returned {type(item).__name__} "
                        f"{item!r}; expected {cls.__name__}"
                    )
                name = getattr(item, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin {plugin!r}: {hook_name} returned an empty name")
                if name in entries[kind]:
                    first = origins[(kind, name)]
                    raise PluginError(
                        f"{kind[:-1].replace('_', ' ')} {name!r} is registered twice: by "
                        f"plugin {first!r} and by plugin {plugin!r}"
                    )
                entries[kind][name] = item
                origins[(kind, name)] = plugin
    return entries, origins


def get_plugin_manager(
    *,
    entry_points: bool = True,
    allow: Iterable[str] = (),
    block: Iterable[str] = (),
    extra_plugins: Iterable[ModuleType | object] = (),
    include_defaults: bool = True,
) -> PluginRegistry:
    """Build a checked ``PluginRegistry``; PluginError names the plugin behind any problem.

    ``entry_points`` loads installed third-party plugins (tests pass False unless they test
    discovery); ``allow``/``block`` filter them by entry-point name; ``extra_plugins`` are
    registered after everything else (modules or objects with ``@hookimpl`` functions).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    block = tuple(block)
    if include_defaults:
        for module_name in DEFAULT_PLUGINS:
            if module_name in block:
                continue
            _register(pm, importlib.import_module(module_name), module_name, "built-in", infos)
    if entry_points:
        _load_entry_points(pm, allow, block, infos)
    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if pm.has_plugin(name):  # two objects of one class: keep both, tell them apart
            name = f"{name}#{sum(1 for i in infos if i.name.startswith(name)) + 1}"
        _register(pm, plugin, name, "extra (passed by the caller)", infos)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f"plugin {name!r} implements an unknown hook: {exc}") from None
    entries, origins = _collect(pm)
    return PluginRegistry(pm, entries, origins, infos)
