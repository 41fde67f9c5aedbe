"""``diffusion-ddpm``, ``diffusion-ddim`` and ``sssd`` learn a planted signal and nothing in noise;
sampling is seeded, saved weights are checked, DDIM needs fewer denoiser calls than DDPM, and the
sample-based confidence rises with the signal.

Data and thresholds as in test_models_learn.py (AR(1) returns ``r_t = 0.4 r_{t-1} + e_t``, lagged
returns ``ret_lag0..4`` plus noise columns, horizon 3, 3 members): on the test segment the
mean-ensemble forecast of every prediction method gets the direction right clearly more than half
the time and beats the zero forecast's squared error; on pure noise, neither. Sizes are cut for
speed (DDPM over 50 diffusion steps, ``sssd`` at most 20 epochs); the model code is the same.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from models_data import ar1_data, cumulative_truth, model_config
from regimeforge.domain.confidence import confidence
from regimeforge.domain.ensembles import ensemble
from regimeforge.domain.errors import ArtifactIntegrityError, ConfigError
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models import serialization as ser
from regimeforge.plugins.builtin.models.composite import build_trainer, load_model
from regimeforge.plugins.builtin.neural.diffusion import return_window
from regimeforge.plugins.manager import get_plugin_manager

torch = pytest.importorskip("torch", reason="neural models need the torch extra")

pytestmark = pytest.mark.slow

METHODS = ["direct", "recursive", "direct_multi"]
TYPES = ["diffusion-ddpm", "diffusion-ddim", "sssd"]
#: Smaller than the defaults so that the module runs in a few minutes on 2 shared cores.
FAST: dict[str, dict[str, Any]] = {
    "diffusion-ddpm": {"diffusion_steps": 50},
    "diffusion-ddim": {},
    "sssd": {"epochs": 20},
}
#: Determinism does not need a good model: a few epochs.
QUICK = {"epochs": 3}


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
def small() -> PreparedData:
    return ar1_data(1200, phi=0.4, horizon=3, seed=14)


class Models:
    """Each (type, data, seed) trained once for the whole module."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.cache: dict[tuple[str, int, int], Any] = {}

    def get(self, model_type: str, data: PreparedData, seed: int = 0) -> Any:
        key = (model_type, id(data), seed)
        if key not in self.cache:
            self.cache[key] = self.fit(model_type, data, seed, FAST[model_type])
        return self.cache[key]

    def fit(self, model_type: str, data: PreparedData, seed: int, hyper: dict[str, Any]) -> Any:
        config = model_config(self.registry, model_type, horizon=3, seed=seed, hyperparams=hyper)
        return build_trainer(self.registry, config).fit(data, config)


@pytest.fixture(scope="module")
def models(registry: Any) -> Models:
    return Models(registry)


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


@pytest.mark.parametrize("model_type", TYPES)
def test_a_planted_signal_is_learned(models: Models, signal: PreparedData, model_type: str) -> None:
    model = models.get(model_type, signal)
    for method, (hit_rate, relative_mse) in scores(model, signal).items():
        assert hit_rate > 0.55, f"{model_type}/{method}: direction right {hit_rate:.3f}"
        assert relative_mse < 0.95, f"{model_type}/{method}: MSE / zero-MSE {relative_mse:.3f}"
    metrics = model.training_metrics
    assert metrics["members"] == 3 and 1 <= metrics["best_epoch"] <= metrics["epochs"]
    assert np.isfinite(metrics["val_denoising_loss"])


@pytest.mark.parametrize("model_type", TYPES)
def test_pure_noise_is_not_learned(models: Models, noise: PreparedData, model_type: str) -> None:
    for method, (hit_rate, relative_mse) in scores(models.get(model_type, noise), noise).items():
        assert hit_rate < 0.55, f"{model_type}/{method}: direction right {hit_rate:.3f}"
        assert relative_mse > 0.97, f"{model_type}/{method}: MSE / zero-MSE {relative_mse:.3f}"


@pytest.mark.parametrize("model_type", ["diffusion-ddim", "sssd"])
def test_every_method_has_member_forecasts_and_a_sample_spread(
    models: Models, signal: PreparedData, model_type: str
) -> None:
    model = models.get(model_type, signal)
    rows = signal.features[signal.test]
    forecasts = {m: model.forecast(rows, m) for m in METHODS}
    for member in forecasts.values():
        assert member.values.shape == (3, rows.shape[0]) and np.isfinite(member.values).all()
        assert member.spread is not None and (member.spread > 0).all()
        assert member.val_errors.shape == (3,) and (member.stack_coef >= 0).all()
    assert not np.allclose(forecasts["direct"].values, forecasts["recursive"].values)
    assert not np.allclose(forecasts["direct"].values, forecasts["direct_multi"].values)


@pytest.mark.parametrize("model_type", ["diffusion-ddim", "sssd"])
def test_the_same_seed_gives_the_same_forecasts(
    models: Models, small: PreparedData, model_type: str
) -> None:
    trained = models.fit(model_type, small, 3, QUICK)
    again = models.fit(model_type, small, 3, QUICK)
    rows = small.features[small.test]
    for method in METHODS:
        assert np.array_equal(
            again.forecast(rows, method).values, trained.forecast(rows, method).values
        )
    # stochastic sampling too: DDPM draws noise at every step from the member's seeded generator
    first = trained.forecast(rows, "direct", {"sampler": "ddpm", "sampling_steps": 20})
    second = trained.forecast(rows, "direct", {"sampler": "ddpm", "sampling_steps": 20})
    assert np.array_equal(first.values, second.values)
    other = models.fit(model_type, small, 4, QUICK)
    assert not np.array_equal(other.forecast(rows, "direct").values,
                              trained.forecast(rows, "direct").values)  # fmt: skip


def test_a_bars_forecast_does_not_depend_on_the_rows_after_it(
    models: Models, signal: PreparedData
) -> None:
    model = models.get("diffusion-ddim", signal)
    rows = signal.features[signal.test][:300]
    for method in METHODS:
        params = {"n_samples": 8, "sampler": "ddpm", "sampling_steps": 20}
        whole = model.forecast(rows, method, params)
        prefix = model.forecast(rows[:100], method, params)  # ends inside a block of 64 rows
        np.testing.assert_allclose(prefix.values, whole.values[:, :100], rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("model_type", ["diffusion-ddim", "sssd"])
def test_save_and_load_give_identical_forecasts(
    registry: Any, models: Models, signal: PreparedData, model_type: str
) -> None:
    trained = models.get(model_type, signal)
    payload = trained.to_bytes()
    loaded = load_model(registry, payload)
    rows = signal.features[signal.test][:200]
    for method in METHODS:
        before, after = trained.forecast(rows, method), loaded.forecast(rows, method)
        assert np.array_equal(before.values, after.values)
        assert np.array_equal(before.spread, after.spread)
        assert np.array_equal(before.stack_coef, after.stack_coef)
    assert loaded.training_metrics == pytest.approx(trained.training_metrics)
    _, parts = ser.read_bundle(payload)
    _, inner = ser.read_bundle(parts["model.bin"])
    assert sorted(inner) == ["arrays.npz", "members/000.pt", "members/001.pt", "members/002.pt"]


def _with_part(bundle: bytes, name: str, data: bytes) -> bytes:
    manifest, parts = ser.read_bundle(bundle)
    return ser.write_bundle(manifest, {**parts, name: data})


def test_a_tampered_weight_file_is_refused(
    registry: Any, models: Models, signal: PreparedData
) -> None:
    payload = models.get("sssd", signal).to_bytes()
    _, parts = ser.read_bundle(payload)
    _, inner = ser.read_bundle(parts["model.bin"])
    state = torch.load(io.BytesIO(inner["members/002.pt"]), weights_only=True)
    first = next(iter(state))
    state[first] = state[first] * 1.01  # a well-formed weight file, with other weights
    buffer = io.BytesIO()
    torch.save(state, buffer)
    tampered = _with_part(payload, "model.bin", _with_part(parts["model.bin"], "members/002.pt",
                                                            buffer.getvalue()))  # fmt: skip
    with pytest.raises(ArtifactIntegrityError, match=r"members/002\.pt"):
        load_model(registry, tampered)


def test_ddim_needs_fewer_denoiser_calls_and_agrees_with_ddpm(
    models: Models, signal: PreparedData
) -> None:
    model = models.get("diffusion-ddim", signal).model  # one trained network, two samplers
    rows = signal.features[signal.test]
    calls = {}
    forecasts = {}
    for sampler, steps in (("ddpm", 0), ("ddim", 10)):  # 0: every one of the T = 100 steps
        before = model.denoiser_calls
        params = {"sampler": sampler, "sampling_steps": steps, "n_samples": 24}
        forecasts[sampler] = model.forecast(rows, "direct", params).values.mean(axis=0)
        calls[sampler] = model.denoiser_calls - before
    assert calls["ddpm"] == 10 * calls["ddim"] > 0  # members x steps x batches of rows
    assert np.isfinite(forecasts["ddim"]).all()
    assert np.corrcoef(forecasts["ddpm"], forecasts["ddim"])[0, 1] > 0.7


def test_inference_parameters_change_the_sampling_not_the_network(
    models: Models, signal: PreparedData
) -> None:
    model = models.get("diffusion-ddim", signal)
    rows = signal.features[signal.test][:200]
    few = model.forecast(rows, "direct", {"n_samples": 4})
    many = model.forecast(rows, "direct", {"n_samples": 128})
    # the mean of more samples moves less from one member to the next
    assert np.std(many.values, axis=0).mean() < np.std(few.values, axis=0).mean()
    with pytest.raises(ConfigError, match=r"params\.n_samples"):
        model.forecast(rows, "direct", {"n_samples": 0})
    with pytest.raises(ConfigError, match=r"params\.sampling_steps"):
        model.forecast(rows, "direct", {"sampling_steps": -1})
    with pytest.raises(ConfigError, match=r"params\.sampler"):
        model.forecast(rows, "direct", {"sampler": "euler"})
    # keys other model types read are ignored: one inference grid serves every type
    same = model.forecast(rows, "direct", {"temperature": 2})
    assert np.array_equal(same.values, model.forecast(rows, "direct").values)


def test_sample_confidence_lies_in_0_1_and_rises_with_the_signal(
    models: Models, signal: PreparedData, noise: PreparedData
) -> None:
    strong = ar1_data(3000, phi=0.7, horizon=3, seed=13)
    means = []
    for data in (noise, signal, strong):
        member = models.get("diffusion-ddim", data).forecast(data.features[data.test], "direct")
        forecast, spread = ensemble(member, "mean")
        assert spread is not None
        conf = confidence(forecast, 100, spread)
        assert ((conf >= 0) & (conf <= 1)).all()
        means.append(float(conf.mean()))
    assert means[0] < means[1] < means[2], means


def test_bad_hyperparameters_are_refused_with_their_names(
    registry: Any, signal: PreparedData
) -> None:
    config = model_config(
        registry,
        "sssd",
        hyperparams={"d_model": 0, "schedule": "sigmoid", "epochs": 1.5, "prediction": "x"},
    )
    with pytest.raises(ConfigError) as caught:
        build_trainer(registry, config).fit(signal, config)
    for name in ("d_model", "schedule", "epochs", "prediction"):
        assert f"model_hyperparams.{name}" in str(caught.value)


def test_the_return_window_is_the_lagged_returns_oldest_first() -> None:
    names = ("rsi_1h", "ret_lag_1", "ret_lag_0", "ret_lag_4", "vol20", "ret_lag_2", "ret_lag_3")
    assert return_window(names).tolist() == [3, 6, 5, 1, 2]
    assert return_window(("ret_lag0", "ret_lag1")).tolist() == [1, 0]
    assert return_window(("pc1", "pc2")).size == 0  # after pca: the features alone condition
