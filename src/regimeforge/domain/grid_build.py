"""``build_grid``: a grid mapping -> ``GridSpec`` plus every problem found (paths ``grid.*``).

Defaults (from the settings) may fill what the grid leaves out: ``train_fraction`` and
``validation_fraction`` go into ``preprocessing`` and ``seed`` becomes the seed axis. They are
written into the spec's ``source`` so that a stored grid means the same thing after the settings
change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regimeforge.domain import catalog as cat
from regimeforge.domain import config_checks as chk
from regimeforge.domain import grid_axes as ax
from regimeforge.domain.canonical import normalise
from regimeforge.domain.config import MODEL_KEYS
from regimeforge.domain.errors import Problem
from regimeforge.domain.grid import GridSpec
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES

_REQUIRED = ("model_type", "symbol", "base_timeframe", "days_history", "horizon")


def _with_defaults(grid: Mapping[str, Any], defaults: Any) -> dict[str, Any]:
    out = dict(grid)
    if not isinstance(defaults, Mapping):
        return out
    pre = out.get("preprocessing")
    if pre is None or isinstance(pre, Mapping):
        filled = dict(pre or {})
        for key in ("train_fraction", "validation_fraction"):
            if defaults.get(key) is not None and key not in filled:
                filled[key] = defaults[key]
        if filled:
            out["preprocessing"] = filled
    if defaults.get("seed") is not None and "seed" not in out:
        out["seed"] = defaults["seed"]
    return out


def _model_axis(
    grid: Mapping[str, Any],
    kind: str,
    choices: Mapping[str, Mapping[str, Any]],
    path: str,
    *,
    problems: list[Problem],
    breakdown: list[tuple[str, Any]],
    unavailable: Mapping[str, str] | None = None,
) -> list[ax.AxisValue]:
    """model_type x model_hyperparams (or encoder x encoder_params): one combined axis."""
    name_key = "model_type" if kind == "model" else "encoder"
    params_key = "model_hyperparams" if kind == "model" else "encoder_params"
    names = ax.scalar_axis(
        name_key,
        grid.get(name_key, "none" if kind == "encoder" else None),
        f"{path}.{name_key}",
        lambda v, where, probs: chk.check_choice(v, where, choices, probs, unavailable),
        problems,
    )
    breakdown.append((name_key, [v.label for v in names]))
    params = grid.get(params_key) or {}
    if not isinstance(params, Mapping):
        problems.append(Problem(f"{path}.{params_key}", "must map type -> parameters"))
        params = {}
    listed = {str(v.label) for v in names}
    for name in params:
        if name not in listed:
            problems.append(
                Problem(
                    f"{path}.{params_key}.{name}",
                    f"{name!r} is not in {path}.{name_key}",
                    f"add it to {name_key} or remove these parameters",
                )
            )
    out: list[ax.AxisValue] = []
    for value in names:
        name = str(value.label)
        where = f"{path}.{params_key}.{name}"
        variants = ax.param_variants(params.get(name), choices[name], where, problems)
        for key, raw in (
            (params.get(name) or {}).items() if isinstance(params.get(name), Mapping) else ()
        ):
            if isinstance(raw, list | tuple):
                breakdown.append((f"{params_key}.{name}.{key}", list(raw)))
        values = [
            (where, ax.make_value({name_key: name, params_key: full}, name)) for full, _ in variants
        ]
        out.extend(ax.dedupe(values, where, problems))
    if any(
        isinstance(v, list | tuple)
        for p in params.values()
        if isinstance(p, Mapping)
        for v in p.values()
    ):
        breakdown.append((f"{name_key} x {params_key}", len(out)))
    return out


def build_grid(
    grid: Any, catalog: cat.ConfigCatalog, *, defaults: Any = None, path: str = "grid"
) -> tuple[GridSpec | None, list[Problem]]:
    """The spec (None when anything is wrong) and every problem of the grid mapping."""
    if not isinstance(grid, Mapping):
        return None, [
            Problem(path, "must be a mapping of parameter -> values", "see docs/grids.md")
        ]
    problems: list[Problem] = []
    for key in grid:
        if key not in MODEL_KEYS:
            known = ", ".join(sorted(MODEL_KEYS))
            problems.append(Problem(f"{path}.{key}", "unknown grid key", f"use one of: {known}"))
    for key in _REQUIRED:
        if key not in grid:
            problems.append(Problem(f"{path}.{key}", "is required", "list at least one value"))
    if problems:
        return None, problems
    grid = _with_defaults(grid, defaults)
    breakdown: list[tuple[str, Any]] = []
    axes: list[list[ax.AxisValue]] = [
        _model_axis(
            grid,
            "model",
            catalog.model_types,
            path,
            problems=problems,
            breakdown=breakdown,
            unavailable=catalog.unavailable,
        ),
        _model_axis(
            grid,
            "encoder",
            catalog.encoders,
            path,
            problems=problems,
            breakdown=breakdown,
            unavailable=catalog.unavailable,
        ),
    ]
    timeframes = tuple(TIMEFRAME_MINUTES)
    scalars = {
        "symbol": chk.check_symbol,
        "base_timeframe": lambda v, w, p: chk.check_choice(v, w, timeframes, p),
        "days_history": lambda v, w, p: chk.check_int(v, w, 1, 3650, p),
        "horizon": lambda v, w, p: chk.check_int(v, w, 1, 500, p),
    }
    for key, check in scalars.items():
        axes.append(ax.scalar_axis(key, grid[key], f"{path}.{key}", check, problems))
        breakdown.append((key, [v.label for v in axes[-1]]))
    for key, check_map in (
        ("indicator_tfs", ax.check_indicators_for(catalog)),
        ("additional_features", chk.check_features),
    ):
        axes.append(
            ax.shared_mapping_axis(key, grid.get(key), f"{path}.{key}", check_map, problems)
        )
        breakdown.append((key, [v.label for v in axes[-1]]))
    axes.append(ax.preprocessing_axis(grid.get("preprocessing"), f"{path}.preprocessing", problems))
    breakdown.append(("preprocessing", [v.label for v in axes[-1]]))
    axes.append(
        ax.scalar_axis("seed", grid.get("seed", 0), f"{path}.seed", chk.check_seed, problems)
    )
    breakdown.append(("seed", [v.label for v in axes[-1]]))
    if problems:
        return None, problems
    try:
        source = normalise(grid)
    except ValueError as exc:
        return None, [Problem(path, str(exc), "use plain numbers, strings, lists and mappings")]
    return GridSpec(source, tuple(tuple(a) for a in axes), tuple(breakdown)), []
