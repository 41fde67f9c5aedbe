"""The slow, obvious backtest of one inference configuration: the reference for the fast path.

Plain Python over bars (``math.erf``, explicit trailing windows, running equity), written from
docs/inner-loop.md independently of the vectorised modules, so that tests can check the inner
loop gives the same numbers for every configuration. Never used in production: it is O(n·L) per
configuration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from regimeforge.domain.backtest import BacktestResult, InnerLoopInput, forecast_key
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.forecasts import MemberForecasts
from regimeforge.domain.metrics import LOG_RETURN_CAP, PROFIT_FACTOR_CAP, BuiltinMetric
from regimeforge.domain.ports import Metric


def _weights(member: MemberForecasts, method: str) -> tuple[list[float], float]:
    k = member.values.shape[0]
    if method == "weighted":
        inverse = [
            1.0 / max(float(e), 1e-12) if math.isfinite(float(e)) and float(e) >= 0 else 0.0
            for e in member.val_errors
        ]
        total = sum(inverse)
        return ([w / total for w in inverse] if total > 0 else [1.0 / k] * k), 1.0
    if method == "stacking":
        coef = [abs(float(c)) for c in member.stack_coef]
        total = sum(coef)
        return ([c / total for c in coef], total) if total > 0 else ([1.0 / k] * k, 1.0)
    return [1.0 / k] * k, 1.0


def _forecast_and_spread(member: MemberForecasts, method: str) -> tuple[list[float], list[float]]:
    weights, scale = _weights(member, method)
    k, n = member.values.shape
    forecasts, spreads = [], []
    for t in range(n):
        column = [float(member.values[i, t]) for i in range(k)]
        if method == "stacking":
            coef = [float(c) for c in member.stack_coef]
            f = float(member.stack_intercept) + sum(
                c * v for c, v in zip(coef, column, strict=True)
            )
        else:
            f = sum(w * v for w, v in zip(weights, column, strict=True))
        forecasts.append(f)
        if member.spread is not None:
            centre = sum(w * v for w, v in zip(weights, column, strict=True))
            within = sum(w * float(member.spread[i, t]) ** 2 for i, w in enumerate(weights))
            between = sum(w * (v - centre) ** 2 for w, v in zip(weights, column, strict=True))
            spreads.append(scale * math.sqrt(within + between))
    return forecasts, spreads


def _confidences(forecasts: list[float], spreads: list[float], lookback: int) -> list[float]:
    source = spreads if spreads else forecasts
    squares = [x * x if math.isfinite(x) else 0.0 for x in source]
    out = []
    for t, f in enumerate(forecasts):
        window = squares[max(0, t - lookback + 1) : t + 1]
        if len(window) < 2:
            out.append(0.0)
            continue
        rms = math.sqrt(sum(window) / len(window))
        z = abs(f) / rms if rms > 0 else (math.inf if f != 0 else 0.0)
        out.append(math.erf(z / math.sqrt(2.0)))
    return out


def _metrics(
    pnl: list[float],
    pos: list[float],
    dpos: list[float],
    entries: list[bool],
    *,
    hits: list[bool],
    ppy: float,
) -> dict[str, float]:
    m = len(pnl)
    if m == 0:
        return dict.fromkeys(
            (
                "sharpe",
                "sortino",
                "max_drawdown",
                "calmar",
                "total_return",
                "win_rate",
                "profit_factor",
                "n_trades",
                "exposure",
                "turnover",
                "hit_rate",
            ),
            0.0,
        )
    mean = sum(pnl) / m
    std = math.sqrt(sum((x - mean) ** 2 for x in pnl) / (m - 1)) if m > 1 else 0.0
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in pnl) / m)
    equity, peak, worst = 0.0, 0.0, 0.0
    for x in pnl:
        equity += x
        peak = max(peak, equity)
        worst = min(worst, equity - peak)
    drawdown = 1.0 - math.exp(worst)
    gains = sum(x for x in pnl if x > 0)
    losses = -sum(x for x in pnl if x < 0)
    active = sum(1 for p in pos if p != 0)
    if losses > 0:
        profit_factor = min(gains / losses, PROFIT_FACTOR_CAP)
    else:
        profit_factor = PROFIT_FACTOR_CAP if gains > 0 else 0.0
    return {
        "sharpe": mean / std * math.sqrt(ppy) if std > 1e-12 * abs(mean) else 0.0,
        "sortino": mean / downside * math.sqrt(ppy) if downside > 0 else 0.0,
        "max_drawdown": drawdown,
        "calmar": mean * ppy / drawdown if drawdown > 0 else 0.0,
        "total_return": math.expm1(min(sum(pnl), LOG_RETURN_CAP)),
        "win_rate": sum(1 for p, x in zip(pos, pnl, strict=True) if p != 0 and x > 0) / active
        if active
        else 0.0,
        "profit_factor": profit_factor,
        "n_trades": float(sum(entries)),
        "exposure": active / m,
        "turnover": sum(dpos) / m,
        "hit_rate": sum(hits) / active if active else 0.0,
    }


def backtest_one(
    inp: InnerLoopInput,
    config: InferenceConfig,
    metrics: Sequence[Metric],
    *,
    regimes: Sequence[str],
    min_bars: int,
    min_trades: int,
) -> BacktestResult:
    """One configuration, bar by bar; same result as ``run_inner_loop`` for that config."""
    key = forecast_key(config)
    member = inp.forecasts[key if key in inp.forecasts else config.prediction_method]
    forecasts, spreads = _forecast_and_spread(member, config.ensemble_method)
    conf = _confidences(forecasts, spreads, config.lookback_window)
    keep = [t for t, r in enumerate(inp.bar_returns) if math.isfinite(float(r))]
    pos, pnl, dpos, entries, hits, previous = [], [], [], [], [], 0.0
    for t in keep:
        f, r = forecasts[t], float(inp.bar_returns[t])
        p = (
            float(np.sign(f))
            if math.isfinite(f) and conf[t] >= config.confidence_threshold
            else 0.0
        )
        pos.append(p)
        dpos.append(abs(p - previous))
        entries.append(p not in (0.0, previous))
        hits.append(p * r > 0)
        pnl.append(p * r - inp.cost.per_unit_turnover * abs(p - previous))
        previous = p
    labels = [str(inp.regime_labels[t]) for t in keep]

    def score(rows: list[int]) -> dict[str, float]:
        picked_pnl = [pnl[i] for i in rows]
        picked_pos = [pos[i] for i in rows]
        table = _metrics(
            picked_pnl,
            picked_pos,
            [dpos[i] for i in rows],
            [entries[i] for i in rows],
            hits=[hits[i] for i in rows],
            ppy=inp.periods_per_year,
        )
        out = {}
        for metric in metrics:
            if isinstance(metric, BuiltinMetric):
                out[metric.name] = table[metric.name]
            else:
                values = metric.compute(
                    np.array([picked_pnl]), np.array([picked_pos]), inp.periods_per_year
                )
                out[metric.name] = float(np.nan_to_num(values[0], posinf=1e12, neginf=-1e12))
        out["_trades"] = table["n_trades"]
        return out

    overall = score(list(range(len(keep))))
    overall.pop("_trades")
    per_regime: dict[str, dict[str, float | int | bool]] = {}
    for name in regimes:
        rows = [i for i, label in enumerate(labels) if label == name]
        values = score(rows)
        trades = int(values.pop("_trades"))
        per_regime[name] = {
            **values,
            "bars": len(rows),
            "trades": trades,
            "sufficient": len(rows) >= min_bars and trades >= min_trades,
        }
    return BacktestResult(config, overall, per_regime, 0.0)
