"""Model types ``diffusion-ddpm`` and ``diffusion-ddim``: a conditional denoising diffusion model
over the future return path (docs/models.md, "Diffusion and SSSD").

Training (:class:`DiffusionTrainer`, shared with ``sssd``, which only swaps the denoiser):

- the path of bar t is ``(r_{t+1}, ..., r_{t+H}) / σ`` (``targets[t]``; σ the standard deviation
  of the train rows' one-bar returns); the condition is the bar's encoded features, standardised
  with train statistics, and its **return window**: the feature columns named ``ret_lag_k`` /
  ``ret_lagk`` (the log returns of bars t, t-1, ... that the feature pipeline always adds,
  oldest first). Everything the model sees is known at t; without such columns (e.g. after
  ``pca``) the window is empty and the features alone condition the model;
- K members on the walk-forward windows of ``heads.member_windows``, each a denoiser trained
  with the epsilon-prediction loss, early stopping on the validation rows (``diffusion_nets``);
- then, as for every model type, the feature transition of ``recursive`` and, per prediction
  method, the validation errors and the stacking meta-model (forecasts with the type's default
  inference parameters).

The two types share this code and their hyperparameters; they differ only in the default
inference parameters (``ddpm``: ancestral sampling over all T steps; ``ddim``: 10 deterministic
steps). ``n_samples``, ``sampling_steps`` and ``sampler`` can be changed per inference config.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Mapping
from typing import Any, Final, cast

import numpy as np

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.models.sklearn_models import (
    clean_features,
    finite_rows,
    fit_ensembles,
    member_seed,
)
from regimeforge.plugins.builtin.neural import common
from regimeforge.plugins.builtin.neural import diffusion_params as dp
from regimeforge.plugins.builtin.neural.diffusion_model import DiffusionModel
from regimeforge.plugins.descriptors import ModelTypeDescriptor

RETURN_LAG: Final = re.compile(r"^ret_lag_?(\d+)$")
#: Denoiser kinds -> (module, builder); the module imports torch, so it is imported on use.
BUILDERS: Final[Mapping[str, tuple[str, str]]] = {
    "mlp": ("regimeforge.plugins.builtin.neural.diffusion_nets", "build_mlp"),
    "sssd": ("regimeforge.plugins.builtin.neural.sssd_nets", "build_sssd"),
}
#: The clip of x̂_0 while sampling: this many times the largest |path value| seen in training.
CLIP_MARGIN: Final[float] = 1.5


def build_denoiser(kind: str, horizon: int, cond_dim: int, window: int, params: Any) -> Any:
    """An untrained denoiser of ``kind`` (CPU, float32)."""
    module, name = BUILDERS[kind]
    return getattr(importlib.import_module(module), name)(horizon, cond_dim, window, dict(params))


def return_window(names: tuple[str, ...]) -> np.ndarray:
    """Indices of the return-lag columns, the oldest lag first (empty when there are none)."""
    lags = [(int(m.group(1)), i) for i, n in enumerate(names) if (m := RETURN_LAG.match(n))]
    return np.array([i for _, i in sorted(lags, reverse=True)], dtype=np.int64)


class DiffusionTrainer:
    """The ``ModelTrainer`` of a diffusion model type (see the module docstring)."""

    def __init__(
        self,
        name: str,
        kind: str,
        hyperparams: Mapping[str, Any],
        inference_defaults: Mapping[str, Any],
    ) -> None:
        self.name = name
        self.kind = kind
        self.hyperparams = dict(hyperparams)
        self.inference_defaults = dict(inference_defaults)

    def fit(self, data: PreparedData, config: ModelConfig) -> DiffusionModel:
        """Train K denoisers, the transition, validation errors and stacking (module doc)."""
        from regimeforge.plugins.builtin.neural import diffusion_nets as nets

        common.require_torch()
        params = dp.check_hyperparams({**self.hyperparams, **dict(config.model_hyperparams)})
        common.set_threads()
        device = common.device_of()
        horizon = int(data.horizon)
        x = clean_features(data.features)
        x_mean, x_std = x[data.train].mean(axis=0), x[data.train].std(axis=0)
        x_std = np.where(x_std > 1e-12, x_std, 1.0)
        window_idx = return_window(tuple(data.feature_names))
        y = np.asarray(data.targets, dtype=np.float64)[:, :horizon]
        known = y[data.train][finite_rows(y[data.train])]
        y_scale = float(known.std()) if known.size > 1 and known.std() > 0 else 1.0
        clip = CLIP_MARGIN * max(float(np.abs(known).max(initial=0.0)) / y_scale, 4.0)
        # the denoiser's inputs: paths, standardised features and the return window
        scaled = (y / y_scale, (x - x_mean) / x_std, ((x - x_mean) / x_std)[:, window_idx])
        alpha_bar = nets.alpha_bars(params["schedule"], params["diffusion_steps"], device)
        loss = nets.loss_function(alpha_bar, str(params["prediction"]))
        val_rows = _finite(y, data.validation)
        members_n = int(config.preprocessing.get("ensemble_members", 5))
        members, seeds, reports, rows_used = [], [], [], 0
        for k, window in enumerate(heads.member_windows(data.train, members_n, horizon)):
            rows = _finite(y, window)
            seed = member_seed(config.seed, k)
            common.seed_everything(seed)
            net = build_denoiser(self.kind, horizon, x.shape[1], window_idx.size, params)
            net = net.to(device)
            reports.append(
                common.fit_loop(
                    net,
                    loss,
                    [common.to_tensor(a[rows], device) for a in scaled],
                    [common.to_tensor(a[val_rows], device) for a in scaled],
                    epochs=params["epochs"],
                    batch_size=params["batch_size"],
                    learning_rate=float(params["learning_rate"]),
                    patience=params["patience"],
                    seed=seed,
                )
            )
            members.append(net)
            seeds.append(seed)
            rows_used = max(rows_used, rows.size)
        model = DiffusionModel(
            name=self.name,
            kind=self.kind,
            params=params,
            horizon=horizon,
            feature_count=int(x.shape[1]),
            window_idx=window_idx,
            x_mean=x_mean,
            x_std=x_std,
            y_scale=y_scale,
            clip=clip,
            transition=heads.Transition.fit(x[data.train]),
            nets=members,
            member_seeds=seeds,
            inference_defaults=dict(self.inference_defaults),
        )
        # validation errors and stacking per method, with the type's default inference params
        truth = np.sum(y[data.validation], axis=1)  # NaN where a return is unknown
        metrics = fit_ensembles(cast(Any, model), x[data.validation], truth)
        model.training_metrics = {
            "train_rows": float(rows_used),
            "members": float(members_n),
            "fit_warnings": 0.0,
            "epochs": float(np.mean([r.epochs for r in reports])),
            "best_epoch": float(np.mean([r.best_epoch for r in reports])),
            "val_denoising_loss": float(np.mean([r.val_loss for r in reports])),
            **metrics,
        }
        return model

    def load(self, payload: bytes) -> DiffusionModel:
        """A model from ``DiffusionModel.to_bytes()`` (weights checked against their SHA-256)."""
        from regimeforge.plugins.builtin.neural import diffusion_store

        common.require_torch()
        return diffusion_store.load(payload, build_denoiser, common.device_of())


def _finite(y: np.ndarray, rows: slice) -> np.ndarray:
    index = np.arange(rows.start or 0, rows.stop)
    out: np.ndarray = index[finite_rows(y[index])]
    return out


def diffusion_model_type(
    name: str,
    kind: str,
    hyperparams: Mapping[str, Any],
    inference: Mapping[str, Any],
    description: str,
) -> ModelTypeDescriptor:
    """A diffusion model type with denoiser ``kind``; unavailable without torch."""
    available = common.torch_available()
    return ModelTypeDescriptor(
        name=name,
        trainer_factory=functools.partial(DiffusionTrainer, name, kind, hyperparams, inference),
        hyperparams=hyperparams,
        inference_params=inference,
        description=description,
        has_own_spread=True,
        available=available,
        unavailable_reason="" if available else common.TORCH_REASON,
    )


def diffusion_descriptors() -> list[ModelTypeDescriptor]:
    """``diffusion-ddpm`` and ``diffusion-ddim`` (one network; default sampler differs)."""
    return [
        diffusion_model_type(
            "diffusion-ddpm",
            "mlp",
            dp.MLP_DEFAULTS,
            dp.DDPM_INFERENCE,
            "conditional diffusion over the return path (MLP denoiser), ancestral DDPM sampling; "
            "confidence from the spread of the samples",
        ),
        diffusion_model_type(
            "diffusion-ddim",
            "mlp",
            dp.MLP_DEFAULTS,
            dp.DDIM_INFERENCE,
            "conditional diffusion over the return path (MLP denoiser), deterministic DDIM "
            "sampling in few steps; confidence from the spread of the samples",
        ),
    ]
