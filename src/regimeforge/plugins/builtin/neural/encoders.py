"""Encoders ``autoencoder`` and ``vae`` (PyTorch), fitted on the train rows only.

``fit(train_features)`` standardises the rows with their own mean and standard deviation, holds
out the last ``VALIDATION_SHARE`` of them (chronologically) for early stopping, and trains the
network of ``encoder_nets`` with ``common.fit_loop``, seeded with the config's seed.
``transform`` gives the latent codes (the VAE's posterior mean). The state travels in the model
artifact as three parts: ``<kind>.json`` (sizes, the weights' SHA-256), ``<kind>.npz`` (the
standardisation) and ``<kind>.pt`` (the state dict, loaded with ``weights_only=True`` once its
SHA-256 matches).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from regimeforge.domain.errors import ConfigError, Problem, StorageError
from regimeforge.plugins.builtin.models.serialization import arrays_part, load_arrays
from regimeforge.plugins.builtin.neural import common

#: Share of the train rows (the most recent ones) that early stopping watches.
VALIDATION_SHARE: Final = 0.2
MIN_VALIDATION_ROWS: Final = 16
AUTOENCODER_PARAMS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "latent_dim": 8,
        "hidden": 32,
        "epochs": 60,
        "patience": 6,
        "batch_size": 256,
        "learning_rate": 0.002,
    }
)
VAE_PARAMS: Final[Mapping[str, Any]] = MappingProxyType({**AUTOENCODER_PARAMS, "beta": 1.0})
_INTS: Final = {"latent_dim": (1, 4096), "hidden": (1, 4096), "epochs": (1, 100_000),
                "patience": (1, 100_000), "batch_size": (1, 1_000_000)}  # fmt: skip
_FLOATS: Final = {"learning_rate": (1e-7, 10.0), "beta": (0.0, 1000.0)}


def check_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over the defaults of ``kind``, as ints and floats; ConfigError naming each."""
    defaults = VAE_PARAMS if kind == "vae" else AUTOENCODER_PARAMS
    merged = {**defaults, **{k: v for k, v in params.items() if k in defaults}}
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for key, value in merged.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in _INTS:
            lo, hi = _INTS[key]
            if number and float(value).is_integer() and lo <= value <= hi:
                out[key] = int(value)
                continue
            problems.append(Problem(f"encoder_params.{key}", f"{value!r}", f"use {lo}..{hi}"))
        else:
            low, high = _FLOATS[key]
            if number and low <= value <= high:
                out[key] = float(value)
                continue
            problems.append(Problem(f"encoder_params.{key}", f"{value!r}", f"use {low}..{high}"))
    ConfigError.collect(problems, subject=f"{kind} encoder")
    return out


class TorchEncoder:
    """``autoencoder`` or ``vae`` (``kind``): see the module docstring."""

    def __init__(self, kind: str, params: Mapping[str, Any], seed: int = 0) -> None:
        self.kind = kind
        self.params = check_params(kind, params)
        self.seed = int(seed)
        self.spec: dict[str, Any] = {}
        self.mean = np.zeros(0)
        self.std = np.ones(0)
        self.net: Any = None

    def fit(self, train_features: np.ndarray) -> None:
        """Train the network on the train rows (the last 20% watched by early stopping)."""
        from regimeforge.plugins.builtin.neural import encoder_nets

        common.require_torch()
        common.set_threads()
        device = common.device_of()
        x = np.asarray(train_features, dtype=np.float64)
        x = x[np.isfinite(x).all(axis=1)]
        if x.shape[0] < 2:
            raise ConfigError(
                [Problem("encoder", f"{self.kind} needs at least 2 train rows, got {x.shape[0]}")]
            )
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0)
        z = (x - self.mean) / self.std
        p = self.params
        self.spec = {
            "inputs": int(x.shape[1]),
            "latent": max(1, min(p["latent_dim"], int(x.shape[1]))),
            "hidden": p["hidden"],
            "beta": p.get("beta", 1.0),
        }
        n_val = round(z.shape[0] * VALIDATION_SHARE)
        n_val = n_val if n_val >= MIN_VALIDATION_ROWS and z.shape[0] - n_val >= 2 else 0
        cut = z.shape[0] - n_val
        common.seed_everything(self.seed)
        self.net = encoder_nets.build(self.kind, self.spec).to(device)
        common.fit_loop(
            self.net,
            encoder_nets.reconstruction_loss,
            [common.to_tensor(z[:cut], device)],
            [common.to_tensor(z[cut:], device)],
            epochs=p["epochs"],
            batch_size=p["batch_size"],
            learning_rate=p["learning_rate"],
            patience=p["patience"],
            seed=self.seed,
        )
        self.net.eval()

    def transform(self, features: np.ndarray) -> np.ndarray:
        """(n, latent) codes of the rows (the VAE's posterior mean), float64."""
        import torch

        if self.net is None:
            raise StorageError(f"the {self.kind} encoder is used before it was fitted or loaded")
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.std
        device = next(self.net.parameters()).device
        with torch.no_grad():
            codes = self.net.encode(common.to_tensor(z, device))
        out: np.ndarray = codes.double().cpu().numpy()
        return out

    def output_names(self, input_names: tuple[str, ...]) -> tuple[str, ...]:
        """``ae1``, ``ae2``, ... or ``vae1``, ``vae2``, ..."""
        prefix = "vae" if self.kind == "vae" else "ae"
        return tuple(f"{prefix}{i + 1}" for i in range(int(self.spec.get("latent", 0))))

    def state_parts(self) -> dict[str, bytes]:
        """Sizes and hash (JSON), standardisation (npz) and weights (torch.save), no pickle."""
        weights, sha256 = common.state_dict_to_bytes(self.net.state_dict())
        meta = {"kind": self.kind, "spec": self.spec, "weights_sha256": sha256}
        return {
            f"{self.kind}.json": json.dumps(meta, sort_keys=True).encode(),
            f"{self.kind}.npz": arrays_part(mean=self.mean, std=self.std),
            f"{self.kind}.pt": weights,
        }

    def load_state_parts(self, parts: Mapping[str, bytes]) -> None:
        """Restore :meth:`state_parts`; weights whose SHA-256 differs are refused."""
        from regimeforge.plugins.builtin.neural import encoder_nets

        common.require_torch()
        try:
            meta = json.loads(parts[f"{self.kind}.json"])
            arrays = load_arrays(parts[f"{self.kind}.npz"])
            weights = parts[f"{self.kind}.pt"]
        except (KeyError, ValueError) as exc:
            raise StorageError(f"the {self.kind} encoder's state is incomplete: {exc}") from None
        state = common.state_dict_from_bytes(
            weights, str(meta["weights_sha256"]), f"encoder/{self.kind}.pt"
        )
        self.spec = dict(meta["spec"])
        self.mean, self.std = arrays["mean"], arrays["std"]
        net = encoder_nets.build(self.kind, self.spec)
        net.load_state_dict(state)
        self.net = net.to(common.device_of()).eval()


def make_autoencoder(params: Mapping[str, Any], seed: int) -> TorchEncoder:
    """The ``autoencoder`` encoder from ``encoder_params``."""
    return TorchEncoder("autoencoder", params, seed)


def make_vae(params: Mapping[str, Any], seed: int) -> TorchEncoder:
    """The ``vae`` encoder from ``encoder_params``."""
    return TorchEncoder("vae", params, seed)
