"""Encoders ``autoencoder``, ``vae`` and ``latents``: train rows only, seeded, saved safely, reused.

``latents`` is tested with real stored artifacts: a model file written to a
``FilesystemArtifactStore`` and referenced by its hash, and (slow) a run of a workspace queue
referenced by its run id, resolved by the outer loop and opened by the worker.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from models_data import ar1_data, cumulative_truth, model_config
from regimeforge.adapters.artifacts import FilesystemArtifactStore
from regimeforge.domain.errors import ArtifactIntegrityError, ConfigError, DataError
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models import serialization as ser
from regimeforge.plugins.builtin.models.composite import build_trainer, load_model
from regimeforge.plugins.manager import get_plugin_manager

torch = pytest.importorskip("torch", reason="neural encoders need the torch extra")
pytestmark = pytest.mark.torch

ENCODERS = ["autoencoder", "vae"]
SMALL = {"epochs": 20, "latent_dim": 4}


@pytest.fixture(scope="module")
def registry() -> Any:
    return get_plugin_manager(entry_points=False)


@pytest.fixture(scope="module")
def signal() -> PreparedData:
    return ar1_data(2500, phi=0.4, horizon=3, seed=21)


def fit(registry: Any, data: PreparedData, encoder: str, seed: int = 0, **params: Any) -> Any:
    config = model_config(
        registry, "ridge", encoder=encoder, seed=seed, encoder_params={**SMALL, **params}
    )
    return build_trainer(registry, config).fit(data, config)


def weights(model: Any) -> dict[str, Any]:
    return {k: v.clone() for k, v in model.encoder.net.state_dict().items()}


@pytest.mark.parametrize("encoder", ENCODERS)
def test_encoders_are_fitted_on_the_train_rows_only(
    registry: Any, signal: PreparedData, encoder: str
) -> None:
    features = signal.features.copy()
    after_train = np.arange(signal.train.stop, signal.n_bars)
    features[after_train] = np.random.default_rng(1).normal(5.0, 3.0, (after_train.size, 8))
    changed = attrs.evolve(signal, features=features)
    a, b = fit(registry, signal, encoder), fit(registry, changed, encoder)
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    train = signal.features[signal.train]
    assert np.array_equal(a.encoder.transform(train), b.encoder.transform(train))
    assert a.encoded_names == tuple(
        f"{'vae' if encoder == 'vae' else 'ae'}{i}" for i in range(1, 5)
    )


@pytest.mark.parametrize("encoder", ENCODERS)
def test_the_same_seed_gives_the_same_codes(
    registry: Any, signal: PreparedData, encoder: str
) -> None:
    rows = signal.features[signal.test]
    one, two = fit(registry, signal, encoder, seed=5), fit(registry, signal, encoder, seed=5)
    other = fit(registry, signal, encoder, seed=6)
    assert np.array_equal(one.encoder.transform(rows), two.encoder.transform(rows))
    assert not np.array_equal(one.encoder.transform(rows), other.encoder.transform(rows))


@pytest.mark.parametrize("encoder", ENCODERS)
def test_the_state_round_trips_without_pickle(
    registry: Any, signal: PreparedData, encoder: str
) -> None:
    model = fit(registry, signal, encoder)
    parts = model.encoder.state_parts()
    assert sorted(parts) == [f"{encoder}.json", f"{encoder}.npz", f"{encoder}.pt"]
    fresh = registry.get("encoders", encoder).factory(model.encoder_params, 0)
    fresh.load_state_parts(parts)
    rows = signal.features
    assert np.array_equal(fresh.transform(rows), model.encoder.transform(rows))
    loaded = load_model(registry, model.to_bytes())
    for method in ("direct", "recursive"):
        assert np.array_equal(
            loaded.forecast(rows, method).values, model.forecast(rows, method).values
        )


def test_a_tampered_encoder_weight_file_is_refused(registry: Any, signal: PreparedData) -> None:
    model = fit(registry, signal, "autoencoder")
    manifest, parts = ser.read_bundle(model.to_bytes())
    state = torch.load(io.BytesIO(parts["encoder/autoencoder.pt"]), weights_only=True)
    first = next(iter(state))
    state[first] = torch.zeros_like(state[first])
    buffer = io.BytesIO()
    torch.save(state, buffer)
    tampered = ser.write_bundle(manifest, {**parts, "encoder/autoencoder.pt": buffer.getvalue()})
    with pytest.raises(ArtifactIntegrityError, match=r"encoder/autoencoder\.pt"):
        load_model(registry, tampered)


def test_the_vae_code_is_the_deterministic_posterior_mean(
    registry: Any, signal: PreparedData
) -> None:
    encoder = fit(registry, signal, "vae").encoder
    rows = signal.features[:200]
    codes = encoder.transform(rows)
    assert np.array_equal(codes, encoder.transform(rows))
    z = torch.as_tensor(((rows - encoder.mean) / encoder.std).astype(np.float32))
    with torch.no_grad():
        mean = encoder.net.mean(encoder.net.trunk(z)).double().numpy()
    assert np.array_equal(codes, mean)


def test_the_codes_keep_a_learnable_signal(registry: Any, signal: PreparedData) -> None:
    model = fit(registry, signal, "autoencoder", latent_dim=8, epochs=60)
    truth = cumulative_truth(signal, signal.test)
    known = np.isfinite(truth)
    forecast = model.forecast(signal.features[signal.test], "direct").values.mean(axis=0)
    f, t = forecast[known], truth[known]
    assert np.mean(np.sign(f) == np.sign(t)) > 0.55
    assert np.mean(np.square(f - t)) < 0.95 * np.mean(np.square(t))


def test_bad_encoder_params_are_refused_with_their_names(
    registry: Any, signal: PreparedData
) -> None:
    with pytest.raises(ConfigError, match=r"encoder_params\.latent_dim"):
        fit(registry, signal, "vae", latent_dim=0)


# --- latents --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored(registry: Any, signal: PreparedData, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A ridge + autoencoder model written to a real artifact store: (store, info, model)."""
    store = FilesystemArtifactStore(tmp_path_factory.mktemp("artifacts"))
    model = fit(registry, signal, "autoencoder")
    return store, store.put(model.to_bytes(), suffix=".model"), model


def latents_config(registry: Any, model_type: str = "ridge", **params: Any) -> Any:
    return model_config(registry, model_type, encoder="latents", encoder_params=params)


def test_latents_reuses_a_stored_encoder_without_refitting_it(
    registry: Any, signal: PreparedData, stored: Any
) -> None:
    store, info, source = stored
    config = latents_config(registry, "lightning", artifact_hash=info.sha256)
    payload = store.open(info.name, info.sha256)
    model = build_trainer(registry, config, encoder_source=payload).fit(signal, config)
    rows = signal.features
    assert np.array_equal(model.encoder.transform(rows), source.encoder.transform(rows))
    assert model.encoded_names == source.encoded_names
    assert model.encoder.source["model_sha256"] == info.sha256
    saved = model.to_bytes()
    store.delete(info.name)  # the new model carries its own copy of the encoder
    loaded = load_model(registry, saved)
    for method in ("direct", "direct_multi"):
        assert np.array_equal(
            loaded.forecast(rows, method).values, model.forecast(rows, method).values
        )


def test_latents_refuses_what_it_cannot_reuse(
    registry: Any, signal: PreparedData, stored: Any
) -> None:
    store, info, _ = stored
    payload = store.open(info.name, info.sha256) if store.exists(info.name) else None
    source = payload or fit(registry, signal, "autoencoder").to_bytes()
    with pytest.raises(ConfigError, match="exactly one of run_id or artifact_hash"):
        build_trainer(registry, latents_config(registry)).fit(signal, latents_config(registry))
    unattached = latents_config(registry, run_id="0" * 32)
    with pytest.raises(ConfigError, match="has not been given the stored model"):
        build_trainer(registry, unattached).fit(signal, unattached)
    wrong_hash = latents_config(registry, artifact_hash="a" * 64)
    with pytest.raises(ArtifactIntegrityError, match="not the artifact_hash"):
        build_trainer(registry, wrong_hash, encoder_source=source).fit(signal, wrong_hash)
    fewer = attrs.evolve(
        signal, features=signal.features[:, :6], feature_names=signal.feature_names[:6]
    )
    by_run = latents_config(registry, run_id="some-run")
    with pytest.raises(DataError, match="feature columns"):
        build_trainer(registry, by_run, encoder_source=source).fit(fewer, by_run)
    renamed = attrs.evolve(signal, feature_names=("other", *signal.feature_names[1:]))
    with pytest.raises(DataError, match="other feature columns"):
        build_trainer(registry, by_run, encoder_source=source).fit(renamed, by_run)


GRID: dict[str, Any] = {
    "data": {"source": "synthetic", "bars": 3000, "seed": 4},
    "grid": {
        "model_type": ["ridge"],
        "symbol": ["EUR/USD"],
        "base_timeframe": ["1h"],
        "days_history": [120],
        "horizon": [3],
        "preprocessing": {"ensemble_members": 2},
    },
    "inference_grid": {
        "prediction_method": ["direct"],
        "ensemble_method": ["mean"],
        "confidence_threshold": [0.0],
        "lookback_window": [50],
    },
}


@pytest.mark.slow
def test_a_queue_trains_latents_from_a_run_id(tmp_path: Path) -> None:
    import regimeforge as rf
    from regimeforge.domain.states import RunStatus

    rf.init_workspace(tmp_path / "ws", load_entry_points=False).close()
    ws = rf.open_workspace(  # keep every model file: the source must outlive its ranking
        tmp_path / "ws",
        settings_overrides={"delete_non_best_models": False},
        load_entry_points=False,
    )
    try:
        first = {**GRID, "name": "source"}
        small = {"autoencoder": {"epochs": 10, "latent_dim": 4}}
        first["grid"] = {**GRID["grid"], "encoder": ["autoencoder"], "encoder_params": small}
        rf.run_grid(ws, first)
        with ws.uow() as uow:
            (source,) = uow.runs.list()
        assert source.status is RunStatus.COMPLETED, source.error_message
        second = {**GRID, "name": "reuse"}
        second["grid"] = {
            **GRID["grid"],
            "model_type": ["lightning"],
            "encoder": ["latents"],
            "model_hyperparams": {"lightning": {"epochs": 5}},
            "encoder_params": {"latents": {"run_id": source.run_uuid}},
        }
        rf.run_grid(ws, second)
        with ws.uow() as uow:
            runs = {r.config.model_type: r for r in uow.runs.list()}
        reused = runs["lightning"]
        assert reused.status is RunStatus.COMPLETED, reused.error_message
        payload = ws.artifacts.open(reused.model_file_path, reused.model_file_sha256)
        model = load_model(ws.registry, payload)
        original = load_model(
            ws.registry, ws.artifacts.open(source.model_file_path, source.model_file_sha256)
        )
        rows = np.random.default_rng(0).normal(size=(50, original.feature_count))
        assert np.array_equal(model.encoder.transform(rows), original.encoder.transform(rows))
        assert model.encoder.source["reference"] == {"run_id": source.run_uuid}
    finally:
        ws.close()
