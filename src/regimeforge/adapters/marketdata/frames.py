"""What every market data adapter shares: column mapping, timestamps to UTC, the timeframe step.

``to_bars`` turns a raw table (as read from a file or a SQL query) into validated bars:
1. the timestamp column is ``columns["timestamp"]``, else a column named time, timestamp,
   datetime or date (any case), else the first column (the unnamed index of pandas CSVs);
2. ``columns`` maps our names (open, high, low, close, volume) to the table's names; names are
   matched case-insensitively and unmapped ones are found by their own name (``Open``, ``OPEN``);
3. naive timestamps are local times of ``timezone`` (default UTC), converted to UTC; timestamps
   with an offset are converted as they are; numbers are epoch times in ``epoch_unit``;
4. ``domain.marketdata.validate_bars`` refuses bad data, listing every problem.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from regimeforge.domain.errors import ConfigError, DataError, Problem
from regimeforge.domain.marketdata import OHLCV, infer_timeframe, resample_bars, validate_bars
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES

TIME_NAMES: tuple[str, ...] = ("time", "timestamp", "datetime", "date")
MAPPABLE: frozenset[str] = frozenset({*OHLCV, "timestamp"})


def check_columns_option(columns: Mapping[str, str] | None, path: str) -> dict[str, str]:
    """The ``columns`` option as a dict; ConfigError for keys other than OHLCV and timestamp."""
    given = dict(columns or {})
    bad = [k for k in given if str(k).lower() not in MAPPABLE]
    if bad:
        raise ConfigError(
            [
                Problem(
                    f"{path}.{k}",
                    "not a bar column",
                    f"map one of: {', '.join(sorted(MAPPABLE))} to your column name",
                )
                for k in bad
            ]
        )
    return {str(k).lower(): str(v) for k, v in given.items()}


def _find(frame: pd.DataFrame, name: str) -> str | None:
    lower = {str(c).strip().lower(): str(c) for c in frame.columns}
    return lower.get(name.strip().lower())


def _timestamp_column(frame: pd.DataFrame, columns: Mapping[str, str], subject: str) -> str:
    wanted = columns.get("timestamp")
    if wanted is not None:
        found = _find(frame, wanted)
        if found is None:
            raise DataError(
                [
                    Problem(
                        "columns.timestamp",
                        f"no column {wanted!r} (found: {', '.join(map(str, frame.columns))})",
                        "name the timestamp column in columns.timestamp",
                    )
                ],
                subject=subject,
            )
        return found
    for name in TIME_NAMES:
        found = _find(frame, name)
        if found is not None:
            return found
    return str(frame.columns[0])


def _parse(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    try:  # one format for the whole column: fast
        with warnings.catch_warnings():  # pandas warns before falling back; we fall back below
            warnings.simplefilter("ignore", UserWarning)
            return pd.to_datetime(values)
    except ValueError:
        pass
    try:  # mixed formats: element by element
        return pd.to_datetime(values, format="mixed")
    except ValueError:  # offsets that change (daylight saving): every stamp carries its own
        return pd.to_datetime(values, format="mixed", utc=True)


def _pytz_errors() -> tuple[type[Exception], ...]:
    try:
        import pytz
    except ImportError:  # pragma: no cover - pandas depends on pytz today
        return ()
    return (pytz.exceptions.InvalidTimeError,)


_PYTZ_ERRORS = _pytz_errors()


def utc_index(values: pd.Series, timezone: str, epoch_unit: str, subject: str) -> pd.DatetimeIndex:
    """Timestamps as a UTC DatetimeIndex (see the module doc); DataError when they do not parse."""
    try:
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            parsed = pd.to_datetime(values, unit=epoch_unit, utc=True)
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            parsed = values.dt.tz_convert("UTC")
        else:
            parsed = _parse(values)
            if getattr(parsed.dtype, "tz", None) is None:
                parsed = parsed.dt.tz_localize(timezone, ambiguous="infer", nonexistent="raise")
            parsed = parsed.dt.tz_convert("UTC")
    except (ValueError, TypeError, OverflowError, *_PYTZ_ERRORS) as exc:
        kind = type(exc).__name__
        if kind == "NonExistentTimeError":  # pandas raises pytz's own errors (not ValueError)
            exc = ValueError(f"{exc} is a nonexistent time in {timezone} (a daylight-saving gap)")
        elif kind == "AmbiguousTimeError":
            exc = ValueError(
                f"{exc} is an ambiguous time in {timezone} (a daylight-saving overlap)"
            )
        raise DataError(
            [
                Problem(
                    "timestamp",
                    f"timestamps do not parse in time zone {timezone}: {exc}",
                    "use ISO 8601 timestamps (best in UTC or with an offset), set `timezone`, "
                    "or name the timestamp column in columns.timestamp",
                )
            ],
            subject=subject,
        ) from None
    return pd.DatetimeIndex(parsed, name="time")


def to_bars(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    timezone: str = "UTC",
    epoch_unit: str = "s",
    subject: str = "bars",
    use_index: bool = False,
) -> pd.DataFrame:
    """Validated UTC bars from a raw table (see the module doc).

    ``use_index``: the timestamps are the frame's index (a Parquet file written from bars)
    unless ``columns`` names a timestamp column.
    """
    mapping = check_columns_option(columns, "columns")
    if use_index and "timestamp" not in mapping:
        stamps = pd.Series(frame.index, index=frame.index)
        body = frame
    else:
        time_col = _timestamp_column(frame, mapping, subject)
        stamps = frame[time_col]
        body = frame.drop(columns=[time_col])
    renamed: dict[str, pd.Series] = {}
    missing_mapped: list[Problem] = []
    for col in OHLCV:
        source = mapping.get(col, col)
        found = _find(body, source)
        if found is None and col in mapping:
            missing_mapped.append(
                Problem(f"columns.{col}", f"no column {source!r} in the data", "fix the mapping")
            )
        elif found is not None:
            renamed[col] = body[found].to_numpy()
    DataError.collect(missing_mapped, subject=subject)
    index = utc_index(stamps.reset_index(drop=True), timezone, epoch_unit, subject)
    # validate_bars names every missing column at once
    return validate_bars(pd.DataFrame(renamed, index=index), subject=subject)


def timeframe_of(bars: pd.DataFrame, declared: str | None, subject: str) -> str:
    """The bars' timeframe: the declared one, else inferred; DataError when neither works."""
    if declared is not None:
        return declared
    found = infer_timeframe(bars)
    if found is None:
        raise DataError(
            [
                Problem(
                    "timeframe",
                    "the timeframe of the data cannot be inferred (no common bar step of "
                    f"{', '.join(TIMEFRAME_MINUTES)})",
                    "declare it with `timeframe: 1h` in the data block",
                )
            ],
            subject=subject,
        )
    return found


def as_utc(moment: datetime | pd.Timestamp | None) -> pd.Timestamp | None:
    """A moment as a UTC Timestamp (naive means UTC)."""
    if moment is None:
        return None
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def window_and_resample(
    bars: pd.DataFrame,
    have_tf: str,
    want_tf: str,
    start: datetime | None,
    end: datetime | None,
) -> pd.DataFrame:
    """Bars in ``[start, end]`` (by label), resampled from ``have_tf`` to ``want_tf``.

    The window is cut BEFORE resampling so that no bar after ``end`` leaks into the last
    resampled bar (which may then be partial: the bar in progress at ``end``).
    """
    lo, hi = as_utc(start), as_utc(end)
    mask = np.ones(len(bars), dtype=bool)
    if lo is not None:
        mask &= bars.index >= lo
    if hi is not None:
        mask &= bars.index <= hi
    cut = bars[mask] if not mask.all() else bars
    return resample_bars(cut, want_tf, source_tf=have_tf)
