"""The ``synthetic`` data source: seeded regime-switching bars whose true regimes are known.

Wraps ``regimeforge.domain.synthetic.generate_regime_bars``; the same ``(bars, seed,
timeframe)`` always gives the same bars, whatever the symbol asked for. ``labels`` holds the
true regime of every generated bar (for detection accuracy and demos).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from regimeforge.adapters.marketdata.frames import window_and_resample
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.synthetic import SyntheticBars, generate_regime_bars
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES


class SyntheticMarketDataSource:
    """``bars`` generated bars of ``timeframe`` from ``start``, seeded (see the module doc)."""

    def __init__(
        self, bars: int, seed: int, timeframe: str = "1h", start: str = "2020-01-01"
    ) -> None:
        problems = []
        if isinstance(bars, bool) or not isinstance(bars, int) or bars < 1:
            problems.append(
                Problem("data.bars", f"{bars!r} is not a positive integer", "e.g. 5000")
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            problems.append(Problem("data.seed", f"{seed!r} is not an integer >= 0", "e.g. 1"))
        if timeframe not in TIMEFRAME_MINUTES:
            known = ", ".join(TIMEFRAME_MINUTES)
            problems.append(Problem("data.timeframe", f"unknown {timeframe!r}", f"use {known}"))
        ConfigError.collect(problems, subject="synthetic data")
        self.n_bars = bars
        self.seed = seed
        self.timeframe = timeframe
        self.start = start
        self._generated: SyntheticBars | None = None

    def generated(self) -> SyntheticBars:
        """The generated bars and labels (made once)."""
        if self._generated is None:
            self._generated = generate_regime_bars(
                self.n_bars, self.seed, timeframe=self.timeframe, start=self.start
            )
        return self._generated

    @property
    def labels(self) -> pd.Series:
        """The true regime of every generated bar (indexed by bar time, named ``regime``)."""
        gen = self.generated()
        return pd.Series(gen.labels, index=gen.bars.index, name="regime")

    def bars(
        self,
        symbol: str,
        timeframe: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """The generated bars at ``timeframe`` (resampled when coarser) in ``[start, end]``."""
        return window_and_resample(self.generated().bars, self.timeframe, timeframe, start, end)
