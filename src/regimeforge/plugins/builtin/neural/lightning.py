"""Model type ``lightning``: a small PyTorch network predicting the forward return path.

Training follows the scikit-learn model types step for step (docs/models.md), with a network in
place of the estimator:

- the fitted steps S of ``heads.head_steps`` (1..H up to 10, else 10 log-spaced steps) and the
  targets ``y_j / σ_j`` (cumulative return to step j over its train standard deviation);
- K members on the walk-forward windows of ``heads.member_windows``, member k seeded with
  ``member_seed(seed, k)``; each member is one :class:`lightning_net.ForecastNet` predicting all
  fitted steps at once, trained with Adam on the mean squared error, early-stopped on the
  validation segment (best epoch restored, ``common.fit_loop``);
- the forecasts of ``direct``, ``direct_multi`` and ``recursive`` are exactly those of the
  scikit-learn types (``SklearnModel``: head H, Σ h_j / j, the one-step head chained through the
  feature transition), and so are the validation errors and the stacking meta-model.

The saved form has no pickle: ``arrays.npz`` plus one ``torch.save`` state dict per member whose
SHA-256 is in the manifest and checked before ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import numpy as np

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.errors import ArtifactIntegrityError, ConfigError, Problem
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.models import serialization as ser
from regimeforge.plugins.builtin.models.sklearn_model import SklearnModel
from regimeforge.plugins.builtin.models.sklearn_models import (
    clean_features,
    finite_rows,
    fit_ensembles,
    member_seed,
)
from regimeforge.plugins.builtin.neural import common
from regimeforge.plugins.descriptors import ModelTypeDescriptor

NAME: Final = "lightning"
FORMAT: Final = "regimeforge-lightning-model"
FORMAT_VERSION: Final = 1

#: Small enough that a grid of them trains in minutes on 2 CPU cores (docs/models.md).
HYPERPARAMS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "hidden": 32,
        "layers": 2,
        "dropout": 0.1,
        "epochs": 60,
        "patience": 6,
        "batch_size": 256,
        "learning_rate": 0.002,
        "weight_decay": 0.0001,
    }
)
_INTS: Final = {"hidden": (1, 4096), "layers": (0, 16), "epochs": (1, 100_000),
                "patience": (1, 100_000), "batch_size": (1, 1_000_000)}  # fmt: skip
_FLOATS: Final = {
    "dropout": (0.0, 0.95),
    "learning_rate": (1e-7, 10.0),
    "weight_decay": (0.0, 10.0),
}


def check_hyperparams(params: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters as ints and floats; ConfigError naming every bad one."""
    problems, out = [], dict(params)
    for key, (lo, hi) in _INTS.items():
        value = params[key]
        whole = isinstance(value, int | float) and not isinstance(value, bool)
        if not whole or not float(value).is_integer() or not lo <= value <= hi:
            problems.append(Problem(f"model_hyperparams.{key}", f"{value!r}", f"use {lo}..{hi}"))
        else:
            out[key] = int(value)
    for key, (low, high) in _FLOATS.items():
        value = params[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            problems.append(Problem(f"model_hyperparams.{key}", f"{value!r}", f"use {low}..{high}"))
        else:
            out[key] = float(value)
    ConfigError.collect(problems, subject="lightning hyperparameters")
    return out


@attrs.define(eq=False)
class LightningModel(SklearnModel):
    """A trained ``lightning`` model: ``SklearnModel``'s forecasts, torch members, no pickle."""

    net_spec: dict[str, Any] = attrs.field(factory=dict)

    def to_bytes(self) -> bytes:
        """Manifest, ``arrays.npz`` and ``members/NNN.pt`` (SHA-256 of each in the manifest)."""
        import torch

        arrays: dict[str, np.ndarray] = {
            "steps": self.steps,
            "y_scale": self.y_scale,
            **heads.ensemble_arrays(self.transition, self.val_errors, self.stack),
        }
        for k, member in enumerate(self.members):
            arrays[f"x_mean_{k}"], arrays[f"x_std_{k}"] = member.x_mean, member.x_std
        parts, hashes = {"arrays.npz": ser.arrays_part(**arrays)}, {}
        for k, member in enumerate(self.members):
            name = f"members/{k:03d}.pt"
            parts[name], hashes[name] = common.state_dict_to_bytes(member.net.state_dict())
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_type": self.name,
            "horizon": self.horizon,
            "members": len(self.members),
            "feature_count": self.feature_count,
            "net": self.net_spec,
            "weights_sha256": hashes,
            "training_metrics": {k: v for k, v in self.training_metrics.items() if np.isfinite(v)},
            "torch_version": torch.__version__,
            "numpy_version": np.__version__,
        }
        return ser.write_bundle(manifest, parts)

    @classmethod
    def from_bytes(cls, payload: bytes) -> LightningModel:
        """Rebuild from :meth:`to_bytes`; a weight part whose SHA-256 differs is refused."""
        from regimeforge.plugins.builtin.neural import lightning_net

        manifest, parts = ser.read_bundle(payload)
        ser.check_format(manifest, FORMAT, FORMAT_VERSION)
        arrays = ser.load_arrays(parts["arrays.npz"])
        device, spec = common.device_of(), dict(manifest["net"])
        members = []
        for k in range(int(manifest["members"])):
            name = f"members/{k:03d}.pt"
            if name not in parts or name not in manifest["weights_sha256"]:
                raise ArtifactIntegrityError(f"the model file lacks the weights of member {k}")
            state = common.state_dict_from_bytes(
                parts[name], manifest["weights_sha256"][name], name
            )
            net = lightning_net.build(spec)
            net.load_state_dict(state)
            net = net.to(device)
            members.append(
                lightning_net.NetMember(net, arrays[f"x_mean_{k}"], arrays[f"x_std_{k}"])
            )
        return cls(
            name=str(manifest["model_type"]),
            horizon=int(manifest["horizon"]),
            steps=arrays["steps"],
            members=members,
            y_scale=arrays["y_scale"],
            own_spread=False,
            feature_count=int(manifest["feature_count"]),
            **heads.ensemble_fields(arrays),
            training_metrics={k: float(v) for k, v in manifest["training_metrics"].items()},
            net_spec=spec,
        )


def _rows(y: np.ndarray, rows: slice) -> np.ndarray:
    index = np.arange(rows.start or 0, rows.stop)
    out: np.ndarray = index[finite_rows(y[index])]
    return out


class LightningTrainer:
    """The ``ModelTrainer`` of ``lightning`` (see the module docstring)."""

    name = NAME

    def fit(self, data: PreparedData, config: ModelConfig) -> LightningModel:
        """Train K networks, the transition, validation errors and stacking."""
        from regimeforge.plugins.builtin.neural import lightning_net as ln

        common.require_torch()
        params = check_hyperparams({**HYPERPARAMS, **dict(config.model_hyperparams)})
        common.set_threads()
        device = common.device_of()
        horizon = int(data.horizon)
        steps = heads.head_steps(horizon)
        x = clean_features(data.features)
        y = heads.cumulative_targets(np.asarray(data.targets, dtype=np.float64), steps)
        train_y = y[data.train][finite_rows(y[data.train])]
        y_scale = train_y.std(axis=0) if train_y.shape[0] > 1 else np.ones(steps.size)
        y_scale = np.where(np.isfinite(y_scale) & (y_scale > 0), y_scale, 1.0)
        spec = {"inputs": int(x.shape[1]), "outputs": int(steps.size)}
        spec.update({k: params[k] for k in ("hidden", "layers", "dropout")})
        val_rows = _rows(y, data.validation)
        members_n = int(config.preprocessing.get("ensemble_members", 5))
        members, reports, rows_used = [], [], 0
        for k, window in enumerate(heads.member_windows(data.train, members_n, horizon)):
            rows = _rows(y, window)
            x_mean, x_std = x[rows].mean(axis=0), x[rows].std(axis=0)
            x_std = np.where(x_std > 1e-12, x_std, 1.0)
            seed = member_seed(config.seed, k)
            common.seed_everything(seed)
            net = ln.build(spec).to(device)
            scaled = ((x - x_mean) / x_std, y / y_scale)
            reports.append(
                common.fit_loop(
                    net,
                    ln.mse_loss,
                    [common.to_tensor(a[rows], device) for a in scaled],
                    [common.to_tensor(a[val_rows], device) for a in scaled],
                    epochs=params["epochs"],
                    batch_size=params["batch_size"],
                    learning_rate=params["learning_rate"],
                    patience=params["patience"],
                    seed=seed,
                    weight_decay=params["weight_decay"],
                )
            )
            members.append(ln.NetMember(net, x_mean, x_std))
            rows_used = max(rows_used, rows.size)
        model = LightningModel(
            name=NAME,
            horizon=horizon,
            steps=steps,
            members=members,
            y_scale=y_scale,
            transition=heads.Transition.fit(x[data.train]),
            own_spread=False,
            feature_count=int(x.shape[1]),
            net_spec=spec,
        )
        metrics = fit_ensembles(model, x[data.validation], y[data.validation, -1])
        model.training_metrics = {
            "train_rows": float(rows_used),
            "members": float(members_n),
            "fit_warnings": 0.0,
            "epochs": float(np.mean([r.epochs for r in reports])),
            "best_epoch": float(np.mean([r.best_epoch for r in reports])),
            **metrics,
        }
        return model

    def load(self, payload: bytes) -> LightningModel:
        """A model from ``LightningModel.to_bytes()`` (weights checked against their SHA-256)."""
        common.require_torch()
        return LightningModel.from_bytes(payload)


def lightning_descriptor() -> ModelTypeDescriptor:
    """The ``lightning`` model type; unavailable (with the fix) without torch."""
    available = common.torch_available()
    return ModelTypeDescriptor(
        name=NAME,
        trainer_factory=functools.partial(LightningTrainer),
        hyperparams=HYPERPARAMS,
        description="feed-forward network (linear path + MLP) predicting the return path; "
        "early stopping on the validation segment",
        has_own_spread=False,
        available=available,
        unavailable_reason="" if available else common.TORCH_REASON,
    )
