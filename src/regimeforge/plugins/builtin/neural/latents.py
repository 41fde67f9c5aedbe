"""Encoder ``latents``: reuse the fitted encoder of a previously trained, stored model.

``encoder_params`` name the source: ``run_id`` (a run's uuid) or ``artifact_hash`` (the SHA-256
of its model file), exactly one. The encoder cannot read storage itself (plugins never import
adapters), so the source reaches it through :meth:`LatentsEncoder.attach_source`:

1. the outer loop's task factory resolves the reference to the run's model file (name and
   recorded SHA-256, ``adapters/encoder_sources.py``) and puts it in the worker's spec;
2. the worker opens the file through the artifact store (verified against its SHA-256) and
   passes the bytes to ``build_trainer(..., encoder_source=payload)``;
3. ``CompositeTrainer.fit`` hands them to ``attach_source`` before ``fit``.

``attach_source`` rebuilds the stored model's encoder from its parts (``none``, ``pca``,
``autoencoder``, ``vae`` or another ``latents``; a pickled third-party encoder is refused). It is
not refitted: ``fit`` only checks that the new config builds the same feature columns.
``state_parts`` bundle a copy of the source encoder's parts under ``source/`` plus
``latents.json`` (what it came from), so the new model file stands alone and still loads after
the source model's file is deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from regimeforge.domain.errors import ArtifactIntegrityError, ConfigError, DataError, Problem
from regimeforge.domain.ports import Encoder
from regimeforge.plugins.builtin.models import serialization as ser

PARAMS: Final[Mapping[str, Any]] = MappingProxyType({"run_id": "", "artifact_hash": ""})
SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
STATE: Final = "latents.json"
#: The model file format (``models.composite``) whose encoder parts ``attach_source`` reads.
MODEL_FORMAT: Final = ("regimeforge-model", 1)


def reference(params: Mapping[str, Any]) -> tuple[str, str]:
    """``("run_id", uuid)`` or ``("artifact_hash", sha256)``; ConfigError unless exactly one."""
    run_id = str(params.get("run_id") or "").strip()
    digest = str(params.get("artifact_hash") or "").strip().lower()
    if bool(run_id) == bool(digest):
        raise ConfigError(
            [
                Problem(
                    "encoder_params.run_id",
                    "latents needs exactly one of run_id or artifact_hash",
                    "set run_id to a completed run's uuid (regimeforge runs list) or "
                    "artifact_hash to its model file's SHA-256",
                )
            ]
        )
    if digest and not SHA256.match(digest):
        raise ConfigError(
            [
                Problem(
                    "encoder_params.artifact_hash",
                    f"{digest!r} is not a SHA-256",
                    "use the 64 hex digits of the model file's hash",
                )
            ]
        )
    return ("run_id", run_id) if run_id else ("artifact_hash", digest)


def _factories() -> dict[str, Callable[[Mapping[str, Any], int], Encoder]]:
    from regimeforge.plugins.builtin.encoders import make_identity, make_pca
    from regimeforge.plugins.builtin.neural.encoders import make_autoencoder, make_vae

    return {
        "none": make_identity,
        "pca": make_pca,
        "autoencoder": make_autoencoder,
        "vae": make_vae,
        "latents": make_latents,
    }


def rebuild(name: str, params: Mapping[str, Any], seed: int, parts: Mapping[str, bytes]) -> Any:
    """The fitted encoder ``name`` from its state parts (built-in encoders only)."""
    factories = _factories()
    if name not in factories or "encoder.pkl" in parts:
        raise ConfigError(
            [
                Problem(
                    "encoder_params",
                    f"the stored model's encoder {name!r} cannot be reused",
                    f"latents reuses the encoders {', '.join(factories)}",
                )
            ]
        )
    encoder: Any = factories[name](params, seed)
    encoder.load_state_parts(parts)
    return encoder


class LatentsEncoder:
    """``latents``: the stored encoder of another model (see the module docstring)."""

    def __init__(self, params: Mapping[str, Any], seed: int = 0) -> None:
        self.kind, self.value = reference(params)
        self.seed = seed
        self.source: dict[str, Any] = {}
        self.inner: Any = None

    def attach_source(self, payload: bytes) -> None:
        """Take the encoder of the model file ``payload`` (bytes the store has verified)."""
        digest = hashlib.sha256(payload).hexdigest()
        if self.kind == "artifact_hash" and digest != self.value:
            raise ArtifactIntegrityError(
                f"the source model file has SHA-256 {digest}, not the artifact_hash {self.value}"
            )
        manifest, parts = ser.read_bundle(payload)
        ser.check_format(manifest, *MODEL_FORMAT)
        inner_parts = {
            k[len("encoder/") :]: v for k, v in parts.items() if k.startswith("encoder/")
        }
        name, params = str(manifest["encoder"]), dict(manifest["encoder_params"])
        self.inner = rebuild(name, params, int(manifest["seed"]), inner_parts)
        self.source = {
            "reference": {self.kind: self.value},
            "model_sha256": digest,
            "model_type": manifest.get("model_type"),
            "encoder": name,
            "encoder_params": params,
            "seed": int(manifest["seed"]),
            "feature_names": list(manifest["feature_names"]),
            "encoded_feature_names": list(manifest["encoded_feature_names"]),
        }

    def _require_source(self) -> None:
        if self.inner is None:
            raise ConfigError(
                [
                    Problem(
                        f"encoder_params.{self.kind}",
                        f"latents has not been given the stored model {self.value}",
                        "train it through a queue (the worker resolves the reference) or pass "
                        "encoder_source to build_trainer",
                    )
                ]
            )

    def fit(self, train_features: np.ndarray) -> None:
        """Nothing is refitted: check the rows have as many columns as the source model's."""
        self._require_source()
        width, wanted = train_features.shape[1], len(self.source["feature_names"])
        if width != wanted:
            raise DataError(
                [
                    Problem(
                        "encoder_params",
                        f"the stored encoder takes {wanted} feature columns, this config builds "
                        f"{width}",
                        "use the source run's indicator_tfs and additional_features",
                    )
                ]
            )

    def transform(self, features: np.ndarray) -> np.ndarray:
        """The stored encoder's codes of the rows."""
        self._require_source()
        out: np.ndarray = np.asarray(self.inner.transform(features), dtype=np.float64)
        return out

    def output_names(self, input_names: tuple[str, ...]) -> tuple[str, ...]:
        """The source model's encoded names; DataError when the input columns differ."""
        self._require_source()
        wanted = tuple(self.source["feature_names"])
        if tuple(input_names) != wanted:
            differ = [f"{a}≠{b}" for a, b in zip(input_names, wanted, strict=False) if a != b]
            raise DataError(
                [
                    Problem(
                        "encoder_params",
                        "the stored encoder was fitted on other feature columns "
                        f"({', '.join(differ[:3]) or 'a different count'})",
                        "use the source run's indicator_tfs and additional_features",
                    )
                ]
            )
        return tuple(self.source["encoded_feature_names"])

    def state_parts(self) -> dict[str, bytes]:
        """``latents.json`` (where it came from) and the source encoder's parts under source/."""
        self._require_source()
        parts = {f"source/{k}": v for k, v in self.inner.state_parts().items()}
        parts[STATE] = json.dumps(self.source, sort_keys=True).encode()
        return parts

    def load_state_parts(self, parts: Mapping[str, bytes]) -> None:
        """Rebuild the bundled source encoder (no storage access)."""
        self.source = json.loads(parts[STATE])
        inner = {k[len("source/") :]: v for k, v in parts.items() if k.startswith("source/")}
        self.inner = rebuild(
            str(self.source["encoder"]),
            dict(self.source["encoder_params"]),
            int(self.source["seed"]),
            inner,
        )


def make_latents(params: Mapping[str, Any], seed: int) -> LatentsEncoder:
    """The ``latents`` encoder from ``encoder_params`` (``run_id`` or ``artifact_hash``)."""
    return LatentsEncoder(params, seed)
