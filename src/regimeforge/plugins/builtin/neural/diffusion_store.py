"""The saved form of a diffusion model: one bundle (``models.serialization``), no pickle.

```
manifest.json   {"format": "regimeforge-diffusion-model", "format_version": 1, "model_type",
                 "kind", "params", "horizon", "feature_count", "window_idx", "y_scale", "clip",
                 "member_seeds", "inference_defaults", "training_metrics", "weights_sha256",
                 "torch_version", "numpy_version"}
arrays.npz      x_mean, x_std, the transition (A, b), val_errors and stacking per method
members/000.pt  each member's state dict (torch.save), loaded with weights_only=True
```

Each weight part's SHA-256 is recorded in the manifest when the model is written and checked
before ``torch.load`` sees the bytes: a changed weight file is an ``ArtifactIntegrityError`` and
is never deserialised (on top of the artifact store's check of the whole file).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regimeforge.domain.errors import ArtifactIntegrityError
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.models import serialization as ser
from regimeforge.plugins.builtin.neural import common
from regimeforge.plugins.builtin.neural.diffusion_model import DiffusionModel

FORMAT = "regimeforge-diffusion-model"
FORMAT_VERSION = 1


def _part(k: int) -> str:
    return f"members/{k:03d}.pt"


def dump(model: DiffusionModel) -> bytes:
    """The bundle of ``model`` (see the module docstring)."""
    import torch

    arrays: dict[str, np.ndarray] = {
        "x_mean": model.x_mean,
        "x_std": model.x_std,
        **heads.ensemble_arrays(model.transition, model.val_errors, model.stack),
    }
    parts = {"arrays.npz": ser.arrays_part(**arrays)}
    hashes = {}
    for k, net in enumerate(model.nets):
        parts[_part(k)], hashes[_part(k)] = common.state_dict_to_bytes(net.state_dict())
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_type": model.name,
        "kind": model.kind,
        "params": model.params,
        "horizon": model.horizon,
        "feature_count": model.feature_count,
        "window_idx": [int(i) for i in model.window_idx],
        "y_scale": model.y_scale,
        "clip": model.clip,
        "member_seeds": model.member_seeds,
        "inference_defaults": model.inference_defaults,
        "training_metrics": {k: v for k, v in model.training_metrics.items() if np.isfinite(v)},
        "weights_sha256": hashes,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
    }
    return ser.write_bundle(manifest, parts)


def load(payload: bytes, build: Any, device: Any) -> DiffusionModel:
    """A model from :func:`dump`; ``build(kind, horizon, cond_dim, window, params)`` makes the
    empty networks, moved to ``device`` once their checked weights are loaded."""
    manifest, parts = ser.read_bundle(payload)
    ser.check_format(manifest, FORMAT, FORMAT_VERSION)
    arrays = ser.load_arrays(parts["arrays.npz"])
    window_idx = np.asarray(manifest["window_idx"], dtype=np.int64)
    feature_count, horizon = int(manifest["feature_count"]), int(manifest["horizon"])
    params = dict(manifest["params"])
    nets = []
    for k in range(len(manifest["member_seeds"])):
        name = _part(k)
        if name not in parts or name not in manifest["weights_sha256"]:
            raise ArtifactIntegrityError(f"the model file lacks the weights of member {k}")
        state = common.state_dict_from_bytes(parts[name], manifest["weights_sha256"][name], name)
        net = build(str(manifest["kind"]), horizon, feature_count, window_idx.size, params)
        net.load_state_dict(state)
        nets.append(net.to(device).eval())
    return DiffusionModel(
        name=str(manifest["model_type"]),
        kind=str(manifest["kind"]),
        params=params,
        horizon=horizon,
        feature_count=feature_count,
        window_idx=window_idx,
        x_mean=arrays["x_mean"],
        x_std=arrays["x_std"],
        y_scale=float(manifest["y_scale"]),
        clip=float(manifest["clip"]),
        nets=nets,
        member_seeds=[int(s) for s in manifest["member_seeds"]],
        inference_defaults=dict(manifest["inference_defaults"]),
        **heads.ensemble_fields(arrays),
        training_metrics={k: float(v) for k, v in manifest["training_metrics"].items()},
    )
