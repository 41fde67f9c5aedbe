"""The rule-based regime detector: causal indicators plus the regimes' rules, first match wins.

Indicators (each at bar t uses bars up to t only; ``r`` is the log return close-to-close):

* ``realized_vol``: sample standard deviation of ``r`` over the last ``rv_window`` bars.
* ``signed_return``: sum of ``r`` over the last ``trend_window`` bars (the log move).
* ``trend_strength``: Kaufman's efficiency ratio ``|sum r| / sum |r|`` over the last
  ``trend_window`` bars, in [0, 1]: 1 for a straight line, near ``1/sqrt(n)`` for a random walk.
  (R^2 of a linear fit was tried: driftless random walks often look linear, so it confuses
  ranges with trends; the efficiency ratio does not.)

Bars before every indicator and trailing percentile is defined (the *warm-up*,
``max(rv_window + percentile_window - 1, trend_window)`` bars) are labelled ``""``, as is any bar
that no active regime matches.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import pandas as pd

from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.regimes import RegimeDefinition
from regimeforge.domain.rules import Rule, parse_rule, trailing_percentile

#: Names of the indicators the rule detector offers to rules.
INDICATORS: tuple[str, ...] = ("realized_vol", "signed_return", "trend_strength")


def compute_indicators(
    close: np.ndarray, *, rv_window: int = 20, trend_window: int = 50
) -> dict[str, np.ndarray]:
    """The detector's causal indicators per bar (NaN until their window is full)."""
    close = np.asarray(close, dtype=float)
    log_close = pd.Series(np.log(close))
    returns = log_close.diff()
    realized_vol = returns.rolling(rv_window, min_periods=rv_window).std()
    signed_return = returns.rolling(trend_window, min_periods=trend_window).sum()
    path = returns.abs().rolling(trend_window, min_periods=trend_window).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        # A flat window has no path; call it trendless (0) rather than undefined.
        strength = np.where(path.to_numpy() > 0, signed_return.abs() / path, 0.0)
    strength[np.isnan(signed_return.to_numpy())] = np.nan
    return {
        "realized_vol": realized_vol.to_numpy(dtype=float),
        "signed_return": signed_return.to_numpy(dtype=float),
        "trend_strength": np.clip(strength, 0.0, 1.0),
    }


def parse_definition_rules(regime: RegimeDefinition) -> list[tuple[str, Rule]]:
    """Parse every rule of ``regime``; one ``ConfigError`` names every bad rule and indicator."""
    problems: list[Problem] = []
    parsed: list[tuple[str, Rule]] = []
    if not regime.detection_rules:
        problems.append(Problem(f"{regime.name}", "has no detection rules", "add at least one"))
    for indicator, text in regime.detection_rules.items():
        path = f"{regime.name}.{indicator}"
        if indicator not in INDICATORS:
            problems.append(
                Problem(path, f"unknown indicator {indicator!r}", f"use one of {list(INDICATORS)}")
            )
        try:
            parsed.append((indicator, parse_rule(str(text))))
        except ConfigError as error:
            problems.extend(attrs.evolve(p, path=path) for p in error.problems)
    ConfigError.collect(problems, subject=f"regime {regime.name!r}")
    return parsed


@attrs.frozen
class RuleRegimeDetector:
    """Labels each bar with the first active regime (by priority) whose rules all hold."""

    name = "rules"  # a plain class attribute: the port wants a settable ``name``
    rv_window: int = 20
    trend_window: int = 50
    percentile_window: int = 500

    @property
    def warmup(self) -> int:
        """Number of leading bars labelled ``""`` because some input is not yet defined."""
        return max(self.rv_window + self.percentile_window - 1, self.trend_window)

    def detect(self, bars: pd.DataFrame, regimes: Sequence[RegimeDefinition]) -> np.ndarray:
        """One label per bar (``""`` during warm-up or when nothing matches); causal."""
        active = sorted((r for r in regimes if r.is_active), key=lambda r: (r.priority, r.name))
        parsed = [(regime.name, parse_definition_rules(regime)) for regime in active]
        indicators = compute_indicators(
            bars["close"].to_numpy(dtype=float),
            rv_window=self.rv_window,
            trend_window=self.trend_window,
        )
        n = len(bars)
        width = max([len(name) for name, _ in parsed] + [1])
        labels = np.full(n, "", dtype=f"<U{width}")
        assigned = np.zeros(n, dtype=bool)
        assigned[: min(self.warmup, n)] = True
        cache: dict[tuple[str, float], np.ndarray] = {}
        for name, rules in parsed:
            mask = ~assigned
            for indicator, rule in rules:
                values = indicators[indicator]

                def percentile(
                    q: float, key: str = indicator, v: np.ndarray = values
                ) -> np.ndarray:
                    # Rules over the same indicator and q share one rolling computation.
                    if (key, q) not in cache:
                        cache[(key, q)] = trailing_percentile(v, q, self.percentile_window)
                    return cache[(key, q)]

                mask &= rule.evaluate(values, self.percentile_window, percentile=percentile)
            labels[mask] = name
            assigned |= mask
        return labels
