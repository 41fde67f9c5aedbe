"""The causal feature pipeline: bars + model config -> ``PreparedData`` (the FeatureBuilder port).

No look-ahead, by construction:
- every feature at bar t is computed from bars up to and including t (indicators are causal;
  feature groups use trailing windows; the bar's own timestamp);
- an indicator on a higher timeframe is computed on resampled bars and reaches a base bar only
  when the base bar's CLOSE time is at or after the higher bar's close time
  (``align_higher_timeframe``), so a 4h value is never seen before its 4 hours are over;
- missing values are filled forward only (never backward);
- scaling statistics come from the train segment only.

Steps of ``prepare``: validate bars; base features (lagged log returns ``ret_lag_0..4``, always),
indicators per timeframe, feature groups; drop warm-up rows (the largest of
``preprocessing.warmup_bars`` and the indicators' and groups' own warm-ups, in base bars);
coverage check (share of non-NaN cells, before filling, against ``min_coverage``); forward fill,
then drop rows still incomplete; targets; purged chronological split; scaling. Targets, split
and scaling live in ``domain.feature_prep``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, Protocol, cast

import numpy as np
import pandas as pd

from regimeforge.domain import feature_prep as prep
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.errors import ConfigError, DataError, PluginError, Problem
from regimeforge.domain.feature_groups import GROUPS
from regimeforge.domain.forecasts import PreparedData
from regimeforge.domain.marketdata import check_enough_bars, resample_bars, validate_bars
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES

IndicatorFn = Callable[[pd.DataFrame], pd.DataFrame]
#: Lagged one-bar log returns every feature set starts with (r_t, r_{t-1}, ..., r_{t-4}).
N_RETURN_LAGS: Final[int] = 5


class IndicatorLike(Protocol):
    """What the pipeline reads from an indicator descriptor (plugins' ``IndicatorDescriptor``)."""

    compute: IndicatorFn
    warmup_bars: int


def align_higher_timeframe(
    values_on_htf: pd.DataFrame, htf: str, base_index: pd.DatetimeIndex, base_tf: str
) -> pd.DataFrame:
    """Values of left-labelled ``htf`` bars on ``base_index``, visible only after their close.

    The higher bar labelled T closes at T + htf; the base bar labelled t closes at t + base_tf.
    A higher bar's value is visible at base bar t when ``t + base_tf >= T + htf``; before the
    first higher bar closes the values are NaN.
    """
    delay = pd.Timedelta(minutes=TIMEFRAME_MINUTES[htf] - TIMEFRAME_MINUTES[base_tf])
    shifted = values_on_htf.set_axis(values_on_htf.index + delay, axis=0)
    return shifted.reindex(base_index, method="ffill")


def return_lags(close: pd.Series) -> pd.DataFrame:
    """``ret_lag_k`` = log return of bar t-k, for k = 0..N_RETURN_LAGS-1."""
    r = np.log(close).diff()
    return pd.DataFrame({f"ret_lag_{k}": r.shift(k) for k in range(N_RETURN_LAGS)})


class FeaturePipeline:
    """Builds ``PreparedData`` from bars (implements the FeatureBuilder port).

    ``indicators`` maps a name to a compute function (``bars -> DataFrame``) or to anything with
    ``compute`` and ``warmup_bars`` (the registry's ``IndicatorDescriptor``s); ``warmups``
    overrides or supplies warm-ups in bars of the indicator's own timeframe.
    """

    def __init__(
        self,
        indicators: Mapping[str, IndicatorFn | IndicatorLike],
        warmups: Mapping[str, int] | None = None,
    ) -> None:
        self._compute: dict[str, IndicatorFn] = {}
        self._warmups: dict[str, int] = {}
        for name, item in indicators.items():
            compute = item.compute if hasattr(item, "compute") else item
            self._compute[name] = cast(IndicatorFn, compute)
            self._warmups[name] = int(getattr(item, "warmup_bars", 0))
        self._warmups.update({k: int(v) for k, v in (warmups or {}).items()})

    def warmup_for(self, config: ModelConfig) -> int:
        """Rows dropped at the start: the largest warm-up of everything configured, in base bars."""
        base = TIMEFRAME_MINUTES[config.base_timeframe]
        rv_window = int(config.preprocessing["rv_window"])
        warm = [int(config.preprocessing["warmup_bars"]), N_RETURN_LAGS]
        for name, tfs in config.indicator_tfs.items():
            for tf in tfs:
                ratio = TIMEFRAME_MINUTES[tf] // base
                # one more higher bar (less one base bar) before its first value closes
                warm.append(self._warmups.get(name, 0) * ratio + ratio - 1)
        warm += [GROUPS[g][1](rv_window) for g, on in config.additional_features.items() if on]
        return max(warm)

    def _indicator(self, name: str, bars: pd.DataFrame) -> pd.DataFrame:
        try:
            out = self._compute[name](bars)
        except Exception as exc:
            raise PluginError(f"indicator {name!r} failed: {exc}") from exc
        if not isinstance(out, pd.DataFrame) or len(out) != len(bars):
            raise PluginError(
                f"indicator {name!r} must return a DataFrame with one row per bar "
                f"({len(bars)}), got {type(out).__name__} of length {len(out)}"
            )
        out = out.set_axis(bars.index, axis=0)
        names = [c if str(c).startswith(name) else f"{name}_{c}" for c in out.columns]
        return out.set_axis(names, axis=1).astype(np.float64)

    def raw_features(self, bars: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
        """Every feature column on every bar (NaN where not yet known), before any row is dropped.

        ``bars`` are validated bars of ``config.base_timeframe``.
        """
        unknown = [n for n in config.indicator_tfs if n not in self._compute]
        if unknown:
            raise ConfigError(
                [
                    Problem(
                        f"indicator_tfs.{n}",
                        "no such indicator is loaded",
                        f"use one of: {', '.join(sorted(self._compute))}",
                    )
                    for n in unknown
                ]
            )
        base_tf = config.base_timeframe
        parts = [return_lags(bars["close"])]
        for name in sorted(config.indicator_tfs):
            for tf in config.indicator_tfs[name]:
                if tf == base_tf:
                    values = self._indicator(name, bars)
                else:
                    htf_bars = resample_bars(bars, tf, source_tf=base_tf)
                    htf_values = self._indicator(name, htf_bars)
                    values = align_higher_timeframe(htf_values, tf, bars.index, base_tf)
                parts.append(values.add_suffix(f"_{tf}"))
        rv_window = int(config.preprocessing["rv_window"])
        for group in sorted(g for g, on in config.additional_features.items() if on):
            parts.append(GROUPS[group][0](bars, rv_window))
        frame = pd.concat(parts, axis=1).astype(np.float64)
        return frame.replace([np.inf, -np.inf], np.nan)

    def prepare(self, bars: pd.DataFrame, config: ModelConfig) -> PreparedData:
        """Features, targets, the purged split and train-only scaling (see the module doc).

        The last ``horizon`` rows of the test segment have (partly) NaN targets: their future is
        not in the data. They stay in ``features`` (forecasts there are still wanted); the inner
        loop ignores NaN returns.
        """
        bars = validate_bars(bars, subject=f"{config.symbol} {config.base_timeframe} bars")
        warm = self.warmup_for(config)
        check_enough_bars(len(bars), config, warmup=warm)
        raw = self.raw_features(bars, config)
        rows = raw.iloc[warm:]
        _check_coverage(rows, float(config.preprocessing["min_coverage"]))
        filled = rows.ffill()
        keep = filled.notna().all(axis=1).to_numpy()
        filled = filled[keep]
        positions = np.flatnonzero(keep) + warm
        check_enough_bars(len(filled), config, warmup=0)
        targets = prep.forward_log_returns(bars["close"].to_numpy(np.float64), config.horizon)
        train, validation, test = prep.purged_split(
            len(filled),
            config.horizon,
            float(config.preprocessing["train_fraction"]),
            float(config.preprocessing["validation_fraction"]),
        )
        values = filled.to_numpy(dtype=np.float64)
        scaled = prep.scale(values, train, str(config.preprocessing["scaling"]))
        return PreparedData(
            index=pd.DatetimeIndex(filled.index),
            features=np.ascontiguousarray(scaled),
            feature_names=tuple(str(c) for c in filled.columns),
            targets=targets[positions],
            close=bars["close"].to_numpy(np.float64)[positions],
            train=train,
            validation=validation,
            test=test,
            horizon=config.horizon,
            seed=config.seed,
        )


def _check_coverage(rows: pd.DataFrame, min_coverage: float) -> None:
    """DataError when the share of known feature cells after warm-up is below ``min_coverage``."""
    if rows.size == 0:
        return
    known = rows.notna().to_numpy()
    coverage = float(known.mean())
    if coverage >= min_coverage:
        return
    per_column = pd.Series(known.mean(axis=0), index=rows.columns).sort_values()
    worst = ", ".join(f"{name} {share:.0%}" for name, share in per_column.head(3).items())
    raise DataError(
        [
            Problem(
                "preprocessing.min_coverage",
                f"only {coverage:.1%} of feature values are known after warm-up, below "
                f"min_coverage {min_coverage:.0%} (least covered: {worst})",
                "raise warmup_bars or days_history, drop the sparse indicator/timeframe, or "
                "lower min_coverage",
            )
        ]
    )
