"""Built-in indicators: rsi, macd, atr, bollinger, stochastic, ema_slope, adx, realized_vol.

Each ``compute(bars)`` takes OHLCV bars of one timeframe and returns columns prefixed with the
indicator's name, on the same index, causal (exponential averages with ``adjust=False`` and
trailing rolling windows only). Price-like outputs are divided by the close so that one model
can learn across price levels. The feature pipeline computes them on each timeframe of
``indicator_tfs`` and aligns higher timeframes to the base bars after their close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from regimeforge.plugins.descriptors import IndicatorDescriptor
from regimeforge.plugins.hookspecs import hookimpl


def _wilder(series: pd.Series, period: int) -> pd.Series:
    """Wilder's smoothing (an EMA with alpha = 1/period), causal."""
    return series.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()


def _ema(series: pd.Series, span: int) -> pd.Series:
    return series.ewm(span=span, adjust=False, min_periods=span).mean()


def _true_range(bars: pd.DataFrame) -> pd.Series:
    prev = bars["close"].shift(1)
    hl = bars["high"] - bars["low"]
    return (
        pd.concat([hl, (bars["high"] - prev).abs(), (bars["low"] - prev).abs()], axis=1)
        .max(axis=1, skipna=False)
        .fillna(hl)
    )


def rsi(bars: pd.DataFrame, period: int = 14) -> pd.DataFrame:
    """Relative strength index in 0..100 (50 when the price did not move)."""
    delta = bars["close"].diff()
    gain = _wilder(delta.clip(lower=0.0), period)
    loss = _wilder((-delta).clip(lower=0.0), period)
    total = gain + loss
    value = (100.0 * gain / total.where(total > 0)).where(total > 0, 50.0).where(total.notna())
    return pd.DataFrame({"rsi": value}, index=bars.index)


def macd(bars: pd.DataFrame, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """MACD line, signal and histogram, each divided by the close."""
    close = bars["close"]
    line = (_ema(close, fast) - _ema(close, slow)) / close
    sig = line.ewm(span=signal, adjust=False, min_periods=signal).mean()
    return pd.DataFrame(
        {"macd": line, "macd_signal": sig, "macd_hist": line - sig}, index=bars.index
    )


def atr(bars: pd.DataFrame, period: int = 14) -> pd.DataFrame:
    """Average true range (Wilder), divided by the close."""
    return pd.DataFrame(
        {"atr": _wilder(_true_range(bars), period) / bars["close"]}, index=bars.index
    )


def bollinger(bars: pd.DataFrame, period: int = 20, width: float = 2.0) -> pd.DataFrame:
    """%B (position of the close in the bands) and band width over the middle band."""
    close = bars["close"]
    mid = close.rolling(period).mean()
    sd = close.rolling(period).std(ddof=0)
    band = 2.0 * width * sd
    pct_b = ((close - (mid - width * sd)) / band.where(band > 0)).where(band > 0, 0.5)
    return pd.DataFrame(
        {"bollinger_pctb": pct_b.where(mid.notna()), "bollinger_width": band / mid},
        index=bars.index,
    )


def stochastic(bars: pd.DataFrame, period: int = 14, smooth: int = 3) -> pd.DataFrame:
    """Stochastic oscillator %K and its moving average %D in 0..1 (0.5 on a flat window)."""
    low = bars["low"].rolling(period).min()
    high = bars["high"].rolling(period).max()
    rng = high - low
    k = ((bars["close"] - low) / rng.where(rng > 0)).where(rng > 0, 0.5).where(rng.notna())
    return pd.DataFrame(
        {"stochastic_k": k, "stochastic_d": k.rolling(smooth).mean()}, index=bars.index
    )


def ema_slope(bars: pd.DataFrame, span: int = 20, lag: int = 5) -> pd.DataFrame:
    """Log change of the EMA over ``lag`` bars, per bar."""
    ema = _ema(bars["close"], span)
    return pd.DataFrame({"ema_slope": np.log(ema / ema.shift(lag)) / lag}, index=bars.index)


def adx(bars: pd.DataFrame, period: int = 14) -> pd.DataFrame:
    """Average directional index and the +DI / -DI lines, in 0..1."""
    up = bars["high"].diff()
    down = -bars["low"].diff()
    plus_dm = up.where((up > down) & (up > 0), 0.0).where(up.notna())
    minus_dm = down.where((down > up) & (down > 0), 0.0).where(down.notna())
    tr = _wilder(_true_range(bars), period)
    safe = tr.where(tr > 0)
    plus = (_wilder(plus_dm, period) / safe).fillna(0.0).where(tr.notna())
    minus = (_wilder(minus_dm, period) / safe).fillna(0.0).where(tr.notna())
    total = plus + minus
    dx = ((plus - minus).abs() / total.where(total > 0)).where(total > 0, 0.0).where(tr.notna())
    return pd.DataFrame(
        {"adx": _wilder(dx, period), "adx_plus_di": plus, "adx_minus_di": minus},
        index=bars.index,
    )


def realized_vol(bars: pd.DataFrame, window: int = 20) -> pd.DataFrame:
    """Standard deviation of log returns over ``window`` bars."""
    r = np.log(bars["close"]).diff()
    return pd.DataFrame({"realized_vol": r.rolling(window).std()}, index=bars.index)


@hookimpl
def register_indicators() -> list[IndicatorDescriptor]:
    """The built-in indicators with their warm-ups (bars before the values settle)."""
    return [
        IndicatorDescriptor("rsi", rsi, 28, "relative strength index (14, Wilder)"),
        IndicatorDescriptor("macd", macd, 40, "MACD 12/26/9 line, signal, histogram (/close)"),
        IndicatorDescriptor("atr", atr, 28, "average true range (14, Wilder) / close"),
        IndicatorDescriptor("bollinger", bollinger, 20, "Bollinger %B and width (20, 2)"),
        IndicatorDescriptor("stochastic", stochastic, 16, "stochastic %K (14) and %D (3)"),
        IndicatorDescriptor("ema_slope", ema_slope, 25, "log slope of EMA(20) over 5 bars"),
        IndicatorDescriptor("adx", adx, 42, "ADX (14) with +DI and -DI"),
        IndicatorDescriptor("realized_vol", realized_vol, 21, "std of log returns (20 bars)"),
    ]
