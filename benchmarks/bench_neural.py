"""Neural model types: training and inference time on the real EUR/USD hours, CPU or GPU.

Run: ``.venv/bin/python benchmarks/bench_neural.py [--device cpu|cuda|auto] [--threads N]
[--types lightning,diffusion-ddpm,diffusion-ddim,sssd] [--horizon H] [--no-write]``.

Data and features are those of ``bench_models.py`` (the EUR/USD hourly file read from
/work/shared/data, 22 causal features scaled with train statistics, horizon 10, 5 members,
60/20/20 split with purge gaps), so the figures sit next to the scikit-learn types'.

Per model type, with its default hyperparameters and inference parameters:

- ``train s``: ``CompositeTrainer.fit`` (5 members with early stopping, the transition and, for
  the diffusion types, sampled validation forecasts of the 3 methods for the ensembles);
- ``3 fc s``: member forecasts of the 3 prediction methods over the test segment (``direct``
  and ``direct_multi`` share one sampling run; ``recursive`` samples 3 more chain points);
- ``135 cfg s``: those forecasts plus the 135-configuration inner loop (what one model costs in
  a grid besides training), and ``bars/s`` the test bars forecast per second over the 3 methods;
- ``calls``: denoiser evaluations of the 3 forecasts (members x steps x sampling runs x batches);
- ``hit``: the share of test bars where the mean-ensemble ``direct`` forecast has the sign of the
  realised 10-bar return (for orientation only; this benchmark is about time).

``--device`` sets ``REGIMEFORGE_TORCH_DEVICE`` and ``--threads`` ``REGIMEFORGE_TORCH_THREADS``
(default 1, as a worker runs). On the CPU (and unless ``--no-write``) the measured seconds per
model replace the rough entries of the neural types in the packaged timing table
(``resources/model_timings.json``, which ``grid size`` uses). Prints a table and ends with one
line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

TYPES = ["lightning", "diffusion-ddpm", "diffusion-ddim", "sssd"]
METHODS = ["direct", "recursive", "direct_multi"]


def _grid() -> tuple[Any, ...]:
    from regimeforge.domain.inference_grid import expand_inference_grid

    return expand_inference_grid()  # the default 135 configurations


def inner_loop_s(registry: Any, forecasts: dict[str, Any], data: Any) -> float:
    """The 135 backtests of one model from its precomputed forecasts (numba kernel, warm)."""
    from regimeforge.domain import backtest as bt
    from regimeforge.domain.costs import CostModel
    from regimeforge.plugins.builtin.numba_kernel import default_kernel

    n = data.features[data.test].shape[0]
    inp = bt.InnerLoopInput(forecasts, data.targets[data.test, 0], np.full(n, "calm_ranging"),
                            6240.0, CostModel(1.0, 0.5))  # fmt: skip
    metrics = [d.metric for d in registry.metrics.values()]
    options: dict[str, Any] = {"regimes": ["calm_ranging"], "min_bars": 50, "min_trades": 5,
                               "kernel": default_kernel()}  # fmt: skip
    bt.run_inner_loop(inp, _grid(), metrics, **options)  # warm-up (numba compilation)
    start = time.perf_counter()
    bt.run_inner_loop(inp, _grid(), metrics, **options)
    return time.perf_counter() - start


def measure(registry: Any, model_type: str, data: Any, horizon: int) -> dict[str, float]:
    from bench_models import config_for

    from regimeforge.plugins.builtin.models.composite import build_trainer

    config = config_for(registry, model_type, horizon)
    start = time.perf_counter()
    model = build_trainer(registry, config).fit(data, config)
    train_s = time.perf_counter() - start
    test = data.features[data.test]
    inner = model.model
    calls_before = getattr(inner, "denoiser_calls", 0)
    start = time.perf_counter()
    forecasts = {m: model.forecast(test, m) for m in METHODS}
    forecast_s = time.perf_counter() - start
    calls = getattr(inner, "denoiser_calls", 0) - calls_before
    truth = np.sum(data.targets[data.test], axis=1)
    known = np.isfinite(truth)
    direct = forecasts["direct"].values.mean(axis=0)
    loop_s = inner_loop_s(registry, forecasts, data)
    return {
        "bars": float(data.n_bars),
        "train_s": train_s,
        "train_s_per_1k_bars": train_s / (data.n_bars / 1000),
        "epochs": float(model.training_metrics.get("epochs", float("nan"))),
        "forecast_3_methods_s": forecast_s,
        "bars_per_s": 3 * test.shape[0] / forecast_s,
        "denoiser_calls": float(calls),
        "inference_135_s": forecast_s + loop_s,
        "hit_rate_direct": float(np.mean(np.sign(direct[known]) == np.sign(truth[known]))),
        "artifact_bytes": float(len(model.to_bytes())),
    }


def write_table(figures: dict[str, dict[str, float]]) -> None:
    """The measured neural types into the packaged timing table (other entries kept)."""
    path = ROOT / "src" / "regimeforge" / "resources" / "model_timings.json"
    table = json.loads(path.read_text())
    for name, f in figures.items():
        table[name] = {"train_seconds_per_1k_bars": round(f["train_s_per_1k_bars"], 4),
                       "inference_seconds_per_135": round(f["inference_135_s"], 4)}  # fmt: skip
        table["seconds_per_model"][name] = round(f["train_s"] + f["inference_135_s"], 2)
    seconds = table.pop("seconds_per_model")
    table["seconds_per_model"] = seconds  # keep it last
    path.write_text(json.dumps(table, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--types", default=",".join(TYPES))
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    os.environ["REGIMEFORGE_TORCH_DEVICE"] = args.device
    os.environ["REGIMEFORGE_TORCH_THREADS"] = str(args.threads)

    import torch
    from bench_models import EURUSD, config_for, prepare, read_bars

    from regimeforge.plugins.builtin.models.composite import build_trainer
    from regimeforge.plugins.builtin.neural import common
    from regimeforge.plugins.manager import get_plugin_manager

    registry = get_plugin_manager(entry_points=False)
    device = str(common.device_of())
    types = [t for t in args.types.split(",") if registry.model_types[t].available]
    bars = read_bars(EURUSD)
    data = prepare(bars, args.horizon)
    warm = prepare(bars.iloc[:700], args.horizon)
    for model_type in types:  # imports, kernels and first-call costs are not training time
        config = config_for(registry, model_type, args.horizon)
        build_trainer(registry, config).fit(warm, config)
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else ""
    print(f"device {device} {gpu} | torch {torch.__version__} | threads {args.threads} | "
          f"{platform.processor() or platform.machine()} | {data.n_bars} bars, horizon "
          f"{args.horizon}, 5 members, {data.features.shape[1]} features")  # fmt: skip
    header = (f"{'type':<16}{'train s':>9}{'epochs':>8}{'3 fc s':>9}{'bars/s':>9}"
              f"{'calls':>8}{'135 cfg s':>11}{'hit':>7}{'MB':>7}")  # fmt: skip
    print(header)
    print("-" * len(header))
    figures: dict[str, dict[str, float]] = {}
    for model_type in types:
        f = measure(registry, model_type, data, args.horizon)
        figures[model_type] = f
        print(f"{model_type:<16}{f['train_s']:>9.1f}{f['epochs']:>8.1f}"
              f"{f['forecast_3_methods_s']:>9.2f}{f['bars_per_s']:>9,.0f}"
              f"{int(f['denoiser_calls']):>8}{f['inference_135_s']:>11.2f}"
              f"{f['hit_rate_direct']:>7.3f}{f['artifact_bytes'] / 1e6:>7.2f}",
              flush=True)  # fmt: skip
    if device == "cpu" and not args.no_write:
        write_table(figures)
        print("wrote the neural types' seconds into src/regimeforge/resources/model_timings.json")
    print(json.dumps({"bench": "neural", "device": device, "gpu": gpu, "threads": args.threads,
                      "horizon": args.horizon, "figures": figures}))  # fmt: skip


if __name__ == "__main__":
    main()
