"""Prepared data with a planted predictable component, for the model tests and benchmark.

``ar1_data`` builds returns ``r_t = phi r_{t-1} + e_t`` (phi = 0: pure noise), features of lagged
returns (scaled with train statistics) plus pure-noise columns, targets ``targets[t, j-1] =
r_{t+j}`` (NaN past the end) and a train | validation | test split with purge gaps of ``horizon``
rows, as the feature pipeline produces them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.forecasts import PreparedData


def split_rows(n: int, horizon: int, train: float = 0.6, validation: float = 0.2) -> tuple:
    """Chronological train | validation | test slices with purge gaps of ``horizon`` rows."""
    n_train = int(n * train)
    n_val = int(n * validation)
    val_start = n_train + horizon
    test_start = val_start + n_val + horizon
    return slice(0, n_train), slice(val_start, val_start + n_val), slice(test_start, n)


def ar1_data(
    n: int = 3000,
    *,
    phi: float = 0.4,
    horizon: int = 3,
    lags: int = 5,
    noise_features: int = 3,
    seed: int = 0,
    vol: float = 1e-3,
) -> PreparedData:
    """AR(1) returns (``phi = 0``: pure noise) with lagged-return features (see module doc)."""
    rng = np.random.default_rng(seed)
    total = n + lags + horizon
    shocks = rng.normal(0.0, vol, total)
    r = np.empty(total)
    r[0] = shocks[0]
    for t in range(1, total):
        r[t] = phi * r[t - 1] + shocks[t]
    rows = np.arange(lags - 1, lags - 1 + n)  # bar index of each prepared row
    lagged = np.stack([r[rows - i] for i in range(lags)], axis=1)
    noise = rng.normal(size=(n, noise_features))
    features = np.concatenate([lagged, noise], axis=1)
    train, validation, test = split_rows(n, horizon)
    mean, std = features[train].mean(axis=0), features[train].std(axis=0)
    features = (features - mean) / std
    targets = np.full((n, horizon), np.nan)
    for j in range(1, horizon + 1):
        ahead = rows + j
        ok = ahead < total - 1  # the very last bars are "not known yet"
        targets[ok, j - 1] = r[ahead[ok]]
    names = tuple(f"ret_lag{i}" for i in range(lags)) + tuple(
        f"noise{i}" for i in range(noise_features)
    )
    return PreparedData(
        index=pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC"),
        features=features,
        feature_names=names,
        targets=targets,
        close=np.exp(np.cumsum(r[rows])),
        train=train,
        validation=validation,
        test=test,
        horizon=horizon,
        seed=seed,
    )


def model_config(
    registry: Any,
    model_type: str,
    *,
    horizon: int = 3,
    encoder: str = "none",
    members: int = 3,
    seed: int = 0,
    hyperparams: dict[str, Any] | None = None,
    encoder_params: dict[str, Any] | None = None,
) -> ModelConfig:
    """A valid ModelConfig for ``model_type`` (the data itself comes from ``ar1_data``)."""
    return ModelConfig.from_mapping(
        {
            "model_type": model_type,
            "encoder": encoder,
            "symbol": "EUR/USD",
            "base_timeframe": "1h",
            "days_history": 365,
            "horizon": horizon,
            "preprocessing": {"ensemble_members": members},
            "model_hyperparams": hyperparams or {},
            "encoder_params": encoder_params or {},
            "seed": seed,
        },
        registry.catalog(),
    )


def cumulative_truth(data: PreparedData, rows: slice) -> np.ndarray:
    """The realised cumulative return over the horizon of each row (NaN when unknown)."""
    out: np.ndarray = np.sum(data.targets[rows], axis=1)  # NaN propagates: unknown stays NaN
    return out
