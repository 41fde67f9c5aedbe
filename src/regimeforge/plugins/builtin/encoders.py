"""Built-in encoders: ``none`` (identity) and ``pca`` (scikit-learn), fitted on train rows only.

An encoder's state travels inside the model artifact. Encoders may implement the optional
methods ``output_names(input_names) -> tuple[str, ...]`` (names of the encoded columns),
``state_parts() -> dict[str, bytes]`` and ``load_state_parts(parts)`` (their fitted state as
artifact parts); the composite trainer pickles encoders that do not (docs/models.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.plugins.builtin.models.serialization import arrays_part, load_arrays
from regimeforge.plugins.descriptors import EncoderDescriptor
from regimeforge.plugins.hookspecs import hookimpl


class IdentityEncoder:
    """``none``: the features as they are."""

    def fit(self, train_features: np.ndarray) -> None:
        """Nothing to learn."""

    def transform(self, features: np.ndarray) -> np.ndarray:
        """The features unchanged (as float64)."""
        return np.asarray(features, dtype=np.float64)

    def output_names(self, input_names: tuple[str, ...]) -> tuple[str, ...]:
        """The input names."""
        return tuple(input_names)

    def state_parts(self) -> dict[str, bytes]:
        """No state."""
        return {}

    def load_state_parts(self, parts: Mapping[str, bytes]) -> None:
        """No state."""


def _n_components(value: Any) -> float | int:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if ok and value < 1:
        return float(value)
    if ok and float(value).is_integer():
        return int(value)
    raise ConfigError(
        [
            Problem(
                "encoder_params.n_components",
                f"must be a fraction of variance in (0, 1) or a whole number of components "
                f">= 1, got {value!r}",
                "use e.g. 0.95 or 8",
            )
        ]
    )


class PcaEncoder:
    """``pca``: principal components of the train rows (``n_components``: a fraction of the
    variance to keep when below 1, else a number of components, capped by the data)."""

    def __init__(self, n_components: float | int = 0.95, seed: int = 0) -> None:
        self.n_components = _n_components(n_components)
        self.seed = seed
        self.mean = np.zeros(0)
        self.components = np.zeros((0, 0))

    def fit(self, train_features: np.ndarray) -> None:
        """Fit scikit-learn's PCA (full SVD: deterministic) on the train rows."""
        from sklearn.decomposition import PCA

        x = np.asarray(train_features, dtype=np.float64)
        x = x[np.isfinite(x).all(axis=1)]
        n = self.n_components
        if isinstance(n, int):
            n = max(1, min(n, x.shape[0], x.shape[1]))
        pca = PCA(n_components=n, svd_solver="full", random_state=self.seed).fit(x)
        self.mean = np.asarray(pca.mean_, dtype=np.float64)
        self.components = np.asarray(pca.components_, dtype=np.float64)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Project on the components (what ``PCA.transform`` does without whitening)."""
        x = np.asarray(features, dtype=np.float64)
        out: np.ndarray = (x - self.mean) @ self.components.T
        return out

    def output_names(self, input_names: tuple[str, ...]) -> tuple[str, ...]:
        """``pc1``, ``pc2``, ..."""
        return tuple(f"pc{i + 1}" for i in range(self.components.shape[0]))

    def state_parts(self) -> dict[str, bytes]:
        """The mean and components as arrays (no pickle)."""
        return {"pca.npz": arrays_part(mean=self.mean, components=self.components)}

    def load_state_parts(self, parts: Mapping[str, bytes]) -> None:
        """Restore what :meth:`state_parts` saved."""
        arrays = load_arrays(parts["pca.npz"])
        self.mean, self.components = arrays["mean"], arrays["components"]


def make_identity(params: Mapping[str, Any], seed: int) -> IdentityEncoder:
    """The ``none`` encoder."""
    return IdentityEncoder()


def make_pca(params: Mapping[str, Any], seed: int) -> PcaEncoder:
    """The ``pca`` encoder from ``encoder_params``."""
    return PcaEncoder(params.get("n_components", 0.95), seed)


@hookimpl
def register_encoders() -> list[EncoderDescriptor]:
    """The built-in encoders ``none`` and ``pca``."""
    return [
        EncoderDescriptor("none", make_identity, {}, "the features as they are"),
        EncoderDescriptor(
            "pca",
            make_pca,
            {"n_components": 0.95},
            "principal components of the train rows (a fraction of variance or a count)",
        ),
    ]
