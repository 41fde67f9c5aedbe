"""Timeframe strings (1m … 1d), their length, and pandas offsets for resampling."""

from __future__ import annotations

from typing import Final

#: Minutes per bar for every supported base or indicator timeframe.
TIMEFRAME_MINUTES: Final[dict[str, int]] = {
    "1m": 1,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "4h": 240,
    "1d": 1440,
}

#: pandas offset alias per timeframe, for ``DataFrame.resample``.
PANDAS_OFFSET: Final[dict[str, str]] = {
    "1m": "1min",
    "5m": "5min",
    "15m": "15min",
    "30m": "30min",
    "1h": "1h",
    "4h": "4h",
    "1d": "1D",
}

#: Trading days per year used to annualise metrics (FX trades ~5 days of 24h, 52 weeks).
TRADING_DAYS_PER_YEAR: Final[int] = 260


def minutes(timeframe: str) -> int:
    """Minutes in one bar of ``timeframe``; KeyError for an unknown timeframe."""
    return TIMEFRAME_MINUTES[timeframe]


def bars_in_days(days: int, timeframe: str) -> int:
    """Bars of ``timeframe`` in ``days`` calendar days of a 24-hour market (an upper bound)."""
    return days * 1440 // TIMEFRAME_MINUTES[timeframe]


def periods_per_year(timeframe: str) -> float:
    """Bars per year for annualising Sharpe and friends (24h x 260 trading days)."""
    return TRADING_DAYS_PER_YEAR * 1440 / TIMEFRAME_MINUTES[timeframe]


def is_finer_or_equal(a: str, b: str) -> bool:
    """True when timeframe ``a`` is as fine as or finer than ``b``."""
    return TIMEFRAME_MINUTES[a] <= TIMEFRAME_MINUTES[b]
