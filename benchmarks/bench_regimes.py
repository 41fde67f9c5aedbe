"""Regime detection: speed of the rule detector on 1,000,000 bars; accuracy of both detectors.

Run: ``.venv/bin/python benchmarks/bench_regimes.py [--bars N] [--accuracy-bars N]``.
The baseline is a plain pandas version of the same detector (rolling quantile, row masks) run
in the same process. Prints a table and ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from regimeforge.domain.regime_detection import RuleRegimeDetector
from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS
from regimeforge.domain.synthetic import generate_regime_bars


def pandas_baseline(close: pd.Series) -> np.ndarray:
    """The default rules written directly in pandas (the reference implementation)."""
    r = np.log(close).diff()
    vol = r.rolling(20).std()
    signed = r.rolling(50).sum()
    strength = signed.abs() / r.abs().rolling(50).sum()
    median = vol.rolling(500).quantile(0.5)
    labels = np.where(
        strength > 0.5,
        np.where(signed > 0, "bull_trending", "bear_trending"),
        np.where(vol > median, "volatile_ranging", "calm_ranging"),
    )
    labels[:519] = ""
    return labels


def best_of(fn, repeat: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """Fastest wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def accuracy(labels: np.ndarray, truth: np.ndarray, warmup: int) -> float:
    return float((np.asarray(labels)[warmup:] == truth[warmup:]).mean())


def hmm_figures(n: int) -> dict[str, float]:
    """Forward-filtered HMM accuracy, and hmmlearn's Viterbi labels (same fit) for reference."""
    from regimeforge.plugins.builtin.hmm_detector import HmmRegimeDetector, _features, state_names

    data = generate_regime_bars(n, 7)
    detector = HmmRegimeDetector()
    start = time.perf_counter()
    model, center, scale = detector.fit(data.bars)
    filtered = detector.label_with(data.bars, model, center, scale)
    seconds = time.perf_counter() - start
    x = (_features(data.bars["close"].to_numpy(), 20)[20:] - center) / scale
    names = np.array(state_names(np.asarray(model.means_) * scale + center))
    viterbi = np.concatenate([np.full(20, ""), names[model.predict(x)]])
    return {
        "hmm_filtered_accuracy": accuracy(filtered, data.labels, 20),
        "hmm_viterbi_accuracy_lookahead": accuracy(viterbi, data.labels, 20),
        "hmm_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--accuracy-bars", type=int, default=200_000)
    args = parser.parse_args()
    data = generate_regime_bars(args.bars, 1)
    detector = RuleRegimeDetector()
    ours, labels = best_of(lambda: detector.detect(data.bars, DEFAULT_REGIME_DEFINITIONS))
    base, base_labels = best_of(lambda: pandas_baseline(data.bars["close"]))
    agree = float((np.asarray(labels) == base_labels).mean())
    figures = {
        "bars": args.bars,
        "rules_seconds": ours,
        "pandas_baseline_seconds": base,
        "speed_ratio_vs_pandas": base / ours,
        "agreement_with_baseline": agree,
        "rules_accuracy": accuracy(labels, data.labels, detector.warmup),  # type: ignore[arg-type]
    }
    acc_data = generate_regime_bars(args.accuracy_bars, 7)
    acc_labels = detector.detect(acc_data.bars, DEFAULT_REGIME_DEFINITIONS)
    figures["rules_accuracy_seed7"] = accuracy(acc_labels, acc_data.labels, detector.warmup)
    figures.update(hmm_figures(args.accuracy_bars))
    print(f"{'figure':<34}{'value':>14}")
    for key, value in figures.items():
        print(f"{key:<34}{value:>14.4f}" if isinstance(value, float) else f"{key:<34}{value:>14,}")
    print(json.dumps({"benchmark": "regimes", **figures}))


if __name__ == "__main__":
    main()
