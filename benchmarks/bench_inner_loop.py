"""Inner loop: 135 inference configurations on a 100,000-bar test segment, side by side.

Run: ``.venv/bin/python benchmarks/bench_inner_loop.py [--bars N] [--bt-configs N]``.

Every figure is measured in its own child process (so that peak memory is its own), from the
same seeded data: precomputed member forecasts (3 prediction methods x 5 members), bar returns
and regime labels (4 regimes in runs of ~200 bars).

- ``regimeforge (numba)`` / ``(numpy)``: ``run_inner_loop`` end to end (ensembles, causal
  confidence for 3 lookbacks, positions, PnL after costs, 11 metrics overall and per regime).
- ``kernel only``: the same kernel on precomputed signal blocks, like the numpy baseline.
- ``numpy baseline``: plain numpy written here: positions, PnL, Sharpe, drawdown and win rate of
  a (135, n) array built from precomputed signals and confidences (no regime metrics).
- ``vectorbt``: ``Portfolio.from_signals`` over the same 135 position columns, then Sharpe,
  max drawdown, total return and win rate.
- ``backtesting.py``: one ``Backtest.run`` per configuration on a few configurations; the time
  per configuration is compared with ours per configuration.

Peak memory is the growth of the child's peak RSS over its RSS after data and warm-up.
Prints a table, the ratios, and ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

PERIODS_PER_YEAR = 6240.0  # hourly bars, 24 h x 260 days
COST = 1e-4  # (1.0 bp spread / 2 + 0.5 bp commission) / 1e4
REGIMES = ["bull_trending", "bear_trending", "volatile_ranging", "calm_ranging"]
METHODS = ("direct", "recursive", "direct_multi")
ENSEMBLES = ("mean", "weighted", "stacking")
THRESHOLDS = (0.0, 0.3, 0.5, 0.7, 0.9)
LOOKBACKS = (50, 100, 200)


def make_data(n: int, seed: int = 0) -> dict[str, Any]:
    """Returns, labels and member forecasts that partly know the next return."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 1e-3, n)
    run_lengths = rng.geometric(1 / 200, n // 50 + 10)
    labels = np.repeat(rng.integers(0, 4, len(run_lengths)), run_lengths)[:n]
    labels = np.array(REGIMES, dtype=object)[labels]
    members = {
        m: (
            rng.normal(0.0, 1e-3, (5, n)) + 0.2 * returns,
            rng.uniform(0.5, 2.0, 5),
            rng.normal(0.25, 0.1, 5),
            rng.uniform(5e-4, 2e-3, (5, n)) if m == "direct" else None,
        )
        for m in METHODS
    }
    returns[-1] = np.nan  # the last bar's next return is unknown
    return {"returns": returns, "labels": labels, "members": members}


def inner_loop_input(data: dict[str, Any]) -> Any:
    from regimeforge.domain.backtest import InnerLoopInput
    from regimeforge.domain.costs import CostModel
    from regimeforge.domain.forecasts import MemberForecasts

    forecasts = {
        m: MemberForecasts(values=v, val_errors=e, stack_coef=c, spread=s)
        for m, (v, e, c, s) in data["members"].items()
    }
    return InnerLoopInput(
        forecasts, data["returns"], data["labels"], PERIODS_PER_YEAR, CostModel(1.0, 0.5)
    )


def default_grid() -> list[Any]:
    from regimeforge.domain.config import InferenceConfig

    return [
        InferenceConfig(*p) for p in itertools.product(METHODS, ENSEMBLES, THRESHOLDS, LOOKBACKS)
    ]


def signals(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(135, n) positions, (27, n) signs and (27, n) confidences, precomputed by our modules."""
    from regimeforge.domain.confidence import confidence
    from regimeforge.domain.ensembles import ensemble

    inp = inner_loop_input(data)
    signs, confs = [], []
    for m, e, lb in itertools.product(METHODS, ENSEMBLES, LOOKBACKS):
        f, s = ensemble(inp.forecasts[m], e)
        signs.append(np.sign(f))
        confs.append(confidence(f, lb, s))
    sign, conf = np.array(signs), np.array(confs)
    thr = np.array(THRESHOLDS)
    positions = np.repeat(sign, len(thr), axis=0) * (
        np.repeat(conf, len(thr), axis=0) >= np.tile(thr, len(sign))[:, None]
    )
    return positions, sign, conf


def numpy_baseline(sign: np.ndarray, conf: np.ndarray, returns: np.ndarray) -> dict[str, Any]:
    """Positions, PnL, Sharpe, drawdown and win rate for a 2-D array of thresholds."""
    thr = np.array(THRESHOLDS)
    pos = np.repeat(sign, len(thr), axis=0) * (
        np.repeat(conf, len(thr), axis=0) >= np.tile(thr, len(sign))[:, None]
    )
    r = np.nan_to_num(returns)
    turnover = np.abs(np.diff(pos, axis=1, prepend=0.0))
    pnl = pos * r - COST * turnover
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = pnl.mean(1) / pnl.std(1, ddof=1) * np.sqrt(PERIODS_PER_YEAR)
    equity = np.cumsum(pnl, axis=1)
    drawdown = 1 - np.exp((equity - np.maximum.accumulate(equity, axis=1)).min(1))
    active = pos != 0
    win_rate = (active & (pnl > 0)).sum(1) / np.maximum(active.sum(1), 1)
    return {"sharpe": sharpe, "max_drawdown": drawdown, "win_rate": win_rate}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> float:
    """Reset the kernel's peak-RSS mark (Linux) and return the current RSS in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # older kernels: the peak then includes the set-up
        pass
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def worker(name: str, bars: int, bt_configs: int) -> dict[str, Any]:
    """One measurement in this (child) process: seconds and peak memory growth."""
    data = make_data(bars)
    warm = make_data(2_000, seed=1)
    repeat, configs = 3, 135
    if name in ("ours-numba", "ours-numpy", "kernel-numba", "kernel-numpy"):
        from regimeforge.domain.backtest import run_inner_loop
        from regimeforge.domain.kernel import NumpyBacktestKernel
        from regimeforge.domain.metrics import builtin_metrics
        from regimeforge.plugins.builtin.numba_kernel import NumbaBacktestKernel

        kernel = NumbaBacktestKernel() if name.endswith("numba") else NumpyBacktestKernel()
        metrics, grid = builtin_metrics(), default_grid()
        options = {"regimes": REGIMES, "min_bars": 50, "min_trades": 5, "kernel": kernel}
        run_inner_loop(inner_loop_input(warm), grid, metrics, **options)  # compile / warm up
        repeat = 3 if name.endswith("numba") else 2
        if name.startswith("ours"):
            inp = inner_loop_input(data)

            def fn() -> Any:
                return run_inner_loop(inp, grid, metrics, **options)
        else:
            fn = kernel_only(data, kernel)
    elif name == "numpy-baseline":
        _, sign, conf = signals(data)
        numpy_baseline(sign[:, :100], conf[:, :100], data["returns"][:100])
        returns = data["returns"]

        def fn() -> Any:
            return numpy_baseline(sign, conf, returns)

    elif name == "vectorbt":
        fn, repeat = vectorbt_runner(data), 1
        vectorbt_runner(warm)()
    elif name == "backtesting":
        fn, repeat, configs = backtesting_runner(data, bt_configs), 1, bt_configs
        backtesting_runner(warm, 1)()
    else:
        raise SystemExit(f"unknown worker {name}")
    before = reset_peak_rss()
    seconds = best_of(fn, repeat)
    return {
        "name": name,
        "seconds": seconds,
        "configs": configs,
        "peak_mb": max(peak_rss_mb() - before, 0.0),
    }


def kernel_only(data: dict[str, Any], kernel: Any) -> Callable[[], Any]:
    from regimeforge.domain.confidence import z_threshold
    from regimeforge.domain.kernel import SignalBlock

    _, sign, conf = signals(data)
    valid = np.isfinite(data["returns"])
    codes = {name: i for i, name in enumerate(REGIMES)}
    groups = np.array([codes.get(x, -1) for x in data["labels"][valid]], dtype=np.int64)
    blocks = [
        SignalBlock(s[valid], c[valid], data["returns"][valid], groups, 4, COST, PERIODS_PER_YEAR)
        for s, c in zip(sign, conf, strict=True)
    ]
    levels = np.array(THRESHOLDS)  # blocks carry confidences here, so thresholds stay as they are
    del z_threshold
    return lambda: [kernel.evaluate(b, levels) for b in blocks]


def vectorbt_runner(data: dict[str, Any]) -> Callable[[], Any]:
    import pandas as pd
    import vectorbt as vbt

    positions, _, _ = signals(data)
    n = positions.shape[1]
    index = pd.date_range("2020-01-01", periods=n, freq="h")
    close = pd.Series(np.exp(np.cumsum(np.nan_to_num(data["returns"]))) * 100.0, index=index)
    frame = pd.DataFrame(positions.T, index=index)
    previous = frame.shift(1, fill_value=0.0)
    long_entries, long_exits = (frame > 0) & (previous <= 0), (frame <= 0) & (previous > 0)
    short_entries, short_exits = (frame < 0) & (previous >= 0), (frame >= 0) & (previous < 0)

    def run() -> Any:
        pf = vbt.Portfolio.from_signals(
            close,
            entries=long_entries,
            exits=long_exits,
            short_entries=short_entries,
            short_exits=short_exits,
            fees=COST,
            freq="1h",
        )
        return (pf.sharpe_ratio(), pf.max_drawdown(), pf.total_return(), pf.trades.win_rate())

    return run


def backtesting_runner(data: dict[str, Any], configs: int) -> Callable[[], Any]:
    import pandas as pd
    from backtesting import Backtest, Strategy

    positions, _, _ = signals(data)
    n = positions.shape[1]
    close = np.exp(np.cumsum(np.nan_to_num(data["returns"]))) * 100.0
    frame = pd.DataFrame(
        {
            "Open": close,
            "High": close * 1.0005,
            "Low": close * 0.9995,
            "Close": close,
            "Volume": 1.0,
        },
        index=pd.date_range("2020-01-01", periods=n, freq="h"),
    )

    def strategy(target: np.ndarray) -> type:
        class Follow(Strategy):  # type: ignore[misc]
            def init(self) -> None:
                self.target = self.I(lambda: target, name="target", plot=False)

            def next(self) -> None:
                want = self.target[-1]
                if want > 0 and not self.position.is_long:
                    self.buy()
                elif want < 0 and not self.position.is_short:
                    self.sell()
                elif want == 0 and self.position:
                    self.position.close()

        return Follow

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [
                Backtest(
                    frame, strategy(positions[j]), cash=1e7, commission=COST, exclusive_orders=True
                ).run()
                for j in range(configs)
            ]

    return run


def measure(name: str, bars: int, bt_configs: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            name,
            "--bars",
            str(bars),
            "--bt-configs",
            str(bt_configs),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"name": name, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--bt-configs", type=int, default=2)
    parser.add_argument("--worker", default="")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.bars, args.bt_configs)))
        return
    names = [
        "ours-numba",
        "ours-numpy",
        "kernel-numba",
        "kernel-numpy",
        "numpy-baseline",
        "vectorbt",
        "backtesting",
    ]
    results = {name: measure(name, args.bars, args.bt_configs) for name in names}
    print(
        f"Inner loop, {args.bars:,} bars, 135 configurations (backtesting.py: "
        f"{args.bt_configs} configurations)\n"
    )
    print(f"{'':<18}{'seconds':>10}{'ms/config':>12}{'peak MB':>10}")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<18}  failed: {r['error']}")
            continue
        per = r["seconds"] / r["configs"] * 1e3
        print(f"{name:<18}{r['seconds']:>10.3f}{per:>12.3f}{r['peak_mb']:>10.1f}")

    def secs(name: str) -> float:
        return float(results[name].get("seconds", float("nan")))

    def per_config(name: str) -> float:
        return secs(name) / float(results[name].get("configs", 1))

    ratios = {
        "numpy_baseline_over_ours": secs("numpy-baseline") / secs("ours-numba"),
        "numpy_baseline_over_kernel": secs("numpy-baseline") / secs("kernel-numba"),
        "vectorbt_over_ours": secs("vectorbt") / secs("ours-numba"),
        "backtesting_per_config_over_ours": per_config("backtesting") / per_config("ours-numba"),
        "ours_numpy_over_ours_numba": secs("ours-numpy") / secs("ours-numba"),
        "vectorbt_peak_over_ours_peak": float(results["vectorbt"].get("peak_mb", np.nan))
        / max(float(results["ours-numba"].get("peak_mb", np.nan)), 1.0),
    }
    print(
        "\nratios (how many times slower / larger the other is; targets: baseline >= 1, "
        "vectorbt >= 20, backtesting.py >= 500)"
    )
    for key, value in ratios.items():
        print(f"  {key:<36}{value:>10.1f}")
    print(
        json.dumps(
            {"benchmark": "inner_loop", "bars": args.bars, "results": results, "ratios": ratios}
        )
    )


if __name__ == "__main__":
    main()
