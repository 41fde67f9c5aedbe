"""``lightning`` learns a planted AR(1) signal, finds nothing in noise, is seeded and saved safely.

The data and thresholds are those of test_models_learn.py (returns ``r_t = 0.4 r_{t-1} + e_t``,
lagged-return features plus noise columns, horizon 3, 3 members): on the test segment the
mean-ensemble forecast of every prediction method must get the direction right clearly more
than half the time and beat the zero forecast's squared error; on pure noise, neither.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from models_data import ar1_data, cumulative_truth, model_config
from regimeforge.domain.errors import ArtifactIntegrityError, ConfigError
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.models import serialization as ser
from regimeforge.plugins.builtin.models.composite import build_trainer, load_model
from regimeforge.plugins.manager import get_plugin_manager

torch = pytest.importorskip("torch", reason="neural models need the torch extra")

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


@pytest.fixture(scope="module")
def trained(registry: Any, signal: PreparedData) -> Any:
    config = model_config(registry, "lightning", horizon=3, seed=3)
    return build_trainer(registry, config).fit(signal, config)


def scores(model: Any, data: PreparedData) -> dict[str, tuple[float, float]]:
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


def test_a_planted_signal_is_learned(trained: Any, signal: PreparedData) -> None:
    for method, (hit_rate, relative_mse) in scores(trained, signal).items():
        assert hit_rate > 0.55, f"{method}: direction right {hit_rate:.3f}"
        assert relative_mse < 0.95, f"{method}: MSE / zero-MSE {relative_mse:.3f}"
    metrics = trained.training_metrics
    assert metrics["members"] == 3 and 1 <= metrics["best_epoch"] <= metrics["epochs"]
    for method in METHODS:
        assert metrics[f"val_mse_{method}"] < metrics[f"val_mse_zero_{method}"]


def test_pure_noise_is_not_learned(registry: Any, noise: PreparedData) -> None:
    config = model_config(registry, "lightning", horizon=3)
    model = build_trainer(registry, config).fit(noise, config)
    for method, (hit_rate, relative_mse) in scores(model, noise).items():
        assert hit_rate < 0.55, f"{method}: direction right {hit_rate:.3f}"
        assert relative_mse > 0.97, f"{method}: MSE / zero-MSE {relative_mse:.3f}"


def test_the_methods_are_the_heads_of_a_path_model(trained: Any, signal: PreparedData) -> None:
    rows = signal.features[signal.test]
    forecasts = {m: trained.forecast(rows, m) for m in METHODS}
    for member in forecasts.values():
        assert member.values.shape == (3, rows.shape[0]) and np.isfinite(member.values).all()
        assert member.spread is None and member.val_errors.shape == (3,)
        assert (member.stack_coef >= 0).all()
    assert not np.allclose(forecasts["direct"].values, forecasts["recursive"].values)
    assert not np.allclose(forecasts["direct"].values, forecasts["direct_multi"].values)


def test_the_same_seed_gives_the_same_forecasts(
    registry: Any, signal: PreparedData, trained: Any
) -> None:
    config = model_config(registry, "lightning", horizon=3, seed=3)
    again = build_trainer(registry, config).fit(signal, config)
    rows = signal.features[signal.test]
    for method in METHODS:
        assert np.array_equal(
            again.forecast(rows, method).values, trained.forecast(rows, method).values
        )
    other = model_config(registry, "lightning", horizon=3, seed=4)
    different = build_trainer(registry, other).fit(signal, other)
    assert not np.array_equal(different.forecast(rows, "direct").values,
                              trained.forecast(rows, "direct").values)  # fmt: skip


def test_save_and_load_give_identical_forecasts(
    registry: Any, trained: Any, signal: PreparedData
) -> None:
    payload = trained.to_bytes()
    loaded = load_model(registry, payload)
    rows = signal.features
    for method in METHODS:
        before, after = trained.forecast(rows, method), loaded.forecast(rows, method)
        assert np.array_equal(before.values, after.values)
        assert np.array_equal(before.stack_coef, after.stack_coef)
        assert np.array_equal(before.val_errors, after.val_errors, equal_nan=True)
    assert loaded.training_metrics == pytest.approx(trained.training_metrics)
    _, parts = ser.read_bundle(payload)
    _, inner = ser.read_bundle(parts["model.bin"])
    assert sorted(inner) == ["arrays.npz", "members/000.pt", "members/001.pt", "members/002.pt"]
    assert not any(name.endswith(".pkl") for name in inner)  # no pickle anywhere


def _with_part(bundle: bytes, name: str, data: bytes) -> bytes:
    manifest, parts = ser.read_bundle(bundle)
    return ser.write_bundle(manifest, {**parts, name: data})


def test_a_tampered_weight_file_is_refused(registry: Any, trained: Any) -> None:
    payload = trained.to_bytes()
    _, parts = ser.read_bundle(payload)
    _, inner = ser.read_bundle(parts["model.bin"])
    state = torch.load(io.BytesIO(inner["members/001.pt"]), weights_only=True)
    first = next(iter(state))
    state[first] = state[first] + 1.0  # a well-formed weight file, with other weights
    buffer = io.BytesIO()
    torch.save(state, buffer)
    tampered = _with_part(payload, "model.bin", _with_part(parts["model.bin"], "members/001.pt",
                                                            buffer.getvalue()))  # fmt: skip
    with pytest.raises(ArtifactIntegrityError, match=r"members/001\.pt"):
        load_model(registry, tampered)


def test_bad_hyperparameters_are_refused_with_their_names(
    registry: Any, signal: PreparedData
) -> None:
    config = model_config(
        registry, "lightning", hyperparams={"hidden": 0, "dropout": 2.0, "epochs": 1.5}
    )
    with pytest.raises(ConfigError) as caught:
        build_trainer(registry, config).fit(signal, config)
    text = str(caught.value)
    for name in ("hidden", "dropout", "epochs"):
        assert f"model_hyperparams.{name}" in text


def test_a_long_horizon_uses_log_spaced_heads(registry: Any) -> None:
    data = ar1_data(2000, phi=0.4, horizon=24, seed=5)
    config = model_config(registry, "lightning", horizon=24, hyperparams={"epochs": 5})
    model = build_trainer(registry, config).fit(data, config)
    inner = model.model
    assert np.array_equal(inner.steps, heads.head_steps(24)) and inner.steps.size > 3
    for method in METHODS:
        assert np.isfinite(model.forecast(data.features[data.test], method).values).all()
