"""The shape of ``training_pipeline.yaml``: one spec per key, checked with every problem collected.

A spec is a small value object that checks a value found at a dotted key path and appends a
``Problem`` for each thing wrong with it; ``Block`` nests specs. The schema is data rather than
code so that ``docs/configuration.md``, the default file and the validator cannot drift apart
silently (``tests/unit/test_settings.py`` checks the default file covers every key of it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from regimeforge.domain.catalog import ENSEMBLE_METHODS, PREDICTION_METHODS
from regimeforge.domain.errors import Problem


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@attrs.frozen
class Int:
    """An integer in ``lo..hi`` (bools refused; ``nullable`` admits null)."""

    lo: int
    hi: int
    nullable: bool = False

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append a problem when ``value`` is not an integer in range."""
        if value is None and self.nullable:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                Problem(
                    path,
                    f"must be an integer, got {_type_name(value)} {value!r}",
                    f"use a whole number in {self.lo}..{self.hi}",
                )
            )
        elif not self.lo <= value <= self.hi:
            problems.append(Problem(path, f"{value} is out of range", f"use {self.lo}..{self.hi}"))


@attrs.frozen
class Number:
    """A finite number in ``lo..hi`` (``lo_open`` excludes ``lo``; ``nullable`` admits null)."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    nullable: bool = False

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append a problem when ``value`` is not a number in range."""
        if value is None and self.nullable:
            return
        lo_sign = "(" if self.lo_open else "["
        hi_sign = ")" if self.hi_open else "]"
        span = f"{lo_sign}{self.lo:g}, {self.hi:g}{hi_sign}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(
                Problem(
                    path,
                    f"must be a number, got {_type_name(value)} {value!r}",
                    f"use a number in {span}",
                )
            )
            return
        ok = math.isfinite(value)
        ok = ok and (value > self.lo if self.lo_open else value >= self.lo)
        ok = ok and (value < self.hi if self.hi_open else value <= self.hi)
        if not ok:
            problems.append(Problem(path, f"{value} is out of range", f"use a number in {span}"))


@attrs.frozen
class Bool:
    """true or false."""

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append a problem when ``value`` is not a bool."""
        if not isinstance(value, bool):
            problems.append(
                Problem(path, f"must be true or false, got {value!r}", "use true or false")
            )


@attrs.frozen
class Str:
    """A non-empty string, optionally one of ``choices``."""

    choices: tuple[str, ...] = ()

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append a problem when ``value`` is not a (known) string."""
        if not isinstance(value, str) or not value.strip():
            problems.append(
                Problem(path, f"must be a non-empty string, got {value!r}", "write a text value")
            )
        elif self.choices and value not in self.choices:
            problems.append(
                Problem(path, f"unknown value {value!r}", f"use one of: {', '.join(self.choices)}")
            )


@attrs.frozen
class Scalar:
    """A plain value: text, number or bool (extra inference parameters of model plugins)."""

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append a problem when ``value`` is a list, mapping or null."""
        if not isinstance(value, str | int | float | bool):
            problems.append(Problem(path, f"must be a text, number or bool, got {value!r}", ""))


@attrs.frozen
class ListOf:
    """A list of items, each checked by ``item``; ``min_len`` items at least."""

    item: Any
    min_len: int = 0

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append problems for a non-list or for each bad item (``path[i]``)."""
        if not isinstance(value, list):
            problems.append(
                Problem(
                    path, f"must be a list, got {_type_name(value)} {value!r}", "write [a, b, ...]"
                )
            )
            return
        if len(value) < self.min_len:
            problems.append(Problem(path, f"needs at least {self.min_len} item(s)", "add a value"))
        for i, item in enumerate(value):
            self.item.check(f"{path}[{i}]", item, problems)


@attrs.frozen
class MapOf:
    """A mapping whose keys are free (symbols, channel names) and values checked by ``value``."""

    value: Any

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append problems for a non-mapping or for each bad value (``path.key``)."""
        if not isinstance(value, Mapping):
            problems.append(Problem(path, f"must be a mapping, got {_type_name(value)}", ""))
            return
        for key, item in value.items():
            self.value.check(f"{path}.{key}", item, problems)


@attrs.frozen
class Block:
    """A mapping with known keys; unknown keys are refused unless ``open`` is set.

    ``open`` blocks (notification channels, detector parameter blocks) admit extra keys because
    their consumers are plugins that define their own options.
    """

    fields: Mapping[str, Any]
    open: bool = False

    def check(self, path: str, value: Any, problems: list[Problem]) -> None:
        """Append problems for unknown keys and for each known key's value."""
        if not isinstance(value, Mapping):
            problems.append(
                Problem(
                    path or "(top level)",
                    f"must be a mapping, got {_type_name(value)}",
                    "write key: value pairs",
                )
            )
            return
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            spec = self.fields.get(key)
            if spec is None:
                if not self.open:
                    problems.append(
                        Problem(sub, "unknown key", f"use one of: {', '.join(sorted(self.fields))}")
                    )
                continue
            spec.check(sub, item, problems)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else in ``override`` replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


_COSTS = Block({"spread_bps": Number(0, 10_000), "commission_bps": Number(0, 10_000)})
_CHANNEL = Block({"enabled": Bool()}, open=True)

#: Every key of ``training_pipeline.yaml`` with its check.
SCHEMA = Block(
    {
        "artifacts_dir": Str(),
        "checkpoints_dir": Str(),
        "max_checkpoint_age_days": Int(0, 36_500),
        "checkpoints_kept_per_queue": Int(1, 1_000_000),
        "max_parallel_queues": Int(1, 1024),
        "auto_checkpoint_interval": Int(1, 1_000_000),
        "max_inference_workers": Int(1, 1024),
        "auto_resume_on_crash": Bool(),
        "detect_crash_after_minutes": Number(0, 100_000, lo_open=True),
        "delete_non_best_models": Bool(),
        "keep_top_n_per_regime": Int(1, 10_000),
        "compress_old_models": Bool(),
        "model_cache_size_mb": Int(0, 1_000_000),
        "database_connection_pool_size": Int(1, 1000),
        "database_url": Str(),
        "primary_metric": Str(),
        "min_bars_per_regime": Int(1, 10_000_000),
        "min_trades_per_regime": Int(0, 10_000_000),
        "per_model_timeout_seconds": Number(0, 10_000_000, lo_open=True, nullable=True),
        "max_consecutive_failures": Int(1, 1_000_000),
        "disk_reserve_mb": Int(0, 100_000_000),
        "executor": Str(),
        "max_parallel": Int(1, 4096),
        "seed": Int(0, 2**32 - 1),
        "split": Block(
            {
                "train": Number(0, 1, lo_open=True, hi_open=True),
                "validation": Number(0, 1, lo_open=True, hi_open=True),
            }
        ),
        "costs": Block({"default": _COSTS, "symbols": MapOf(_COSTS)}),
        "regimes": Block(
            {
                "detector": Str(),
                "rv_window": Int(2, 100_000),
                "trend_window": Int(2, 100_000),
                "percentile_window": Int(10, 10_000_000),
                "hmm_fit_fraction": Number(0, 1, lo_open=True),
                "significance": Block(
                    {
                        "enabled": Bool(),
                        "confidence": Number(0, 1, lo_open=True, hi_open=True),
                        "block_size": Int(1, 100_000),
                        "n_bootstrap": Int(10, 1_000_000),
                    }
                ),
            },
            open=True,  # detector plugins may read their own parameter block, e.g. ``hmm:``
        ),
        "inference_grid": Block(
            {
                "prediction_method": ListOf(Str(PREDICTION_METHODS), min_len=1),
                "ensemble_method": ListOf(Str(ENSEMBLE_METHODS), min_len=1),
                "confidence_threshold": ListOf(Number(0, 1), min_len=1),
                "lookback_window": ListOf(Int(20, 500), min_len=1),
                "params": MapOf(ListOf(Scalar(), min_len=1)),
            }
        ),
        "notifications": Block(
            {
                "events": ListOf(Str()),
                "log": _CHANNEL,
                "email": _CHANNEL,
                "webhook": _CHANNEL,
            },
            open=True,  # a notifier plugin may add its own channel block
        ),
        "plugins": Block({"entry_points": Bool(), "allow": ListOf(Str()), "block": ListOf(Str())}),
    }
)

#: Keys whose environment override is taken verbatim (a URL or path is never YAML-parsed).
STRING_KEYS: Sequence[str] = (
    "artifacts_dir",
    "checkpoints_dir",
    "database_url",
    "primary_metric",
    "executor",
)


def cross_checks(data: Mapping[str, Any]) -> list[Problem]:
    """Checks that span keys (run after the per-key checks passed)."""
    problems: list[Problem] = []
    split = data["split"]
    if split["train"] + split["validation"] >= 1:
        problems.append(
            Problem(
                "split.validation",
                f"train {split['train']} + validation {split['validation']} leaves no test segment",
                "keep train + validation below 1, e.g. 0.6 and 0.2",
            )
        )
    return problems
