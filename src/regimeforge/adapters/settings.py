"""Workspace settings: ``training_pipeline.yaml`` -> validated, frozen ``Settings``.

Order of precedence (last wins): the built-in defaults (``DEFAULTS``, identical to the packaged
``resources/training_pipeline.yaml``), the settings file, ``REGIMEFORGE_<KEY>`` environment
variables, then programmatic ``overrides``. Mappings merge key by key at every step, so an override
of ``split`` may give only ``{train: 0.7}``. Every problem of the merged result is reported at once
in one ``ConfigError`` whose items name their key path (``regimes.significance.confidence``).
Relative ``artifacts_dir``, ``checkpoints_dir`` and SQLite paths resolve against the workspace.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import yaml

from regimeforge.adapters.settings_schema import SCHEMA, STRING_KEYS, cross_checks, merge
from regimeforge.domain.errors import ConfigError, Problem

SETTINGS_FILE = "training_pipeline.yaml"
ENV_PREFIX = "REGIMEFORGE_"

#: The defaults of every key (the packaged default file holds exactly these values).
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "artifacts_dir": "artifacts",
        "checkpoints_dir": "checkpoints",
        "max_checkpoint_age_days": 30,
        "checkpoints_kept_per_queue": 10,
        "max_parallel_queues": 1,
        "auto_checkpoint_interval": 10,
        "max_inference_workers": 4,
        "auto_resume_on_crash": False,
        "detect_crash_after_minutes": 10,
        "delete_non_best_models": True,
        "keep_top_n_per_regime": 3,
        "compress_old_models": False,
        "model_cache_size_mb": 512,
        "database_connection_pool_size": 5,
        "database_url": "sqlite:///regimeforge.db",
        "primary_metric": "sharpe",
        "min_bars_per_regime": 50,
        "min_trades_per_regime": 5,
        "per_model_timeout_seconds": 3600,
        "max_consecutive_failures": 5,
        "disk_reserve_mb": 500,
        "executor": "inline",
        "max_parallel": 1,
        "seed": 0,
        "split": {"train": 0.6, "validation": 0.2},
        "costs": {"default": {"spread_bps": 1.0, "commission_bps": 0.5}, "symbols": {}},
        "regimes": {
            "detector": "rules",
            "rv_window": 20,
            "trend_window": 50,
            "percentile_window": 500,
            "hmm_fit_fraction": 0.5,
            "significance": {
                "enabled": False,
                "confidence": 0.95,
                "block_size": 20,
                "n_bootstrap": 1000,
            },
        },
        "inference_grid": {
            "prediction_method": ["direct", "recursive", "direct_multi"],
            "ensemble_method": ["mean", "weighted", "stacking"],
            "confidence_threshold": [0.0, 0.3, 0.5, 0.7, 0.9],
            "lookback_window": [50, 100, 200],
        },
        "notifications": {
            "events": ["queue_completed", "queue_failed", "regime_improved"],
            "log": {"enabled": True, "level": "INFO"},
            "email": {"enabled": False},
            "webhook": {"enabled": False},
        },
        "plugins": {"entry_points": True, "allow": [], "block": []},
    }
)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@attrs.frozen
class SplitSettings:
    """Chronological split fractions; the test segment gets what is left."""

    train: float
    validation: float

    @property
    def test(self) -> float:
        """The fraction left for the test segment."""
        return 1.0 - self.train - self.validation


@attrs.frozen
class InferenceGridSettings:
    """The default inference grid (lists per parameter; ``params`` for plugin parameters)."""

    prediction_method: tuple[str, ...]
    ensemble_method: tuple[str, ...]
    confidence_threshold: tuple[float, ...]
    lookback_window: tuple[int, ...]
    params: Mapping[str, tuple[Any, ...]] = attrs.field(factory=lambda: MappingProxyType({}))

    def to_mapping(self) -> dict[str, Any]:
        """Plain lists, as a grid file's ``inference_grid`` block would hold them."""
        out: dict[str, Any] = {
            "prediction_method": list(self.prediction_method),
            "ensemble_method": list(self.ensemble_method),
            "confidence_threshold": list(self.confidence_threshold),
            "lookback_window": list(self.lookback_window),
        }
        if self.params:
            out["params"] = _thaw(self.params)
        return out

    def __len__(self) -> int:
        size = (
            len(self.prediction_method)
            * len(self.ensemble_method)
            * len(self.confidence_threshold)
            * len(self.lookback_window)
        )
        for values in self.params.values():
            size *= len(values)
        return size


@attrs.frozen
class PluginSettings:
    """Which third-party plugins load: entry points on/off, allowlist, blocklist (by name)."""

    entry_points: bool
    allow: tuple[str, ...]
    block: tuple[str, ...]


@attrs.frozen
class Settings:
    """Validated workspace settings (see docs/configuration.md for every key).

    ``regimes``, ``costs`` and ``notifications`` are read-only mappings: their consumers are
    plugins that read the keys they know with defaults. ``root`` is the workspace folder and
    ``source`` the settings file (``None`` when only defaults and overrides were used).
    """

    root: Path
    source: Path | None
    artifacts_dir: Path
    checkpoints_dir: Path
    max_checkpoint_age_days: int
    checkpoints_kept_per_queue: int
    max_parallel_queues: int
    auto_checkpoint_interval: int
    max_inference_workers: int
    auto_resume_on_crash: bool
    detect_crash_after_minutes: float
    delete_non_best_models: bool
    keep_top_n_per_regime: int
    compress_old_models: bool
    model_cache_size_mb: int
    database_connection_pool_size: int
    database_url: str
    primary_metric: str
    min_bars_per_regime: int
    min_trades_per_regime: int
    per_model_timeout_seconds: float | None
    max_consecutive_failures: int
    disk_reserve_mb: int
    executor: str
    max_parallel: int
    seed: int
    split: SplitSettings
    costs: Mapping[str, Any]
    regimes: Mapping[str, Any]
    inference_grid: InferenceGridSettings
    notifications: Mapping[str, Any]
    plugins: PluginSettings

    def cost_for(self, symbol: str) -> tuple[float, float]:
        """(spread_bps, commission_bps) for ``symbol``: its own entry over the default."""
        default = self.costs["default"]
        own = self.costs["symbols"].get(symbol, {})
        return (
            float(own.get("spread_bps", default["spread_bps"])),
            float(own.get("commission_bps", default["commission_bps"])),
        )


def parse_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load`` with a ConfigError that names the line and column of a syntax error."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            [Problem("", f"{where}malformed YAML: {what}", "fix the YAML syntax there")],
            subject=source,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"malformed YAML: {exc}")], subject=source) from None


def env_overrides(env: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """The ``REGIMEFORGE_<KEY>`` overrides in ``env`` (scalars parsed by YAML rules).

    ``REGIMEFORGE_SPLIT='{train: 0.7}'`` merges into the block; a nested key is reached with
    double underscores (``REGIMEFORGE_REGIMES__SIGNIFICANCE__ENABLED=true``). Variables that name
    no setting (``REGIMEFORGE_WORKSPACE``) are ignored.
    """
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if parts[0] not in DEFAULTS:
            continue
        if len(parts) == 1 and parts[0] in STRING_KEYS:
            value: Any = raw
        else:
            try:
                value = yaml.safe_load(raw) if raw.strip() else None
            except yaml.YAMLError:
                problems.append(
                    Problem(".".join(parts), f"environment variable {name} is not valid YAML")
                )
                continue
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out, problems


def _resolve_url(url: str, root: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        path = Path(url[len(prefix) :])
        if not path.is_absolute():
            return prefix + str((root / path).resolve())
    return url


def _build(data: Mapping[str, Any], root: Path, source: Path | None) -> Settings:
    plain = {k: v for k, v in data.items() if k in DEFAULTS}
    grid = dict(plain.pop("inference_grid"))
    plug = plain.pop("plugins")
    return Settings(
        root=root,
        source=source,
        **{
            **plain,
            "artifacts_dir": (root / plain["artifacts_dir"]).resolve(),
            "checkpoints_dir": (root / plain["checkpoints_dir"]).resolve(),
            "database_url": _resolve_url(plain["database_url"], root),
            "detect_crash_after_minutes": float(plain["detect_crash_after_minutes"]),
            "split": SplitSettings(
                float(plain["split"]["train"]), float(plain["split"]["validation"])
            ),
            "costs": _freeze(plain["costs"]),
            "regimes": _freeze(plain["regimes"]),
            "notifications": _freeze(plain["notifications"]),
            "inference_grid": InferenceGridSettings(
                prediction_method=tuple(grid["prediction_method"]),
                ensemble_method=tuple(grid["ensemble_method"]),
                confidence_threshold=tuple(float(v) for v in grid["confidence_threshold"]),
                lookback_window=tuple(grid["lookback_window"]),
                params=_freeze(grid.get("params", {})),
            ),
            "plugins": PluginSettings(
                bool(plug["entry_points"]), tuple(plug["allow"]), tuple(plug["block"])
            ),
        },
    )


def load_settings(
    path: Path | None,
    env: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    text: str | None = None,
) -> Settings:
    """Load, merge and validate settings; ConfigError lists every problem with its key path.

    ``path`` is the settings file (None: defaults only); ``env`` the environment (None:
    ``os.environ``); ``root`` the workspace folder relative paths resolve against (default: the
    file's folder, else the current directory); ``text`` is used instead of reading ``path``
    (``init`` validates the file it is about to write).
    """
    environ = os.environ if env is None else env
    base = Path(root) if root is not None else (path.parent if path else Path.cwd())
    data: dict[str, Any] = copy.deepcopy(dict(DEFAULTS))
    subject = str(path) if path else "settings"
    if path is not None:
        if text is None:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    [Problem("", f"cannot read settings file: {exc.strerror}")], subject=subject
                ) from None
        loaded = parse_yaml(text, subject)
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(
                [Problem("", "the settings file must be a mapping of key: value pairs")],
                subject=subject,
            )
        data = merge(data, loaded or {})
    from_env, problems = env_overrides(environ)
    data = merge(data, from_env)
    data = merge(data, overrides or {})
    SCHEMA.check("", data, problems)
    if not problems:
        problems.extend(cross_checks(data))
    ConfigError.collect(problems, subject=subject)
    return _build(data, base.resolve(), Path(path).resolve() if path else None)
