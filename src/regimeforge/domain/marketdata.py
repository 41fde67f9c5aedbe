"""Bars: validation, window selection, resampling, timeframe inference and the data fingerprint.

Bars are a DataFrame with a sorted, unique, tz-aware UTC ``DatetimeIndex`` (nanosecond unit) and
float64 columns ``open, high, low, close, volume``. A bar is labelled by its OPEN time: the bar
labelled ``t`` of timeframe ``tf`` covers ``[t, t + tf)`` and closes at ``t + tf``.

Everything here is pure (no I/O); the adapters read files and tables and hand the frames here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from regimeforge.domain.config import MIN_SEGMENT_BARS, ModelConfig
from regimeforge.domain.errors import DataError, Problem
from regimeforge.domain.timeframes import PANDAS_OFFSET, TIMEFRAME_MINUTES

OHLCV: Final[tuple[str, ...]] = ("open", "high", "low", "close", "volume")
PRICES: Final[tuple[str, ...]] = ("open", "high", "low", "close")
_FINGERPRINT_TAG: Final[bytes] = b"regimeforge-bars-v1"


def _first(index: pd.Index, mask: np.ndarray) -> str:
    """The first timestamp where ``mask`` holds, for messages."""
    return str(index[int(np.argmax(mask))])


def _utc_index(index: pd.Index, problems: list[Problem]) -> pd.DatetimeIndex | None:
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index, utc=True))
        except (TypeError, ValueError) as exc:
            problems.append(
                Problem("index", f"timestamps do not parse ({exc})", "use ISO 8601 timestamps")
            )
            return None
    if index.tz is None:  # naive timestamps mean UTC; adapters localise other zones before
        index = index.tz_localize("UTC")
    out = pd.DatetimeIndex(index.tz_convert("UTC").as_unit("ns"), name=index.name or "time")
    if out.isna().any():
        problems.append(
            Problem("index", f"{int(out.isna().sum())} timestamps are missing", "drop those rows")
        )
        return None
    return out


def _order_problems(index: pd.DatetimeIndex) -> list[Problem]:
    problems: list[Problem] = []
    steps = np.diff(index.asi8)
    if (steps < 0).any():
        problems.append(
            Problem(
                "index",
                f"timestamps are not sorted ({int((steps < 0).sum())} steps go back in time, "
                f"first after {index[int(np.argmax(steps < 0))]})",
                "sort the rows by time",
            )
        )
    dup = index.duplicated()
    if dup.any():
        problems.append(
            Problem(
                "index",
                f"{int(dup.sum())} duplicate timestamps (first {_first(index, dup)})",
                "keep one bar per timestamp (drop or aggregate the duplicates)",
            )
        )
    return problems


def _value_problems(frame: pd.DataFrame, index: pd.DatetimeIndex) -> list[Problem]:
    problems: list[Problem] = []
    for col in OHLCV:
        bad = ~np.isfinite(frame[col].to_numpy())
        if bad.any():
            problems.append(
                Problem(
                    col,
                    f"{int(bad.sum())} missing or non-numeric values (first {_first(index, bad)})",
                    "drop or fill those rows before loading",
                )
            )
    for col in PRICES:
        bad = frame[col].to_numpy() <= 0
        if bad.any():
            problems.append(
                Problem(
                    col,
                    f"{int(bad.sum())} non-positive prices (first {_first(index, bad)})",
                    "prices must be > 0; drop those rows or fix the source",
                )
            )
    inverted = frame["high"].to_numpy() < frame["low"].to_numpy()
    if inverted.any():
        problems.append(
            Problem(
                "high",
                f"high < low in {int(inverted.sum())} bars (first {_first(index, inverted)})",
                "check the column mapping (high and low swapped?) or fix those bars",
            )
        )
    negative = frame["volume"].to_numpy() < 0
    if negative.any():
        problems.append(
            Problem(
                "volume",
                f"{int(negative.sum())} negative volumes (first {_first(index, negative)})",
                "volume must be >= 0",
            )
        )
    return problems


def validate_bars(df: pd.DataFrame, *, subject: str = "bars") -> pd.DataFrame:
    """Canonical bars from ``df``, or DataError listing every problem, each with its fix.

    Column names are matched case-insensitively (``Open`` -> ``open``); extra columns are
    dropped. Naive timestamps are taken as UTC. Refused: missing columns, missing or
    non-numeric values, unsorted or duplicate timestamps, non-positive prices, high < low,
    negative volume.
    """
    renamed = df.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in OHLCV if c not in renamed.columns]
    if missing:
        raise DataError(
            [
                Problem(
                    "columns",
                    f"missing {', '.join(missing)} (found: {', '.join(map(str, df.columns))})",
                    "rename the columns or map them, e.g. columns: {close: Last}",
                )
            ],
            subject=subject,
        )
    problems: list[Problem] = []
    index = _utc_index(renamed.index, problems)
    frame = pd.DataFrame(
        {c: pd.to_numeric(renamed[c], errors="coerce").astype("float64") for c in OHLCV}
    )
    if index is not None:
        frame.index = index
        problems += _order_problems(index)
        problems += _value_problems(frame, index)
    DataError.collect(problems, subject=subject)
    return frame


def infer_timeframe(bars: pd.DataFrame) -> str | None:
    """The timeframe of ``bars``: the most common step between bars, if it is a known one.

    Gaps (weekends, holidays) do not matter as long as most steps are one bar long.
    """
    if len(bars) < 2:
        return None
    steps = np.diff(pd.DatetimeIndex(bars.index).as_unit("ns").asi8)
    values, counts = np.unique(steps, return_counts=True)
    step_minutes = values[int(np.argmax(counts))] / 60e9
    for name, mins in TIMEFRAME_MINUTES.items():
        if step_minutes == mins:
            return name
    return None


def resample_bars(
    bars: pd.DataFrame, timeframe: str, *, source_tf: str | None = None
) -> pd.DataFrame:
    """OHLCV bars aggregated to ``timeframe`` (left-labelled, left-closed; empty bins dropped).

    ``source_tf`` is the timeframe of ``bars`` (inferred when None). Resampling to a finer
    timeframe than the data is refused with a DataError.
    """
    if timeframe not in TIMEFRAME_MINUTES:
        known = ", ".join(TIMEFRAME_MINUTES)
        raise DataError([Problem("timeframe", f"unknown timeframe {timeframe!r}", f"use {known}")])
    have = source_tf or infer_timeframe(bars)
    if have is not None and TIMEFRAME_MINUTES[timeframe] < TIMEFRAME_MINUTES[have]:
        raise DataError(
            [
                Problem(
                    "timeframe",
                    f"cannot make {timeframe} bars from {have} data (only coarser timeframes)",
                    f"use {have} or coarser, or load finer data",
                )
            ]
        )
    if have == timeframe:
        return bars
    grouped = bars.resample(PANDAS_OFFSET[timeframe], label="left", closed="left")
    out = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )
    return out[out["close"].notna()]


def select_window(
    bars: pd.DataFrame,
    days_history: int,
    as_of: pd.Timestamp | datetime | None = None,
    *,
    end: pd.Timestamp | datetime | None = None,
) -> pd.DataFrame:
    """The bars of the ``days_history`` days ending at ``as_of`` (``end`` is the same argument).

    Keeps bars labelled in ``(as_of - days_history days, as_of]``; ``as_of`` defaults to the
    last bar. A naive ``as_of`` is UTC.
    """
    stop = as_of if as_of is not None else end
    if len(bars) == 0:
        return bars
    last = pd.Timestamp(stop) if stop is not None else bars.index[-1]
    if last.tzinfo is None:
        last = last.tz_localize("UTC")
    first = last - pd.Timedelta(days=int(days_history))
    return bars[(bars.index > first) & (bars.index <= last)]


def fingerprint(bars: pd.DataFrame) -> str:
    """SHA-256 of the exact bars: index (int64 ns, UTC) and the float64 OHLCV arrays."""
    digest = hashlib.sha256(_FINGERPRINT_TAG)
    index = pd.DatetimeIndex(bars.index)
    if index.tz is not None:
        index = index.tz_convert("UTC")
    digest.update(np.ascontiguousarray(index.as_unit("ns").asi8, dtype="<i8").tobytes())
    for col in OHLCV:
        values = bars[col].to_numpy(dtype=np.float64)
        digest.update(col.encode())
        digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def bars_needed(config: ModelConfig, warmup: int | None = None) -> int:
    """Bars a config needs: warm-up, three segments, two purge gaps and the last horizon."""
    warm = int(config.preprocessing["warmup_bars"]) if warmup is None else int(warmup)
    return warm + 4 * config.horizon + 3 * MIN_SEGMENT_BARS


def check_enough_bars(n: int, config: ModelConfig, *, warmup: int | None = None) -> None:
    """DataError when ``n`` bars cannot hold warm-up + split with purge gaps + horizon."""
    needed = bars_needed(config, warmup)
    if n < needed:
        warm = int(config.preprocessing["warmup_bars"]) if warmup is None else int(warmup)
        raise DataError(
            [
                Problem(
                    "days_history",
                    f"{n} bars of {config.symbol} {config.base_timeframe} are too few: warm-up "
                    f"{warm} + horizon {config.horizon} x 4 (two purge gaps and the unknown "
                    f"last targets) + 3 segments of {MIN_SEGMENT_BARS} need {needed}",
                    "raise days_history, lower warmup_bars or horizon, or load more data",
                )
            ]
        )
