"""Every built-in model type learns a planted AR(1) signal and finds nothing in pure noise.

The signal: returns ``r_t = 0.4 r_{t-1} + e_t``, features = lagged returns + noise columns,
horizon 3. On the test segment, for each prediction method, the mean-ensemble forecast must get
the direction of the realised 3-bar return right clearly more than half the time and have a lower
squared error than the zero forecast. On pure noise (phi = 0) with the same pipeline, neither
(a model that "learned" noise would be leaking the future into its features or targets).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models_data import ar1_data, cumulative_truth, model_config
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models.composite import build_trainer
from regimeforge.plugins.manager import get_plugin_manager

MODEL_TYPES = ["ridge", "lasso", "elasticnet", "rf"]
METHODS = ["direct", "recursive", "direct_multi"]


@pytest.fixture(scope="module")
def registry() -> Any:
    return get_plugin_manager(entry_points=False)


@pytest.fixture(scope="module")
def signal() -> PreparedData:
    return ar1_data(3000, phi=0.4, horizon=3, seed=11)


@pytest.fixture(scope="module")
def noise() -> PreparedData:
    return ar1_data(3000, phi=0.0, horizon=3, seed=12)


def scores(registry: Any, data: PreparedData, model_type: str, encoder: str = "none") -> dict:
    config = model_config(registry, model_type, horizon=3, encoder=encoder)
    model = build_trainer(registry, config).fit(data, config)
    truth = cumulative_truth(data, data.test)
    known = np.isfinite(truth)
    out = {}
    for method in METHODS:
        forecast = model.forecast(data.features[data.test], method).values.mean(axis=0)
        f, t = forecast[known], truth[known]
        out[method] = (
            float(np.mean(np.sign(f) == np.sign(t))),
            float(np.mean(np.square(f - t)) / np.mean(np.square(t))),
        )
    return out


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_a_planted_signal_is_learned(registry: Any, signal: PreparedData, model_type: str) -> None:
    for method, (hit_rate, relative_mse) in scores(registry, signal, model_type).items():
        assert hit_rate > 0.55, f"{model_type}/{method}: direction right {hit_rate:.3f}"
        assert relative_mse < 0.95, f"{model_type}/{method}: MSE / zero-MSE {relative_mse:.3f}"


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_pure_noise_is_not_learned(registry: Any, noise: PreparedData, model_type: str) -> None:
    for method, (hit_rate, relative_mse) in scores(registry, noise, model_type).items():
        assert hit_rate < 0.55, f"{model_type}/{method}: direction right {hit_rate:.3f}"
        assert relative_mse > 0.97, f"{model_type}/{method}: MSE / zero-MSE {relative_mse:.3f}"


def test_the_pca_encoder_keeps_the_signal_and_drops_nothing_learnable(
    registry: Any, signal: PreparedData, noise: PreparedData
) -> None:
    for method, (hit_rate, relative_mse) in scores(registry, signal, "ridge", "pca").items():
        assert hit_rate > 0.55 and relative_mse < 0.95, method
    for method, (hit_rate, relative_mse) in scores(registry, noise, "ridge", "pca").items():
        assert hit_rate < 0.55 and relative_mse > 0.97, method


def test_training_metrics_report_validation_skill(registry: Any, signal: PreparedData) -> None:
    config = model_config(registry, "ridge", horizon=3, encoder="pca")
    model = build_trainer(registry, config).fit(signal, config)
    metrics = model.training_metrics
    assert metrics["members"] == 3 and metrics["encoded_features"] <= signal.features.shape[1]
    for method in METHODS:
        assert metrics[f"val_mse_{method}"] < metrics[f"val_mse_zero_{method}"]
        assert metrics[f"val_hit_rate_{method}"] > 0.55
    assert model.feature_count == signal.features.shape[1]
