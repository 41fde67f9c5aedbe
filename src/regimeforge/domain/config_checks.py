"""The checks behind ``ModelConfig.from_mapping`` and the grid's per-axis validation.

Each check appends ``Problem`` items (never raises) so that callers report everything at once, and
takes the field ``path`` to report under: ``horizon`` for a single config, ``grid.horizon[2]`` for
the third value of a grid axis. Checks that need two fields (history vs horizon, indicator
timeframe vs base timeframe) are separate functions so that a grid runs them once per point while
checking every single-field value only once per axis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from regimeforge.domain import catalog as cat
from regimeforge.domain.canonical import normalise
from regimeforge.domain.errors import Problem
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES, bars_in_days

#: Bars each of the train, validation and test segments must keep at the very least.
MIN_SEGMENT_BARS = 10
SYMBOL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._:-]{0,31}$")
_PRE_INTS = {"warmup_bars": (0, 100_000), "rv_window": (2, 10_000), "ensemble_members": (1, 50)}
_PRE_FRACTIONS = ("min_coverage", "train_fraction", "validation_fraction")


def is_int(value: Any) -> bool:
    """True for an integer or an integral float (1.0), never for a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def is_number(value: Any) -> bool:
    """True for a finite int or float, never for a bool."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def check_int(value: Any, path: str, lo: int, hi: int, problems: list[Problem]) -> int | None:
    """``value`` as an int in ``lo..hi``, else None with a problem."""
    if not is_int(value):
        problems.append(Problem(path, f"must be an integer, got {value!r}", f"use {lo}..{hi}"))
        return None
    number = int(value)
    if not lo <= number <= hi:
        problems.append(Problem(path, f"{number} is outside {lo}..{hi}", f"use {lo}..{hi}"))
        return None
    return number


def check_choice(
    value: Any,
    path: str,
    choices: Mapping[str, Any] | tuple[str, ...],
    problems: list[Problem],
    unavailable: Mapping[str, str] | None = None,
) -> str | None:
    """``value`` when it is one of ``choices``, else None with a problem.

    A name in ``unavailable`` (registered but unusable here) is refused with its reason as the
    fix, e.g. the install command of a missing extra.
    """
    known = ", ".join(sorted(choices))
    if value is None:
        problems.append(Problem(path, "is required", f"use one of: {known}"))
        return None
    if isinstance(value, str) and value not in choices and unavailable and value in unavailable:
        problems.append(Problem(path, f"{value!r} is unavailable here", unavailable[value]))
        return None
    if not isinstance(value, str) or value not in choices:
        problems.append(Problem(path, f"unknown value {value!r}", f"use one of: {known}"))
        return None
    return value


def check_symbol(value: Any, path: str, problems: list[Problem]) -> str | None:
    """A market symbol such as EUR/USD or GOOG."""
    if not isinstance(value, str) or not SYMBOL_PATTERN.match(value):
        problems.append(Problem(path, f"invalid symbol {value!r}", "e.g. EUR/USD or GOOG"))
        return None
    return value


def check_seed(value: Any, path: str, problems: list[Problem]) -> int | None:
    """A seed in 0..2**32-1 (what numpy and torch accept)."""
    if not is_int(value) or not 0 <= int(value) < 2**32:
        problems.append(Problem(path, f"{value!r} is not an integer in 0..2**32-1", "use e.g. 0"))
        return None
    return int(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return "any"


def check_param_value(path: str, value: Any, default: Any, problems: list[Problem]) -> Any:
    """One model/encoder parameter: JSON data of the default's kind (None is always allowed)."""
    try:
        value = normalise(value)
    except ValueError as exc:
        problems.append(Problem(path, str(exc), "use a number, string or list"))
        return None
    want = _kind(default)
    if value is not None and want != "any" and _kind(value) != want:
        problems.append(Problem(path, f"{value!r} is not {want}", f"use {want} like {default!r}"))
    return value


def check_params(
    path: str, given: Any, defaults: Mapping[str, Any], problems: list[Problem]
) -> dict[str, Any]:
    """Parameters over their defaults: unknown names and wrong kinds are problems."""
    out = {key: normalise(value) for key, value in defaults.items()}
    if given is None:
        return out
    if not isinstance(given, Mapping):
        problems.append(Problem(path, f"must be a mapping, got {type(given).__name__}"))
        return out
    for key, value in given.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            problems.append(Problem(f"{path}.{key}", "unknown parameter", f"use one of: {known}"))
            continue
        out[key] = check_param_value(f"{path}.{key}", value, defaults[key], problems)
    return out


def check_preprocessing(
    given: Any, problems: list[Problem], path: str = "preprocessing"
) -> dict[str, Any]:
    """Preprocessing over its defaults, each value checked, plus the split fractions' sum."""
    pre = check_params(path, given, cat.PREPROCESSING_DEFAULTS, problems)
    for key, (lo, hi) in _PRE_INTS.items():
        if not is_int(pre[key]) or not lo <= int(pre[key]) <= hi:
            problems.append(
                Problem(
                    f"{path}.{key}",
                    f"{pre[key]!r} is not an integer in {lo}..{hi}",
                    f"use {lo}..{hi}",
                )
            )
    for key in _PRE_FRACTIONS:
        if not is_number(pre[key]) or not 0 <= float(pre[key]) <= 1:
            problems.append(
                Problem(
                    f"{path}.{key}", f"{pre[key]!r} is not in 0..1", "use a fraction such as 0.6"
                )
            )
    if pre["scaling"] not in cat.SCALINGS:
        problems.append(
            Problem(
                f"{path}.scaling",
                f"unknown scaling {pre['scaling']!r}",
                f"use one of: {', '.join(cat.SCALINGS)}",
            )
        )
    train, val = pre["train_fraction"], pre["validation_fraction"]
    if is_number(train) and is_number(val) and not (train > 0 and val > 0 and train + val < 1):
        problems.append(
            Problem(
                f"{path}.train_fraction",
                f"train {train} + validation {val} must be > 0 each and < 1",
                "e.g. 0.6 and 0.2 leave 0.2 for the test segment",
            )
        )
    return pre


def check_indicators(
    given: Any, catalog: cat.ConfigCatalog, problems: list[Problem], path: str = "indicator_tfs"
) -> dict[str, list[str]]:
    """indicator -> timeframe SET (sorted finest first); names and timeframes checked."""
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        problems.append(
            Problem(path, "must map indicator -> list of timeframes", "e.g. {rsi: [1h, 4h]}")
        )
        return {}
    out: dict[str, list[str]] = {}
    for name, tfs in given.items():
        where = f"{path}.{name}"
        if name not in catalog.indicators:
            known = ", ".join(sorted(catalog.indicators))
            problems.append(Problem(where, "unknown indicator", f"use one of: {known}"))
            continue
        tf_list = [tfs] if isinstance(tfs, str) else tfs
        if not isinstance(tf_list, list | tuple) or not tf_list:
            problems.append(Problem(where, "must be a non-empty list of timeframes", "e.g. [1h]"))
            continue
        good: set[str] = set()
        for tf in tf_list:
            if not isinstance(tf, str) or tf not in TIMEFRAME_MINUTES:
                known = ", ".join(TIMEFRAME_MINUTES)
                problems.append(Problem(where, f"unknown timeframe {tf!r}", f"use one of: {known}"))
            else:
                good.add(tf)
        out[str(name)] = sorted(good, key=lambda t: TIMEFRAME_MINUTES[t])
    return out


def indicator_base_problems(indicator_tfs: Mapping[str, Any], base: str) -> list[Problem]:
    """Indicator timeframes finer than the base timeframe (they cannot be computed from it)."""
    base_minutes = TIMEFRAME_MINUTES[base]
    return [
        Problem(
            f"indicator_tfs.{name}",
            f"timeframe {tf} is finer than base_timeframe {base}",
            f"use {base} or coarser",
        )
        for name, tfs in indicator_tfs.items()
        for tf in tfs
        if TIMEFRAME_MINUTES[tf] < base_minutes
    ]


def check_features(
    given: Any, problems: list[Problem], path: str = "additional_features"
) -> dict[str, bool]:
    """Feature-group flags over all-false defaults; a list names the groups switched on."""
    flags = dict.fromkeys(cat.ADDITIONAL_FEATURES, False)
    if given is None:
        return flags
    if isinstance(given, list | tuple):
        given = dict.fromkeys(given, True)
    if not isinstance(given, Mapping):
        problems.append(
            Problem(path, "must map feature -> true/false", "e.g. {returns_volatility: true}")
        )
        return flags
    for key, value in given.items():
        if key not in flags:
            known = ", ".join(cat.ADDITIONAL_FEATURES)
            problems.append(
                Problem(f"{path}.{key}", "unknown feature group", f"use one of: {known}")
            )
        elif not isinstance(value, bool):
            problems.append(
                Problem(f"{path}.{key}", f"{value!r} is not true/false", "use true or false")
            )
        else:
            flags[key] = value
    return flags


def bars_needed(horizon: int, warmup: int) -> int:
    """Bars a config needs: warm-up, three segments and the purge gaps the horizon implies."""
    return warmup + 4 * horizon + 3 * MIN_SEGMENT_BARS


def history_problem(days: int, base: str, horizon: int, warmup: int) -> Problem | None:
    """A problem when ``days`` of ``base`` bars cannot hold warm-up, segments and purge gaps."""
    available = bars_in_days(days, base)
    needed = bars_needed(horizon, warmup)
    if available >= needed:
        return None
    return Problem(
        "horizon",
        f"{days} days of {base} bars hold at most {available} bars, fewer than the {needed} that "
        f"warm-up ({warmup}), horizon {horizon} with purge gaps and three segments of "
        f"{MIN_SEGMENT_BARS} bars need",
        "raise days_history, use a finer base_timeframe or a shorter horizon",
    )
