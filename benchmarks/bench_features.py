"""Feature building: ``FeaturePipeline.prepare`` on the real EUR/USD file and synthetic bars.

Run: ``.venv/bin/python benchmarks/bench_features.py [--bars N] [--repeat R]``.

Feature sets: ``example`` is the plan's example (rsi on 1h and 4h, macd on 1h, returns_volatility
and trading_sessions, warm-up 64 bars); ``full`` is every built-in indicator on 1h, 4h and 1d and
all five feature groups. Baselines in the same process: the example features written directly
in plain pandas (same formulas, 4h RSI aligned with a shift, no validation, no scaling, no split)
and vectorbt's RSI/MACD indicator factories (indicators only; a reference for what a user would
otherwise pick). Prints a table and ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regimeforge.adapters.marketdata.files import CsvMarketDataSource
from regimeforge.domain.catalog import ADDITIONAL_FEATURES, BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.features import FeaturePipeline
from regimeforge.domain.synthetic import generate_regime_bars
from regimeforge.plugins.builtin.indicators import register_indicators

EURUSD = Path(__file__).resolve().parents[2] / "shared" / "data" / "EURUSD_H1.csv"
CATALOG = ConfigCatalog(
    model_types={"ridge": {}}, encoders={"none": {}}, indicators=BUILTIN_INDICATORS
)
SETS: dict[str, dict[str, Any]] = {
    "example": {
        "indicator_tfs": {"rsi": ["1h", "4h"], "macd": ["1h"]},
        "additional_features": {"returns_volatility": True, "trading_sessions": True},
        "preprocessing": {"warmup_bars": 64},
    },
    "full": {
        "indicator_tfs": {name: ["1h", "4h", "1d"] for name in BUILTIN_INDICATORS},
        "additional_features": dict.fromkeys(ADDITIONAL_FEATURES, True),
    },
}


def config_of(name: str) -> ModelConfig:
    base = {"model_type": "ridge", "symbol": "EUR/USD", "base_timeframe": "1h"}
    return ModelConfig.from_mapping(
        {**base, "days_history": 3650, "horizon": 10, **SETS[name]}, CATALOG
    )


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pandas_baseline(bars: pd.DataFrame) -> pd.DataFrame:
    """The example feature set in plain pandas (no validation, scaling or split)."""
    close = bars["close"]
    r = np.log(close).diff()

    def rsi(c: pd.Series) -> pd.Series:
        d = c.diff()
        up = d.clip(lower=0).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
        down = (-d).clip(lower=0).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
        return 100 * up / (up + down)

    four = bars.resample("4h").agg({"close": "last"}).dropna()
    rsi4 = rsi(four["close"])
    rsi4.index = rsi4.index + pd.Timedelta("3h")  # visible at the 1h bar closing with it
    ema = lambda s: close.ewm(span=s, adjust=False, min_periods=s).mean()  # noqa: E731
    line = (ema(12) - ema(26)) / close
    sig = line.ewm(span=9, adjust=False, min_periods=9).mean()
    rv = r.rolling(20).std()
    hour = bars.index.hour
    out = pd.DataFrame(
        {
            **{f"lag{k}": r.shift(k) for k in range(5)},
            "rsi_1h": rsi(close),
            "rsi_4h": rsi4.reindex(bars.index, method="ffill"),
            "macd": line,
            "macd_signal": sig,
            "macd_hist": line - sig,
            "rv": rv,
            "ret5": np.log(close / close.shift(5)),
            "ret20": np.log(close / close.shift(20)),
            "rvz": r / rv,
            "london": ((hour >= 8) & (hour < 17)).astype(float),
            "ny": ((hour >= 13) & (hour < 22)).astype(float),
        }
    )
    return out.iloc[64:].ffill().dropna()


def vectorbt_reference(bars: pd.DataFrame) -> None:
    import vectorbt as vbt

    close = bars["close"]
    vbt.RSI.run(close, window=14, ewm=True)
    vbt.MACD.run(close, fast_window=12, slow_window=26, signal_window=9, macd_ewm=True)
    vbt.RSI.run(bars["close"].resample("4h").last().dropna(), window=14, ewm=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pipeline = FeaturePipeline({d.name: d for d in register_indicators()})
    datasets = {
        "eurusd_5000": CsvMarketDataSource(EURUSD).bars("EUR/USD", "1h"),
        f"synthetic_{args.bars}": generate_regime_bars(args.bars, 1).bars,
    }
    try:
        vectorbt_reference(datasets["eurusd_5000"].iloc[:500])  # numba compilation, untimed
        has_vbt = True
    except ImportError:
        has_vbt = False
    figures: dict[str, Any] = {}
    print(f"{'data':<20}{'what':<44}{'seconds':>10}{'us/bar':>10}{'features':>10}")
    for data_name, bars in datasets.items():
        n = len(bars)
        rows: list[tuple[str, float, int]] = []
        for set_name in SETS:
            config = config_of(set_name)
            data = pipeline.prepare(bars, config)
            seconds = best_of(lambda c=config, b=bars: pipeline.prepare(b, c), args.repeat)
            rows.append((f"regimeforge prepare, {set_name} set", seconds, len(data.feature_names)))
            figures[f"{data_name}_{set_name}_seconds"] = seconds
            figures[f"{data_name}_{set_name}_features"] = len(data.feature_names)
        base = best_of(lambda b=bars: pandas_baseline(b), args.repeat)
        rows.append(("plain pandas baseline, example set", base, pandas_baseline(bars).shape[1]))
        figures[f"{data_name}_pandas_baseline_seconds"] = base
        figures[f"{data_name}_example_vs_pandas_ratio"] = (
            figures[f"{data_name}_example_seconds"] / base
        )
        if has_vbt:
            vbt_s = best_of(lambda b=bars: vectorbt_reference(b), args.repeat)
            rows.append(("vectorbt RSI 1h+4h, MACD 1h (indicators only)", vbt_s, 5))
            figures[f"{data_name}_vectorbt_seconds"] = vbt_s
        for what, seconds, count in rows:
            per_bar = seconds / n * 1e6
            print(f"{data_name:<20}{what:<44}{seconds:>10.4f}{per_bar:>10.2f}{count:>10}")
    print()
    for key, value in figures.items():
        if key.endswith("_ratio"):
            print(f"{key}: {value:.2f}x the plain-pandas time")
    print(json.dumps({"benchmark": "features", "bars": args.bars, **figures}))


if __name__ == "__main__":
    main()
