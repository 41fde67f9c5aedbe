"""The inner loop: every inference configuration of one trained model, vectorised.

Member forecasts are computed once per prediction method and set of inference ``params`` (by the
caller, e.g. with :func:`grid_forecasts`); ensembles are derived from them once per (forecasts,
ensemble), the confidence once per (forecasts, ensemble, lookback), and
all thresholds of that batch are evaluated by the kernel as one 2-D operation. There is no Python
loop over bars and none over thresholds. Results are values; recording them is the outer loop's
job. Definitions: docs/inner-loop.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs
import numpy as np

from regimeforge.domain.canonical import canonical_json
from regimeforge.domain.confidence import TrailingScale, z_threshold
from regimeforge.domain.config import InferenceConfig, thaw
from regimeforge.domain.costs import CostModel
from regimeforge.domain.ensembles import ENSEMBLE_METHODS, ensemble
from regimeforge.domain.errors import CancelledError, ConfigError, DataError, PluginError, Problem
from regimeforge.domain.forecasts import MemberForecasts
from regimeforge.domain.kernel import (
    BacktestKernel,
    NumpyBacktestKernel,
    SignalBlock,
    positions_and_pnl,
)
from regimeforge.domain.metrics import METRIC_NAMES, BuiltinMetric
from regimeforge.domain.ports import Metric, TrainedModel

#: Non-finite values a plugin metric returns are stored as these (JSON has no NaN or inf).
PLUGIN_VALUE_CAP: Final[float] = 1e12
_TRADES: Final[int] = METRIC_NAMES.index("n_trades")

BatchKey = tuple[str, str, int]


def forecast_key(cfg: InferenceConfig) -> str:
    """The forecasts ``cfg`` reads: its prediction method, followed by its inference ``params``
    (canonical JSON) when it has any (e.g. a diffusion model's ``n_samples``)."""
    if not cfg.params:
        return cfg.prediction_method
    return f"{cfg.prediction_method} {canonical_json(thaw(cfg.params))}"


def grid_forecasts(
    model: TrainedModel, features: np.ndarray, grid: Sequence[InferenceConfig]
) -> dict[str, MemberForecasts]:
    """``model``'s member forecasts for every :func:`forecast_key` of ``grid``, each once."""
    wanted = {forecast_key(cfg): cfg for cfg in grid}
    return {
        key: model.forecast(features, cfg.prediction_method, dict(cfg.params) or None)
        for key, cfg in sorted(wanted.items())
    }


@attrs.frozen(eq=False)
class InnerLoopInput:
    """Everything the inner loop needs about one trained model's test segment.

    ``forecasts`` are keyed by :func:`forecast_key`; a config with params whose key is missing
    reads the forecasts of its bare prediction method (models without inference parameters).
    """

    forecasts: Mapping[str, MemberForecasts]  # per forecast key, over the test bars
    bar_returns: np.ndarray  # (n,) return earned by a position held at t; NaN = unknown
    regime_labels: np.ndarray  # (n,) regime name per test bar ("" = none)
    periods_per_year: float
    cost: CostModel


@attrs.frozen
class BacktestResult:
    """One inference configuration's metrics, overall and per regime (all values finite)."""

    inference: InferenceConfig
    metrics: Mapping[str, float]
    regime_metrics: Mapping[str, Mapping[str, float | int | bool]]
    duration_seconds: float


def _key_of(inp: InnerLoopInput, cfg: InferenceConfig) -> str:
    key = forecast_key(cfg)
    return key if key in inp.forecasts else cfg.prediction_method


def _check(inp: InnerLoopInput, grid: Sequence[InferenceConfig]) -> None:
    problems: list[Problem] = []
    for i, cfg in enumerate(grid):
        if _key_of(inp, cfg) not in inp.forecasts:
            problems.append(
                Problem(
                    f"grid[{i}].prediction_method",
                    f"no forecasts for {cfg.prediction_method!r}",
                    f"use one of {sorted(inp.forecasts)}",
                )
            )
        if cfg.ensemble_method not in ENSEMBLE_METHODS:
            problems.append(
                Problem(
                    f"grid[{i}].ensemble_method",
                    f"unknown {cfg.ensemble_method!r}",
                    f"use one of {list(ENSEMBLE_METHODS)}",
                )
            )
        if cfg.lookback_window < 1:
            problems.append(Problem(f"grid[{i}].lookback_window", "must be >= 1", "e.g. 50"))
    ConfigError.collect(problems, subject="inference grid")
    n = int(np.shape(inp.bar_returns)[0])
    bad = [
        Problem(f"forecasts.{m}", f"{f.values.shape[1]} bars, returns have {n}", "")
        for m, f in inp.forecasts.items()
        if f.values.shape[1] != n
    ]
    if np.shape(inp.regime_labels) != (n,):
        bad.append(Problem("regime_labels", f"shape {np.shape(inp.regime_labels)} != ({n},)", ""))
    DataError.collect(bad, subject="inner loop input")


def _batches(inp: InnerLoopInput, grid: Sequence[InferenceConfig]) -> dict[BatchKey, list[int]]:
    """Grid positions per (forecasts, ensemble, lookback), grouped so ensembles are reused."""
    keyed: dict[BatchKey, list[int]] = {}
    for i, cfg in enumerate(grid):
        key = (_key_of(inp, cfg), cfg.ensemble_method, cfg.lookback_window)
        keyed.setdefault(key, []).append(i)
    order = {k: (k[0], k[1]) for k in keyed}
    first = {pair: n for n, pair in enumerate(dict.fromkeys(order.values()))}
    return dict(sorted(keyed.items(), key=lambda item: first[order[item[0]]]))


def _plugin_values(
    plugins: Sequence[Metric],
    block: SignalBlock,
    thresholds: np.ndarray,
    rows: Sequence[np.ndarray | None],
) -> dict[str, np.ndarray]:
    """(G + 1, T) values per third-party metric, over all bars and each regime's bars."""
    positions, pnl, *_ = positions_and_pnl(block, thresholds)
    parts = [(pnl, positions) if c is None else (pnl[:, c], positions[:, c]) for c in rows]
    found: dict[str, np.ndarray] = {}
    for metric in plugins:
        out = np.zeros((len(rows), len(thresholds)))
        for r, (part_pnl, part_positions) in enumerate(parts):
            value = np.asarray(
                metric.compute(part_pnl, part_positions, block.periods_per_year), dtype=np.float64
            )
            if value.shape != (len(thresholds),):
                raise PluginError(
                    f"metric {metric.name!r} returned shape {value.shape}, "
                    f"expected ({len(thresholds)},)"
                )
            out[r] = value
        found[metric.name] = np.nan_to_num(
            out, nan=0.0, posinf=PLUGIN_VALUE_CAP, neginf=-PLUGIN_VALUE_CAP
        )
    return found


def run_inner_loop(
    inp: InnerLoopInput,
    grid: Sequence[InferenceConfig],
    metrics: Sequence[Metric],
    *,
    regimes: Sequence[str],
    min_bars: int,
    min_trades: int,
    kernel: BacktestKernel | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> list[BacktestResult]:
    """Backtest every configuration of ``grid``; results in the order of ``grid``.

    ``should_stop`` is asked before each batch (one (forecasts, ensemble, lookback)) and a True
    answer raises ``CancelledError``; ``progress(done, total)`` follows each batch; ``clock``
    (monotonic seconds) times the batches, whose time is shared by their configurations.
    """
    _check(inp, grid)
    engine: BacktestKernel = kernel if kernel is not None else NumpyBacktestKernel()
    valid = np.isfinite(np.asarray(inp.bar_returns, dtype=np.float64))
    labels = np.asarray(inp.regime_labels, dtype=object)[valid]
    groups = np.full(labels.shape, -1, dtype=np.int64)
    for g, name in enumerate(regimes):
        groups[labels == name] = g
    rows: list[np.ndarray | None] = [None] + [
        np.flatnonzero(groups == g) for g in range(len(regimes))
    ]
    bars = [int(valid.sum())] + [len(c) for c in rows[1:] if c is not None]
    scoring = _Scoring(metrics, regimes, bars, min_bars, min_trades)
    plugins = [m for m in metrics if not isinstance(m, BuiltinMetric)]
    returns = np.asarray(inp.bar_returns, dtype=np.float64)[valid]
    results: list[BacktestResult | None] = [None] * len(grid)
    cache: dict[tuple[str, str], tuple[TrailingScale, np.ndarray]] = {}
    done = 0
    for (key, ens, lookback), members in _batches(inp, grid).items():
        if should_stop is not None and should_stop():
            raise CancelledError(f"inner loop cancelled after {done} of {len(grid)} configurations")
        started = clock() if clock else 0.0
        if (key, ens) not in cache:
            forecast, spread = ensemble(inp.forecasts[key], ens)
            signs = np.sign(np.where(np.isfinite(forecast), forecast, 0.0))[valid]
            cache[(key, ens)] = (TrailingScale.of(forecast, spread), signs)
        scale, signs = cache[(key, ens)]
        block = SignalBlock(
            signs,
            scale.z(lookback)[valid],
            returns,
            groups,
            len(regimes),
            inp.cost.per_unit_turnover,
            float(inp.periods_per_year),
        )
        thresholds = np.unique([grid[i].confidence_threshold for i in members])
        # confidence >= threshold  <=>  z >= z_threshold(threshold): no erf per bar
        z_levels = np.array([z_threshold(float(c)) for c in thresholds])
        table = engine.evaluate(block, z_levels)
        extra = _plugin_values(plugins, block, z_levels, rows) if plugins else {}
        share = ((clock() - started) if clock else 0.0) / len(members)
        for i in members:
            j = int(np.searchsorted(thresholds, grid[i].confidence_threshold))
            own = {name: values[:, j] for name, values in extra.items()}
            results[i] = scoring.result(grid[i], table[:, :, j], own, share)
        done += len(members)
        if progress is not None:
            progress(done, len(grid))
    return [r for r in results if r is not None]


@attrs.frozen(eq=False)
class _Scoring:
    """What turns kernel rows into a result: metric order, regimes and their sufficiency."""

    metrics: Sequence[Metric]
    regimes: Sequence[str]
    bars: Sequence[int]
    min_bars: int
    min_trades: int

    def result(
        self,
        cfg: InferenceConfig,
        table: np.ndarray,
        extra: Mapping[str, np.ndarray],
        seconds: float,
    ) -> BacktestResult:
        table = np.nan_to_num(table, nan=0.0, posinf=PLUGIN_VALUE_CAP, neginf=-PLUGIN_VALUE_CAP)

        def values(row: int) -> dict[str, float]:
            return {
                m.name: float(
                    extra[m.name][row]
                    if m.name in extra
                    else table[row, METRIC_NAMES.index(m.name)]
                )
                for m in self.metrics
            }

        per_regime: dict[str, Mapping[str, float | int | bool]] = {}
        for g, name in enumerate(self.regimes):
            trades = round(float(table[g + 1, _TRADES]))
            entry: dict[str, float | int | bool] = dict(values(g + 1))
            bars = self.bars[g + 1]
            entry.update(
                bars=bars,
                trades=trades,
                sufficient=bars >= self.min_bars and trades >= self.min_trades,
            )
            per_regime[name] = entry
        return BacktestResult(cfg, values(0), per_regime, seconds)
