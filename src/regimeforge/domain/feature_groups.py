"""The five additional feature groups of ``additional_features`` (all causal, all vectorised).

Each group takes base-timeframe bars and returns feature columns on the same index whose value at
bar t uses bars up to and including t only (rolling windows, previous-bar comparisons, the bar's
own timestamp). Definitions are in docs/data.md; ``GROUPS`` maps a group to its function and its
warm-up in bars (which may depend on ``rv_window``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

#: Bars of the rolling volume profile and of the short "normal volume / spread" averages.
PROFILE_WINDOW: Final[int] = 50
NORMAL_WINDOW: Final[int] = 20

#: Trading sessions in UTC hours [start, end) of the bar's open time (standard time; no DST).
SESSIONS: Final[dict[str, tuple[int, int]]] = {
    "asia": (0, 9),
    "london": (8, 17),
    "new_york": (13, 22),
    "asia_london": (8, 9),
    "london_new_york": (13, 17),
}


def _ratio(num: pd.Series, den: pd.Series, neutral: float) -> pd.Series:
    """``num / den`` where ``den > 0``, else ``neutral`` (flat bars, zero-volume feeds)."""
    out = num / den.where(den > 0)
    return out.where(den > 0, neutral).where(den.notna())


def _flag(mask: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(np.asarray(mask, dtype=np.float64), index=index)


def returns_volatility(bars: pd.DataFrame, rv_window: int) -> pd.DataFrame:
    """Multi-bar returns, realised volatility (close-to-close and Parkinson), vol ratio, z-score."""
    close = bars["close"]
    r = np.log(close).diff()
    rv = r.rolling(rv_window).std()
    rv_short = r.rolling(5).std()
    hl2 = np.log(bars["high"] / bars["low"]) ** 2
    return pd.DataFrame(
        {
            "rv_ret_5": np.log(close / close.shift(5)),
            "rv_ret_20": np.log(close / close.shift(20)),
            "rv_realized": rv,
            "rv_parkinson": np.sqrt(hl2.rolling(rv_window).mean() / (4.0 * np.log(2.0))),
            "rv_ratio": _ratio(rv_short, rv, 1.0),
            "rv_zscore": _ratio(r, rv, 0.0),
        },
        index=bars.index,
    )


def trading_sessions(bars: pd.DataFrame, rv_window: int) -> pd.DataFrame:
    """Session flags by the UTC hour of the bar's open, and cyclic hour and weekday."""
    index = pd.DatetimeIndex(bars.index)
    hour = np.asarray(index.hour, dtype=np.int64)
    weekday = np.asarray(index.day_of_week, dtype=np.float64)
    columns = {f"session_{name}": (hour >= a) & (hour < b) for name, (a, b) in SESSIONS.items()}
    out = pd.DataFrame({k: v.astype(np.float64) for k, v in columns.items()}, index=bars.index)
    out["session_hour_sin"] = np.sin(2 * np.pi * hour / 24.0)
    out["session_hour_cos"] = np.cos(2 * np.pi * hour / 24.0)
    out["session_weekday_sin"] = np.sin(2 * np.pi * weekday / 7.0)
    out["session_weekday_cos"] = np.cos(2 * np.pi * weekday / 7.0)
    return out


def candlestick_patterns(bars: pd.DataFrame, rv_window: int) -> pd.DataFrame:
    """Body and shadow shares of the range, and doji, hammer, shooting star, engulfing, inside/
    outside bar flags."""
    o, h, low, c = bars["open"], bars["high"], bars["low"], bars["close"]
    rng = h - low
    body = c - o
    size = body.abs()
    upper = h - np.maximum(o, c)
    lower = np.minimum(o, c) - low
    prev_o, prev_c, prev_body = o.shift(1), c.shift(1), body.shift(1)
    wide = rng > 0
    idx = bars.index
    hammer = wide & (lower >= 2 * size) & (lower >= 0.5 * rng) & (upper <= 0.25 * rng)
    star = wide & (upper >= 2 * size) & (upper >= 0.5 * rng) & (lower <= 0.25 * rng)
    bigger = size > prev_body.abs()
    bull = (prev_body < 0) & (body > 0) & (o <= prev_c) & (c >= prev_o) & bigger
    bear = (prev_body > 0) & (body < 0) & (o >= prev_c) & (c <= prev_o) & bigger
    return pd.DataFrame(
        {
            "candle_body": _ratio(body, rng, 0.0),
            "candle_upper_shadow": _ratio(upper, rng, 0.0),
            "candle_lower_shadow": _ratio(lower, rng, 0.0),
            "candle_doji": _flag(size <= 0.1 * rng, idx),
            "candle_hammer": _flag(hammer, idx),
            "candle_shooting_star": _flag(star, idx),
            "candle_bullish_engulfing": _flag(bull, idx),
            "candle_bearish_engulfing": _flag(bear, idx),
            "candle_inside_bar": _flag((h < h.shift(1)) & (low > low.shift(1)), idx),
            "candle_outside_bar": _flag((h > h.shift(1)) & (low < low.shift(1)), idx),
        },
        index=idx,
    )


def _window_profile(typical: np.ndarray, volume: np.ndarray, close: np.ndarray) -> np.ndarray:
    """(share of window volume traded above the close, typical price of the heaviest bar)."""
    n, w = len(close), PROFILE_WINDOW
    out = np.full((n, 2), np.nan)
    if n < w:
        return out
    tp = sliding_window_view(typical, w)
    vol = sliding_window_view(volume, w)
    total = vol.sum(axis=1)
    above = np.where(tp > close[w - 1 :, None], vol, 0.0).sum(axis=1)
    out[w - 1 :, 0] = np.where(total > 0, above / np.where(total > 0, total, 1.0), 0.5)
    out[w - 1 :, 1] = tp[np.arange(n - w + 1), vol.argmax(axis=1)]
    return out


def volume_profile(bars: pd.DataFrame, rv_window: int) -> pd.DataFrame:
    """Relative volume, volume z-score, distance to the rolling VWAP and to the point of control,
    and the share of the rolling window's volume traded above the close."""
    c, v = bars["close"], bars["volume"]
    typical = (bars["high"] + bars["low"] + c) / 3.0
    vsum = v.rolling(PROFILE_WINDOW).sum()
    vwap = _ratio((typical * v).rolling(PROFILE_WINDOW).sum(), vsum, np.nan)
    vwap = vwap.fillna(typical.rolling(PROFILE_WINDOW).mean())
    logv = np.log1p(v)
    profile = _window_profile(typical.to_numpy(), v.to_numpy(), c.to_numpy())
    return pd.DataFrame(
        {
            "vp_volume_ratio": _ratio(v, v.rolling(NORMAL_WINDOW).mean(), 1.0),
            "vp_volume_z": _ratio(
                logv - logv.rolling(NORMAL_WINDOW).mean(), logv.rolling(NORMAL_WINDOW).std(), 0.0
            ),
            "vp_vwap_distance": np.log(c / vwap),
            "vp_share_above": profile[:, 0],
            "vp_poc_distance": np.log(c.to_numpy() / profile[:, 1]),
        },
        index=bars.index,
    )


def vsa_analysis(bars: pd.DataFrame, rv_window: int) -> pd.DataFrame:
    """Volume spread analysis: spread and volume against normal, close location, effort vs
    result, and the no-demand, no-supply, stopping-volume, upthrust and climax signals."""
    h, low, c, v = bars["high"], bars["low"], bars["close"], bars["volume"]
    spread = h - low
    spread_ratio = _ratio(spread, spread.rolling(NORMAL_WINDOW).mean(), 1.0)
    volume_ratio = _ratio(v, v.rolling(NORMAL_WINDOW).mean(), 1.0)
    clv = _ratio(c - low, spread, 0.5)
    up, down = c > c.shift(1), c < c.shift(1)
    quiet = (spread_ratio < 0.7) & (v < np.minimum(v.shift(1), v.shift(2)))
    idx = bars.index
    return pd.DataFrame(
        {
            "vsa_spread_ratio": spread_ratio,
            "vsa_volume_ratio": volume_ratio,
            "vsa_close_location": clv,
            "vsa_effort_result": np.log((volume_ratio + 1e-9) / (spread_ratio + 1e-9)),
            "vsa_no_demand": _flag(up & quiet, idx),
            "vsa_no_supply": _flag(down & quiet, idx),
            "vsa_stopping_volume": _flag(down & (volume_ratio > 1.5) & (clv > 0.5), idx),
            "vsa_upthrust": _flag(
                (h > h.shift(1)) & (clv < 0.3) & (spread_ratio > 1.2) & (volume_ratio > 1.2), idx
            ),
            "vsa_climax": _flag((volume_ratio > 2.0) & (spread_ratio > 1.5), idx),
        },
        index=idx,
    )


GroupFn = Callable[[pd.DataFrame, int], pd.DataFrame]

#: group name -> (function(bars, rv_window), warm-up in bars as a function of rv_window)
GROUPS: Final[dict[str, tuple[GroupFn, Callable[[int], int]]]] = {
    "returns_volatility": (returns_volatility, lambda rv: max(rv, 20) + 1),
    "trading_sessions": (trading_sessions, lambda rv: 0),
    "candlestick_patterns": (candlestick_patterns, lambda rv: 1),
    "volume_profile": (volume_profile, lambda rv: PROFILE_WINDOW),
    "vsa_analysis": (vsa_analysis, lambda rv: NORMAL_WINDOW + 2),
}
