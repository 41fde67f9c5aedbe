"""Grid axes: each listed value of a grid mapping checked once and turned into canonical pieces.

An ``AxisValue`` holds the frozen field values it contributes to a ``ModelConfig``, the canonical
JSON fragments of those fields (so that a point's hash is a string join, not a re-serialisation)
and ``point_problems``: problems that make every point using the value invalid without making the
grid file wrong (a train/validation split that leaves no test segment, say). Problems of a value
itself (unknown name, out of range, duplicate) are grid-file errors, reported with the value's
path, such as ``grid.horizon[2]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from regimeforge.domain import catalog as cat
from regimeforge.domain import config_checks as chk
from regimeforge.domain.config import fragment, freeze
from regimeforge.domain.errors import Problem


@attrs.frozen
class AxisValue:
    """One value of one axis: field values, their ``"key":json`` fragments, point problems."""

    fields: Mapping[str, Any]
    fragments: Mapping[str, str]
    label: Any
    point_problems: tuple[Problem, ...] = ()


def make_value(
    fields: Mapping[str, Any], label: Any, problems: tuple[Problem, ...] = ()
) -> AxisValue:
    """An axis value from plain (already checked, normalised) field values."""
    frozen = {key: freeze(value) for key, value in fields.items()}
    frags = {key: f'"{key}":{fragment(value)}' for key, value in frozen.items()}
    return AxisValue(frozen, frags, label, problems)


def listed(value: Any, path: str) -> list[tuple[str, Any]]:
    """``(path, item)`` per item of a list; a scalar is a list of one (its path unindexed)."""
    if isinstance(value, list | tuple):
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    return [(path, value)]


def dedupe(
    values: list[tuple[str, AxisValue]], path: str, problems: list[Problem]
) -> list[AxisValue]:
    """The values, with a problem for each one equal (canonically) to an earlier one."""
    del path  # kept in the signature: callers name the axis they dedupe
    seen: dict[tuple[str, ...], str] = {}
    out: list[AxisValue] = []
    for where, value in values:
        key = tuple(sorted(value.fragments.values()))
        if key in seen:
            problems.append(
                Problem(where, f"same as {seen[key]} once normalised", "remove the duplicate")
            )
            continue
        seen[key] = where
        out.append(value)
    return out


def scalar_axis(
    key: str,
    given: Any,
    path: str,
    check: Callable[[Any, str, list[Problem]], Any],
    problems: list[Problem],
) -> list[AxisValue]:
    """An axis of single values (symbol, base_timeframe, days_history, horizon, seed)."""
    good: list[tuple[str, AxisValue]] = []
    items = listed(given, path)
    if not items:
        problems.append(Problem(path, "is an empty list", "give at least one value"))
    for where, item in items:
        before = len(problems)
        value = check(item, where, problems)
        if len(problems) == before and value is not None:
            good.append((where, make_value({key: value}, value)))
    return dedupe(good, path, problems)


def _expanding(value: Any, default: Any) -> bool:
    # A list expands, except where the parameter's default is a list (a list of lists does).
    if not isinstance(value, list | tuple):
        return False
    if isinstance(default, list | tuple):
        return bool(value) and all(isinstance(v, list | tuple) for v in value)
    return True


def param_variants(
    given: Any, defaults: Mapping[str, Any], path: str, problems: list[Problem]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every combination of listed parameter values: ``(full params, the listed choices)``."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        problems.append(Problem(path, f"must be a mapping, got {type(given).__name__}"))
        return []
    choices: dict[str, list[Any]] = {}
    for key in sorted(given):
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            problems.append(Problem(f"{path}.{key}", "unknown parameter", f"use one of: {known}"))
            continue
        raw = given[key]
        items = (
            listed(raw, f"{path}.{key}")
            if _expanding(raw, defaults[key])
            else [(f"{path}.{key}", raw)]
        )
        if not items:
            problems.append(Problem(f"{path}.{key}", "is an empty list", "give at least one value"))
        checked = [
            chk.check_param_value(where, item, defaults[key], problems) for where, item in items
        ]
        choices[key] = checked
    base = chk.check_params(path, {}, defaults, [])
    out = []
    for combo in itertools.product(*choices.values()):
        chosen = dict(zip(choices, combo, strict=True))
        out.append(({**base, **chosen}, chosen))
    return out


def preprocessing_axis(given: Any, path: str, problems: list[Problem]) -> list[AxisValue]:
    """Preprocessing: listed values expand (key by key); each value checked once."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        problems.append(Problem(path, f"must be a mapping, got {type(given).__name__}"))
        return []
    keys = sorted(given)
    per_key: list[list[Any]] = []
    for key in keys:
        items = listed(given[key], f"{path}.{key}")
        if not items:
            problems.append(Problem(f"{path}.{key}", "is an empty list", "give at least one value"))
        good = []
        for where, item in items:
            found: list[Problem] = []
            chk.check_preprocessing({key: item}, found, path=path)
            mine = [
                p
                for p in found
                if p.path == f"{path}.{key}" and "must be > 0 each" not in p.message
            ]
            problems.extend(attrs.evolve(p, path=where) for p in mine)
            if not mine:
                good.append(item)
        per_key.append(good)
    values: list[tuple[str, AxisValue]] = []
    for combo in itertools.product(*per_key):
        chosen = dict(zip(keys, combo, strict=True))
        found = []
        full = chk.check_preprocessing(chosen, found, path="preprocessing")
        values.append(
            (f"{path} {chosen}", make_value({"preprocessing": full}, chosen, tuple(found)))
        )
    return dedupe(values, path, problems) if per_key or values else []


def shared_mapping_axis(
    key: str,
    given: Any,
    path: str,
    check: Callable[[Any, list[Problem], str], Any],
    problems: list[Problem],
) -> list[AxisValue]:
    """indicator_tfs / additional_features: one shared mapping, or a LIST of mappings expands."""
    expands = isinstance(given, list | tuple) and any(isinstance(v, Mapping) for v in given)
    items = listed(given, path) if expands else [(path, given)]
    if not items:
        problems.append(Problem(path, "is an empty list", "give at least one value"))
    good: list[tuple[str, AxisValue]] = []
    for where, item in items:
        before = len(problems)
        value = check(item, problems, where)
        if len(problems) == before:
            good.append((where, make_value({key: value}, value)))
    return dedupe(good, path, problems)


def check_indicators_for(catalog: cat.ConfigCatalog) -> Callable[[Any, list[Problem], str], Any]:
    """``check_indicators`` bound to a catalog, in the shape ``shared_mapping_axis`` calls."""

    def check(item: Any, problems: list[Problem], where: str) -> Any:
        return chk.check_indicators(item, catalog, problems, path=where)

    return check
