"""Same seed and data -> identical predictions; save -> store -> load -> identical predictions;
a tampered artifact is refused before anything is deserialised."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models_data import ar1_data, model_config
from regimeforge.adapters.artifacts import FilesystemArtifactStore
from regimeforge.domain.errors import ArtifactIntegrityError, DataError, StorageError
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models import serialization
from regimeforge.plugins.builtin.models.composite import (
    CompositeTrainer,
    build_trainer,
    load_model,
    read_manifest,
)
from regimeforge.plugins.manager import get_plugin_manager

METHODS = ["direct", "recursive", "direct_multi"]
CASES = [("ridge", "none"), ("lasso", "pca"), ("elasticnet", "none"), ("rf", "pca")]


@pytest.fixture(scope="module")
def registry() -> Any:
    return get_plugin_manager(entry_points=False)


@pytest.fixture(scope="module")
def data() -> PreparedData:
    return ar1_data(1500, phi=0.3, horizon=4, seed=5)


def forecasts(model: Any, data: PreparedData) -> dict[str, Any]:
    return {m: model.forecast(data.features[data.test], m) for m in METHODS}


def assert_identical(a: dict[str, Any], b: dict[str, Any]) -> None:
    for method in METHODS:
        x, y = a[method], b[method]
        assert np.array_equal(x.values, y.values), method
        assert np.array_equal(x.val_errors, y.val_errors, equal_nan=True), method
        assert np.array_equal(x.stack_coef, y.stack_coef), method
        assert x.stack_intercept == y.stack_intercept, method
        assert (x.spread is None) == (y.spread is None), method
        if x.spread is not None:
            assert np.array_equal(x.spread, y.spread), method


@pytest.mark.parametrize(("model_type", "encoder"), CASES)
def test_same_seed_same_data_gives_identical_predictions(
    registry: Any, data: PreparedData, model_type: str, encoder: str
) -> None:
    config = model_config(registry, model_type, horizon=4, encoder=encoder, seed=3)
    first = build_trainer(registry, config).fit(data, config)
    second = build_trainer(registry, config).fit(data, config)
    assert_identical(forecasts(first, data), forecasts(second, data))
    assert first.training_metrics == second.training_metrics


def test_another_seed_gives_another_forest(registry: Any, data: PreparedData) -> None:
    a = model_config(registry, "rf", horizon=4, seed=1)
    b = model_config(registry, "rf", horizon=4, seed=2)
    fa = build_trainer(registry, a).fit(data, a).forecast(data.features[data.test], "direct")
    fb = build_trainer(registry, b).fit(data, b).forecast(data.features[data.test], "direct")
    assert not np.array_equal(fa.values, fb.values)


@pytest.mark.parametrize(("model_type", "encoder"), CASES)
def test_save_store_load_gives_identical_predictions(
    registry: Any, data: PreparedData, model_type: str, encoder: str, tmp_path: Path
) -> None:
    config = model_config(registry, model_type, horizon=4, encoder=encoder)
    model = build_trainer(registry, config).fit(data, config)
    store = FilesystemArtifactStore(tmp_path, compress=model_type == "rf")
    info = store.put(model.to_bytes(), suffix=".model")
    fresh = FilesystemArtifactStore(tmp_path)  # nothing cached: read from disk
    loaded = load_model(registry, fresh.open(info.name, info.sha256))
    assert_identical(forecasts(model, data), forecasts(loaded, data))
    assert loaded.training_metrics == model.training_metrics
    assert loaded.feature_count == model.feature_count
    again = build_trainer(registry, config).load(loaded.to_bytes())
    assert_identical(forecasts(model, data), forecasts(again, data))


def test_manifest_says_what_the_file_is(registry: Any, data: PreparedData) -> None:
    config = model_config(registry, "ridge", horizon=4, encoder="pca")
    manifest = read_manifest(build_trainer(registry, config).fit(data, config).to_bytes())
    assert manifest["format"] == "regimeforge-model" and manifest["format_version"] == 1
    assert manifest["model_type"] == "ridge" and manifest["encoder"] == "pca"
    assert manifest["feature_names"] == list(data.feature_names)
    assert manifest["encoded_feature_names"][0] == "pc1" and "sklearn_version" in manifest


def test_a_tampered_artifact_is_refused_before_deserialisation(
    registry: Any, data: PreparedData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = model_config(registry, "rf", horizon=4)
    model = build_trainer(registry, config).fit(data, config)
    store = FilesystemArtifactStore(tmp_path)
    info = store.put(model.to_bytes(), suffix=".model")
    path = tmp_path / info.name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit inside a pickled forest
    path.write_bytes(bytes(raw))
    unpickled: list[bytes] = []
    monkeypatch.setattr(serialization, "unpickle_part", unpickled.append)
    with pytest.raises(ArtifactIntegrityError):
        load_model(registry, FilesystemArtifactStore(tmp_path).open(info.name, info.sha256))
    assert unpickled == []


def test_a_file_of_another_kind_is_refused(registry: Any, data: PreparedData) -> None:
    config = model_config(registry, "ridge", horizon=4)
    payload = build_trainer(registry, config).fit(data, config).to_bytes()
    with pytest.raises(StorageError, match="not a RegimeForge model file"):
        load_model(registry, b"just some bytes")
    other = CompositeTrainer(registry.model_types["lasso"], registry.encoders["none"])
    with pytest.raises(StorageError, match="holds model_type 'ridge'"):
        other.load(payload)
    wrong_version = serialization.write_bundle({"format": "regimeforge-model"}, {})
    with pytest.raises(StorageError, match="version"):
        load_model(registry, wrong_version)


def test_features_of_the_wrong_width_are_a_data_error(registry: Any, data: PreparedData) -> None:
    config = model_config(registry, "ridge", horizon=4)
    model = build_trainer(registry, config).fit(data, config)
    with pytest.raises(DataError, match="rows"):
        model.forecast(data.features[:, :3], "direct")
