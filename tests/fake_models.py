"""Hand-written fakes of the data and model ports: synthetic bars, simple features, a trainer."""

from __future__ import annotations

from typing import Any


class FakeDataSource:
    """Synthetic regime-switching bars (the domain generator), whatever the symbol."""

    def __init__(self, n_bars: int = 3000, seed: int = 7) -> None:
        from regimeforge.domain.synthetic import generate_regime_bars

        self.frame = generate_regime_bars(n_bars, seed).bars
        self.calls: list[tuple[str, str]] = []

    def bars(self, symbol: str, timeframe: str, start: Any = None, end: Any = None) -> Any:
        self.calls.append((symbol, timeframe))
        frame = self.frame
        if end is not None:
            frame = frame[frame.index <= end]
        if start is not None:
            frame = frame[frame.index >= start]
        return frame


class FakeFeatureBuilder:
    """Lagged log returns as features, forward returns as targets, a 60/20/20 purged split."""

    def prepare(self, bars: Any, config: Any) -> Any:
        import numpy as np

        from regimeforge.domain.forecasts import PreparedData

        close = bars["close"].to_numpy(dtype=float)
        r = np.diff(np.log(close), prepend=np.nan)
        lags = np.column_stack([np.roll(r, k) for k in range(1, 6)])
        h = config.horizon
        targets = np.column_stack([np.roll(r, -j) for j in range(1, h + 1)])
        start, n = 10, len(close)
        targets[n - h :, :] = np.nan
        idx = slice(start, n)
        data_n = n - start
        a, b = int(data_n * 0.6), int(data_n * 0.8)
        return PreparedData(
            index=bars.index[idx], features=np.nan_to_num(lags[idx]), feature_names=tuple(
                f"lag{k}" for k in range(1, 6)), targets=targets[idx], close=close[idx],
            train=slice(0, a - h), validation=slice(a, b - h), test=slice(b, data_n), horizon=h,
        )  # fmt: skip


class FakeModel:
    """K linear members with fixed weights; forecasts differ per prediction method."""

    def __init__(self, weights: Any, seed: int) -> None:
        self.weights = weights
        self.seed = seed
        self.feature_count = int(weights.shape[1])
        self.training_metrics = {"val_mse": 0.5}

    def forecast(self, features: Any, method: str, params: Any = None) -> Any:
        import numpy as np

        from regimeforge.domain.forecasts import MemberForecasts

        scale = {"direct": 1.0, "recursive": 0.8, "direct_multi": 1.2}[method]
        values = scale * (self.weights @ features.T)
        k = values.shape[0]
        return MemberForecasts(values, np.linspace(1.0, 2.0, k), np.full(k, 1.0 / k), 0.0)

    def to_bytes(self) -> bytes:
        return self.weights.tobytes() + self.seed.to_bytes(4, "little")


class FakeTrainer:
    """Deterministic "training": member weights from the config seed (no fitting at all)."""

    name = "fake"

    def __init__(self) -> None:
        self.fits = 0

    def fit(self, data: Any, config: Any) -> FakeModel:
        import numpy as np

        self.fits += 1
        rng = np.random.default_rng(config.seed + config.horizon)
        return FakeModel(rng.normal(0.0, 0.1, (3, data.features.shape[1])), config.seed)

    def load(self, payload: bytes) -> FakeModel:
        raise NotImplementedError("the fake trainer's models are never loaded back")
