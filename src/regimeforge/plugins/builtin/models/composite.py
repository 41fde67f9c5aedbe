"""Encoder + model type = what the orchestrator trains, saves and loads as ONE artifact.

``CompositeTrainer(model_type, encoder)`` fits the encoder on the train rows of the prepared
features, encodes every row, trains the model type on the encoded data, and returns a
``CompositeModel`` whose ``forecast`` takes the raw prepared features. Its ``to_bytes`` is one
bundle (``serialization``): a manifest naming the model type, encoder, feature names and library
versions; the encoder's parts under ``encoder/``; the model type's own bytes as ``model.bin``.

``build_trainer(registry, config)`` is what a worker calls; ``load_model(registry, payload)``
rebuilds any saved model from its manifest (the payload must come from ``ArtifactStore.open``,
which verified its SHA-256).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.errors import ConfigError, DataError, Problem, StorageError
from regimeforge.domain.forecasts import MemberForecasts, PreparedData
from regimeforge.domain.ports import Encoder, TrainedModel
from regimeforge.plugins.builtin.models import serialization as ser
from regimeforge.plugins.descriptors import EncoderDescriptor, ModelTypeDescriptor

FORMAT = "regimeforge-model"
FORMAT_VERSION = 1
_ENCODER_PICKLE = "encoder.pkl"


def _encoder_parts(encoder: Encoder) -> dict[str, bytes]:
    state_parts = getattr(encoder, "state_parts", None)
    if callable(state_parts) and callable(getattr(encoder, "load_state_parts", None)):
        return dict(state_parts())
    return {_ENCODER_PICKLE: ser.pickle_part(encoder)}


@attrs.define(eq=False)
class CompositeModel:
    """A trained model with its fitted encoder (implements the ``TrainedModel`` port)."""

    model_type: str
    encoder_name: str
    encoder_params: dict[str, Any]
    seed: int
    encoder: Encoder
    model: TrainedModel
    feature_names: tuple[str, ...]
    encoded_names: tuple[str, ...]

    @property
    def feature_count(self) -> int:
        """Columns of the raw prepared features the model takes."""
        return len(self.feature_names)

    @property
    def training_metrics(self) -> Mapping[str, float]:
        """The model type's training metrics plus ``encoded_features``."""
        return {**self.model.training_metrics, "encoded_features": float(len(self.encoded_names))}

    def forecast(
        self, features: np.ndarray, method: str, params: Mapping[str, Any] | None = None
    ) -> MemberForecasts:
        """Encode the raw (n, f) rows (non-finite values -> 0) and forecast with the model."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.feature_count:
            raise DataError(
                [
                    Problem(
                        "features",
                        f"the model takes (n, {self.feature_count}) rows, got {x.shape}",
                        "prepare the features with the model's own config",
                    )
                ]
            )
        encoded = self.encoder.transform(np.where(np.isfinite(x), x, 0.0))
        return self.model.forecast(encoded, method, params)

    def to_bytes(self) -> bytes:
        """One bundle: manifest, ``encoder/*`` parts, ``model.bin``."""
        import sklearn

        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_type": self.model_type,
            "encoder": self.encoder_name,
            "encoder_params": self.encoder_params,
            "seed": self.seed,
            "feature_names": list(self.feature_names),
            "encoded_feature_names": list(self.encoded_names),
            "sklearn_version": sklearn.__version__,
            "numpy_version": np.__version__,
        }
        parts = {f"encoder/{k}": v for k, v in _encoder_parts(self.encoder).items()}
        parts["model.bin"] = self.model.to_bytes()
        return ser.write_bundle(manifest, parts)


class CompositeTrainer:
    """The ``ModelTrainer`` the orchestrator uses: an encoder and a model type together."""

    def __init__(
        self,
        model_type: ModelTypeDescriptor,
        encoder: EncoderDescriptor,
        encoder_source: bytes | None = None,
    ) -> None:
        self.model_type = model_type
        self.encoder = encoder
        self.name = model_type.name
        self.encoder_source = encoder_source

    def fit(self, data: PreparedData, config: ModelConfig) -> CompositeModel:
        """Fit the encoder on ``data.features[data.train]``, then the model on encoded rows."""
        params = {**self.encoder.params, **dict(config.encoder_params)}
        encoder = self.encoder.factory(params, config.seed)
        if self.encoder_source is not None:
            # e.g. ``latents``: the stored model whose encoder it reuses (verified bytes)
            attach = getattr(encoder, "attach_source", None)
            if not callable(attach):
                raise ConfigError(
                    [Problem("encoder", f"{self.encoder.name!r} does not reuse a stored model")]
                )
            attach(self.encoder_source)
        raw = np.asarray(data.features, dtype=np.float64)
        raw = np.where(np.isfinite(raw), raw, 0.0)
        encoder.fit(raw[data.train])
        encoded = np.asarray(encoder.transform(raw), dtype=np.float64)
        names = _output_names(encoder, tuple(data.feature_names), encoded.shape[1])
        inner = self.model_type.trainer_factory().fit(
            attrs.evolve(data, features=encoded, feature_names=names), config
        )
        return CompositeModel(
            model_type=self.model_type.name,
            encoder_name=self.encoder.name,
            encoder_params=params,
            seed=config.seed,
            encoder=encoder,
            model=inner,
            feature_names=tuple(data.feature_names),
            encoded_names=names,
        )

    def load(self, payload: bytes) -> CompositeModel:
        """Rebuild from ``CompositeModel.to_bytes()`` (bytes verified by the artifact store)."""
        manifest, parts = ser.read_bundle(payload)
        ser.check_format(manifest, FORMAT, FORMAT_VERSION)
        for key, mine in (("model_type", self.model_type.name), ("encoder", self.encoder.name)):
            if manifest.get(key) != mine:
                raise StorageError(f"the file holds {key} {manifest.get(key)!r}, not {mine!r}")
        state = {k[len("encoder/") :]: v for k, v in parts.items() if k.startswith("encoder/")}
        if _ENCODER_PICKLE in state:
            encoder = ser.unpickle_part(state[_ENCODER_PICKLE])
        else:
            encoder = self.encoder.factory(manifest["encoder_params"], int(manifest["seed"]))
            encoder.load_state_parts(state)  # type: ignore[attr-defined]  # optional method
        return CompositeModel(
            model_type=self.model_type.name,
            encoder_name=self.encoder.name,
            encoder_params=dict(manifest["encoder_params"]),
            seed=int(manifest["seed"]),
            encoder=encoder,
            model=self.model_type.trainer_factory().load(parts["model.bin"]),
            feature_names=tuple(manifest["feature_names"]),
            encoded_names=tuple(manifest["encoded_feature_names"]),
        )


def _output_names(encoder: Encoder, names: tuple[str, ...], width: int) -> tuple[str, ...]:
    output_names = getattr(encoder, "output_names", None)
    out = tuple(output_names(names)) if callable(output_names) else ()
    if len(out) != width:
        out = names if len(names) == width else tuple(f"z{i + 1}" for i in range(width))
    return out


def build_trainer(
    registry: Any, config: ModelConfig, *, encoder_source: bytes | None = None
) -> CompositeTrainer:
    """The trainer of ``config``: its model type and encoder from the plugin registry.

    ``encoder_source`` is the verified model file an encoder such as ``latents`` reuses (passed
    to the encoder's ``attach_source`` before it is fitted; docs/models.md).
    """
    return CompositeTrainer(
        registry.get("model_types", config.model_type),
        registry.get("encoders", config.encoder),
        encoder_source,
    )


def read_manifest(payload: bytes) -> dict[str, Any]:
    """The manifest of a saved model (nothing deserialised but JSON)."""
    manifest, _ = ser.read_bundle(payload)
    ser.check_format(manifest, FORMAT, FORMAT_VERSION)
    return manifest


def load_model(registry: Any, payload: bytes) -> CompositeModel:
    """Any saved model: its model type and encoder named by its manifest, from ``registry``."""
    manifest = read_manifest(payload)
    trainer = CompositeTrainer(
        registry.get("model_types", str(manifest["model_type"])),
        registry.get("encoders", str(manifest["encoder"])),
    )
    return trainer.load(payload)
