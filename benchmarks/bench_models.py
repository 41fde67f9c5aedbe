"""Models: training time per model type and prediction throughput, on real and synthetic bars.

Run: ``.venv/bin/python benchmarks/bench_models.py [--synthetic-bars N] [--types ridge,rf]
[--horizon H] [--no-write]``.

Data: the real EUR/USD hourly file (5,000 bars) and ``generate_regime_bars`` (100,000 bars by
default). Features (the same for both, built here so that the figures do not move with the
feature pipeline): 22 causal columns (lagged log returns 1-8, rolling means of returns over
10/20/50/100 bars and volatilities over 5/10/20/50/100, range and body of the bar, distance of
the close from its 20- and 50-bar means, volume z-score), scaled with train statistics; horizon
10 (10 step heads); 5 ensemble members; the 60/20/20 split with purge gaps.

Per model type: the full training (``CompositeTrainer.fit``: 5 members x 10 step heads, the
transition, validation forecasts of all 3 methods, NNLS stacking) against a **baseline** in the
same process: ONE plain scikit-learn estimator of the same type with the same hyperparameters
fitted on all train rows for the horizon target. Inference: member forecasts of the 3 prediction
methods over the test segment (bars / s) against the baseline's single ``predict``; and, for the
grid estimate, the whole inner loop of one model on 5,000 bars (3 forecasts + 135 backtests).

Writes ``benchmarks/results/model_timings.json`` (measured) and the packaged default table
``src/regimeforge/resources/model_timings.json`` (unless ``--no-write``); prints a table and ends
with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # split_rows: the same split as the tests

from models_data import split_rows  # noqa: E402
from regimeforge.domain import backtest as bt  # noqa: E402
from regimeforge.domain.config import ModelConfig  # noqa: E402
from regimeforge.domain.costs import CostModel  # noqa: E402
from regimeforge.domain.forecasts import PreparedData  # noqa: E402
from regimeforge.domain.inference_grid import expand_inference_grid  # noqa: E402
from regimeforge.domain.synthetic import generate_regime_bars  # noqa: E402
from regimeforge.plugins.builtin.models.composite import build_trainer  # noqa: E402
from regimeforge.plugins.manager import get_plugin_manager  # noqa: E402

EURUSD = Path("/work/shared/data/EURUSD_H1.csv")
TYPES = ["ridge", "lasso", "elasticnet", "rf"]
METHODS = ["direct", "recursive", "direct_multi"]
WARMUP = 110


def read_bars(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index), tz="UTC")
    return frame.rename(columns=str.lower)


def prepare(bars: pd.DataFrame, horizon: int) -> PreparedData:
    """22 causal features, targets of steps 1..H, a purged 60/20/20 split (module docstring)."""
    close = bars["close"].astype(float)
    r = np.log(close).diff()
    cols: dict[str, pd.Series] = {f"ret_lag{i}": r.shift(i) for i in range(8)}
    for w in (10, 20, 50, 100):  # not 5: the 5-bar mean is a combination of the lags
        cols[f"mean{w}"] = r.rolling(w).mean()
    for w in (5, 10, 20, 50, 100):
        cols[f"vol{w}"] = r.rolling(w).std()
    cols["range"] = np.log(bars["high"] / bars["low"])
    cols["body"] = np.log(bars["close"] / bars["open"])
    for w in (20, 50):
        cols[f"dist{w}"] = np.log(close / close.rolling(w).mean())
    volume = bars["volume"].astype(float)
    cols["volume_z"] = (volume - volume.rolling(50).mean()) / volume.rolling(50).std()
    frame = pd.DataFrame(cols).iloc[WARMUP:]
    n = len(frame)
    returns = r.to_numpy()[WARMUP:]
    targets = np.full((n, horizon), np.nan)
    for j in range(1, horizon + 1):
        targets[: n - j, j - 1] = returns[j:]
    train, validation, test = split_rows(n, horizon)
    x = frame.to_numpy(dtype=np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    x = (x - mean) / np.where(std > 0, std, 1.0)
    return PreparedData(
        index=pd.DatetimeIndex(frame.index), features=x, feature_names=tuple(frame.columns),
        targets=targets, close=close.to_numpy()[WARMUP:], train=train, validation=validation,
        test=test, horizon=horizon,
    )  # fmt: skip


def config_for(registry: Any, model_type: str, horizon: int) -> ModelConfig:
    return ModelConfig.from_mapping(
        {"model_type": model_type, "encoder": "none", "symbol": "EUR/USD", "base_timeframe": "1h",
         "days_history": 3650, "horizon": horizon, "preprocessing": {"ensemble_members": 5}},
        registry.catalog(),
    )  # fmt: skip


def baseline(registry: Any, model_type: str, data: PreparedData, config: ModelConfig) -> tuple:
    """One plain estimator on all train rows for the horizon target: (fit s, predict s)."""
    from regimeforge.plugins.builtin import models

    make = {"ridge": models.make_ridge, "lasso": models.make_lasso,
            "elasticnet": models.make_elasticnet, "rf": models.make_rf}[model_type]  # fmt: skip
    y = data.targets[data.train].sum(axis=1)
    ok = np.isfinite(y)
    estimator = make(dict(config.model_hyperparams), 0)
    start = time.perf_counter()
    estimator.fit(data.features[data.train][ok], y[ok] / y[ok].std())
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    estimator.predict(data.features[data.test])
    return fit_s, time.perf_counter() - start


def inner_loop_seconds(registry: Any, model: Any, data: PreparedData) -> float:
    """3 forecasts over the test segment + the 135-config inner loop (what a model costs)."""
    from regimeforge.plugins.builtin.numba_kernel import default_kernel

    grid = expand_inference_grid()  # the default 135 configurations
    kernel = default_kernel()
    test = data.features[data.test]

    def run() -> None:
        forecasts = {m: model.forecast(test, m) for m in METHODS}
        bt.run_inner_loop(
            bt.InnerLoopInput(forecasts, data.targets[data.test, 0],
                              np.full(test.shape[0], "calm_ranging"), 6240.0, CostModel(1.0, 0.5)),
            grid, [d.metric for d in registry.metrics.values()], regimes=["calm_ranging"],
            min_bars=50, min_trades=5, kernel=kernel,
        )  # fmt: skip

    run()  # warm-up (numba compilation)
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(registry: Any, model_type: str, data: PreparedData, horizon: int) -> dict[str, float]:
    config = config_for(registry, model_type, horizon)
    start = time.perf_counter()
    model = build_trainer(registry, config).fit(data, config)
    train_s = time.perf_counter() - start
    test = data.features[data.test]
    start = time.perf_counter()
    for method in METHODS:
        model.forecast(test, method)
    predict_s = time.perf_counter() - start
    base_fit, base_predict = baseline(registry, model_type, data, config)
    return {
        "bars": float(data.n_bars),
        "train_s": train_s,
        "train_s_per_1k_bars": train_s / (data.n_bars / 1000),
        "baseline_fit_s": base_fit,
        "train_ratio": train_s / max(base_fit, 1e-9),
        "predict_3_methods_s": predict_s,
        "bars_per_s": 3 * test.shape[0] / predict_s,
        "baseline_predict_s": base_predict,
        "predict_ratio": predict_s / max(base_predict, 1e-9),
        "inner_loop_s": inner_loop_seconds(registry, model, data) if data.n_bars < 20_000 else 0.0,
        "artifact_bytes": float(len(model.to_bytes())),
    }


def write_tables(real: dict[str, dict[str, float]], synthetic: dict[str, dict[str, float]]) -> None:
    table = {
        t: {"train_seconds_per_1k_bars": round(f["train_s_per_1k_bars"], 4),
            "inference_seconds_per_135": round(f["inner_loop_s"], 4)}
        for t, f in real.items()
    }  # fmt: skip
    packaged_path = ROOT / "src" / "regimeforge" / "resources" / "model_timings.json"
    packaged = json.loads(packaged_path.read_text()) if packaged_path.is_file() else {}
    old_seconds = dict(packaged.get("seconds_per_model", {}))
    for name, entry in packaged.items():  # keep entries of types measured elsewhere
        if isinstance(entry, dict) and name not in table and "train_seconds_per_1k_bars" in entry:
            table[name] = entry
    seconds = {**old_seconds, **{t: round(f["train_s"] + f["inner_loop_s"], 2)
                                 for t, f in real.items()}}  # fmt: skip
    note = ("Seconds per model type on about 5,000 hourly bars (horizon 10, 5 members, "
            "22 features) measured by benchmarks/bench_models.py on a 2-core machine. Per type: "
            "train_seconds_per_1k_bars and inference_seconds_per_135 (3 forecasts + the 135-config "
            "inner loop). seconds_per_model = training on 5,000 bars + inference, for readers of "
            "the older format; types not measured here keep their rough figures.")  # fmt: skip
    out = {"note": note, **table, "seconds_per_model": seconds}
    packaged_path.write_text(json.dumps(out, indent=2) + "\n")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    measured = {**out, "synthetic": {t: f for t, f in synthetic.items()}}
    (results / "model_timings.json").write_text(json.dumps(measured, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-bars", type=int, default=100_000)
    parser.add_argument("--types", default=",".join(TYPES))
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    registry = get_plugin_manager(entry_points=False)
    types = args.types.split(",")
    datasets = {
        "EUR/USD 1h": prepare(read_bars(EURUSD), args.horizon),
        f"synthetic {args.synthetic_bars:,}": prepare(
            generate_regime_bars(args.synthetic_bars, 3).bars, args.horizon
        ),
    }
    warm = prepare(read_bars(EURUSD).iloc[:1500], args.horizon)
    for model_type in types:  # imports and first-call costs are not training time
        config = config_for(registry, model_type, args.horizon)
        build_trainer(registry, config).fit(warm, config)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    header = (
        f"{'data':<18}{'type':<11}{'bars':>8}{'train s':>9}{'s/1k bars':>10}"
        f"{'x 1 fit':>9}{'fc bars/s':>11}{'x 1 pred':>9}{'135 cfg s':>10}{'MB':>7}"
    )
    print(header)
    print("-" * len(header))
    for label, data in datasets.items():
        figures[label] = {}
        for model_type in types:
            f = measure(registry, model_type, data, args.horizon)
            figures[label][model_type] = f
            print(f"{label:<18}{model_type:<11}{int(f['bars']):>8}{f['train_s']:>9.2f}"
                  f"{f['train_s_per_1k_bars']:>10.3f}{f['train_ratio']:>9.1f}"
                  f"{f['bars_per_s']:>11,.0f}{f['predict_ratio']:>9.1f}"
                  f"{f['inner_loop_s']:>10.2f}{f['artifact_bytes'] / 1e6:>7.2f}")  # fmt: skip
    print(
        "\nx 1 fit: full training (5 members x 10 step heads, transition, validation, stacking) "
        "/ one plain estimator fitted once; x 1 pred: 3 prediction methods x 5 members / one "
        "plain predict; 135 cfg s: 3 forecasts + 135 backtests (5,000-bar data only)."
    )
    real, synthetic = list(figures.values())
    if not args.no_write:
        write_tables(real, synthetic)
        print("wrote benchmarks/results/model_timings.json and resources/model_timings.json")
    print(json.dumps({"bench": "models", "horizon": args.horizon, "figures": figures}))


if __name__ == "__main__":
    main()
