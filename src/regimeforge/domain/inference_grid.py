"""The inference grid: lists per inference parameter -> every ``InferenceConfig`` (the inner loop).

Scalars are accepted where lists are; a key left out takes the default grid's values; ``params``
is a mapping whose list values expand too. Every value is checked once and every problem is
reported at once with its path (``inference_grid.confidence_threshold[5]``). The order is fixed
(prediction method slowest, then ensemble method, threshold, lookback window, params), so that
the same grid always expands to the same sequence.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from regimeforge.domain.config import INFERENCE_KEYS, InferenceConfig, validate_inference_mapping
from regimeforge.domain.errors import ConfigError, Problem

_AXES = ("prediction_method", "ensemble_method", "confidence_threshold", "lookback_window")

#: The default inner loop: 3 x 3 x 5 x 3 = 135 inference configurations.
DEFAULT_INFERENCE_GRID: Mapping[str, tuple[Any, ...]] = MappingProxyType(
    {
        "prediction_method": ("direct", "recursive", "direct_multi"),
        "ensemble_method": ("mean", "weighted", "stacking"),
        "confidence_threshold": (0.0, 0.3, 0.5, 0.7, 0.9),
        "lookback_window": (50, 100, 200),
    }
)


def _listed(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, list | tuple):
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    return [(path, value)]


def _reference(key: str) -> dict[str, Any]:
    # A valid config to check one value against: the first default of every other axis.
    ref: dict[str, Any] = {k: DEFAULT_INFERENCE_GRID[k][0] for k in _AXES}
    ref.pop(key)
    return ref


def expand_inference_grid(
    grid: Any = DEFAULT_INFERENCE_GRID, *, path: str = "inference_grid"
) -> tuple[InferenceConfig, ...]:
    """Every inference config of ``grid``; ConfigError with every problem at once."""
    if not isinstance(grid, Mapping):
        raise ConfigError([Problem(path, "must map parameter -> list of values")])
    problems: list[Problem] = []
    for key in grid:
        if key not in INFERENCE_KEYS:
            known = ", ".join(sorted(INFERENCE_KEYS))
            problems.append(Problem(f"{path}.{key}", "unknown key", f"use one of: {known}"))
    choices: list[list[Any]] = []
    for key in _AXES:
        items = _listed(grid.get(key, DEFAULT_INFERENCE_GRID[key]), f"{path}.{key}")
        if not items:
            problems.append(Problem(f"{path}.{key}", "is an empty list", "give at least one value"))
        good = []
        for where, item in items:
            found = validate_inference_mapping({**_reference(key), key: item})
            problems.extend(Problem(where, p.message, p.fix) for p in found)
            if not found:
                good.append(item)
        choices.append(good)
    params = grid.get("params") or {}
    param_sets: list[dict[str, Any]] = [{}]
    if not isinstance(params, Mapping):
        problems.append(
            Problem(f"{path}.params", "must be a mapping", "e.g. {n_samples: [16, 32]}")
        )
    else:
        keys = sorted(params)
        lists = [[v for _, v in _listed(params[k], f"{path}.params.{k}")] for k in keys]
        param_sets = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*lists)]
    ConfigError.collect(problems, subject="inference grid")
    out: list[InferenceConfig] = []
    seen: dict[str, int] = {}
    for method, ensemble, threshold, lookback in itertools.product(*choices):
        for extra in param_sets:
            config = InferenceConfig.from_mapping(
                {
                    "prediction_method": method,
                    "ensemble_method": ensemble,
                    "confidence_threshold": threshold,
                    "lookback_window": lookback,
                    "params": extra,
                }
            )
            if config.config_hash in seen:
                problems.append(
                    Problem(
                        path, f"{config.to_dict()} is listed twice", "remove the duplicate value"
                    )
                )
                continue
            seen[config.config_hash] = len(out)
            out.append(config)
    ConfigError.collect(problems[:5], subject="inference grid")
    return tuple(out)
