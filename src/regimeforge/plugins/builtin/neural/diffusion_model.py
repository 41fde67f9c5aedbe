"""A trained diffusion model (``diffusion-ddpm``, ``diffusion-ddim``, ``sssd``): K denoisers.

Every member is one denoising network over the standardised future return path
``(r_{t+1}, ..., r_{t+H}) / σ``; a forecast draws ``n_samples`` paths per bar and member and
reduces each path to the quantity of the prediction method (docs/models.md, "Diffusion and
SSSD"): the cumulative return ``c_H`` (``direct``), ``Σ_j c_j / j`` (``direct_multi``), or the
first step chained through the feature transition (``recursive``). The member forecast is the
mean over the samples and its own spread their standard deviation.

Sampling is seeded and blocked: the noise of the bar in row i comes from a generator seeded by
the member's seed, the chain point and ``i // BLOCK_ROWS`` and drawn for whole blocks, so a bar's
forecast does not depend on how many rows follow it in the call or on the batching (predicting a
prefix of the bars gives the same first rows), and the same model, features and inference
parameters give the same forecasts on CPU. Draws for ``direct`` and ``direct_multi`` (and the
first chain point of ``recursive``) are shared through a one-entry cache, so asking for the three
methods samples the raw bars once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.forecasts import MemberForecasts
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.neural import diffusion_params as dp

METHODS = heads.METHODS
#: Chain points of ``recursive`` (each costs one sampling run): 0, H-1 and log-spaced between.
RECURSIVE_POINTS = 4
#: Paths denoised in one call (rows x samples), on a CPU and on a GPU: on a CPU batches that
#: stay in the cache run about twice as fast per path as large ones; a GPU wants large batches.
BATCH_PATHS = {"cpu": 4_096, "cuda": 65_536}
#: Rows that share one noise generator (see the module docstring).
BLOCK_ROWS = 64


def recursive_points(horizon: int) -> np.ndarray:
    """Chain indices where the first step is sampled: at most :data:`RECURSIVE_POINTS`, always
    0 and H-1 (the one-step forecast in between is interpolated linearly, as in ``heads``)."""
    steps = np.geomspace(1, horizon, min(RECURSIVE_POINTS, horizon))
    out: np.ndarray = np.unique(np.round(steps).astype(np.int64) - 1)
    return out


def chain_seed(seed: int, point: int) -> int:
    """The sampling seed of chain point ``point`` of a member seeded with ``seed``."""
    return (int(seed) + 7919 * int(point)) % (2**31 - 1)


def block_seed(seed: int, block: int) -> int:
    """The seed of the noise generator of rows ``block * BLOCK_ROWS ...`` (see module doc)."""
    return (int(seed) * 1_000_003 + 104_729 * (int(block) + 1)) % (2**63 - 1)


def block_noise(seed: int, first_block: int, rows: int, shape: tuple[int, int], device: Any) -> Any:
    """``noise()`` for ``rows`` rows from block ``first_block`` on, ``shape`` = (samples,
    horizon) per row: each block's generator draws for all its BLOCK_ROWS rows (a partial last
    block too), so a row's draws never depend on the rows after it."""
    import torch

    samples, horizon = shape
    blocks = -(-rows // BLOCK_ROWS)
    generators = [
        torch.Generator(device=device).manual_seed(block_seed(seed, first_block + b))
        for b in range(blocks)
    ]

    def noise() -> Any:
        parts = [torch.randn((BLOCK_ROWS * samples, horizon), generator=g, device=device)
                 for g in generators]  # fmt: skip
        return torch.cat(parts)[: rows * samples]

    return noise


@attrs.define(eq=False)
class DiffusionModel:
    """A fitted diffusion model type (implements the ``TrainedModel`` port)."""

    name: str
    kind: str
    params: dict[str, Any]
    horizon: int
    feature_count: int
    window_idx: np.ndarray  # columns of the return window, oldest lag first
    x_mean: np.ndarray
    x_std: np.ndarray
    y_scale: float
    clip: float
    transition: heads.Transition
    nets: list[Any]
    member_seeds: list[int]
    inference_defaults: dict[str, Any]
    val_errors: dict[str, np.ndarray] = attrs.field(factory=dict)
    stack: dict[str, tuple[np.ndarray, float]] = attrs.field(factory=dict)
    training_metrics: Mapping[str, float] = attrs.field(factory=dict)
    denoiser_calls: int = 0
    _cache: tuple[Any, dict[str, np.ndarray]] | None = None

    def options(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The inference parameters of one forecast: the type's defaults, then ``params``."""
        return dp.inference_options(self.inference_defaults, params, self.params)

    def _draw(self, x: np.ndarray, seeds: list[int], opts: Mapping[str, Any]) -> np.ndarray:
        """(K, n, S, H) standardised sampled paths for the standardised feature rows ``x``."""
        import torch

        from regimeforge.plugins.builtin.neural import common
        from regimeforge.plugins.builtin.neural import diffusion_nets as nets

        common.set_threads()
        device = next(self.nets[0].parameters()).device
        alpha_bar = nets.alpha_bars(self.params["schedule"], self.params["diffusion_steps"], device)
        samples = int(opts["n_samples"])
        batch = BATCH_PATHS.get(device.type, BATCH_PATHS["cpu"])
        rows_per_batch = max(1, batch // (samples * BLOCK_ROWS)) * BLOCK_ROWS
        cond = torch.as_tensor(x, dtype=torch.float32, device=device)
        window = cond[:, torch.as_tensor(self.window_idx, dtype=torch.long, device=device)]
        out = np.empty((len(self.nets), x.shape[0], samples, self.horizon))

        def count() -> None:
            self.denoiser_calls += 1

        with torch.no_grad():
            for k, (net, seed) in enumerate(zip(self.nets, seeds, strict=True)):
                for start in range(0, x.shape[0], rows_per_batch):
                    part = slice(start, min(start + rows_per_batch, x.shape[0]))
                    context = net.encode(cond[part], window[part])
                    rows = part.stop - part.start
                    noise = block_noise(
                        seed, start // BLOCK_ROWS, rows, (samples, self.horizon), device
                    )
                    paths = nets.sample(
                        net,
                        context.repeat_interleave(samples, dim=0),
                        alpha_bar,
                        horizon=self.horizon,
                        steps=int(opts["sampling_steps"]),
                        eta=dp.SAMPLER_ETA[str(opts["sampler"])],
                        clip=self.clip,
                        noise=noise,
                        prediction=str(self.params["prediction"]),
                        on_call=count,
                    )
                    drawn = paths.double().cpu().numpy()
                    out[k, part] = drawn.reshape(rows, samples, self.horizon)
        return out

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = (x - self.x_mean) / self.x_std
        return out

    def _reductions(self, x: np.ndarray, opts: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Per-sample ``direct``, ``direct_multi`` and first-step values (K, n, S), cached."""
        key = (hashlib.sha256(x.tobytes()).hexdigest(), x.shape, tuple(sorted(opts.items())))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        paths = self._draw(self._standardise(x), self.member_seeds, opts)
        cumulative = np.cumsum(paths, axis=-1)
        found = {
            "direct": cumulative[..., -1],
            "direct_multi": cumulative @ (1.0 / np.arange(1, self.horizon + 1)),
            "first": paths[..., 0],
        }
        self._cache = (key, found)
        return found

    def _recursive(self, x: np.ndarray, opts: Mapping[str, Any]) -> np.ndarray:
        """Σ_i w_i · (first step sampled at the chained state x̂_i), per sample (K, n, S)."""
        points = recursive_points(self.horizon)
        weights = heads.chain_weights(points, self.horizon)
        total: np.ndarray | None = None
        for point, weight, state in zip(
            points, weights, self.transition.states_at(x, points), strict=True
        ):
            if point == 0:
                first = self._reductions(x, opts)["first"]
            else:
                seeds = [chain_seed(s, int(point)) for s in self.member_seeds]
                first = self._draw(self._standardise(state), seeds, opts)[..., 0]
            total = weight * first if total is None else total + weight * first
        assert total is not None
        return total

    def member_values(
        self, features: np.ndarray, method: str, params: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(K, n) member forecasts of ``method`` and their (K, n) sample spread."""
        if method not in METHODS:
            raise ConfigError(
                [Problem("prediction_method", f"unknown method {method!r}", f"use {METHODS}")]
            )
        opts = self.options(params)
        x = np.asarray(features, dtype=np.float64)
        if x.shape[0] == 0:
            empty = np.zeros((len(self.nets), 0))
            return empty, empty.copy()
        if method == "recursive":
            per_sample = self._recursive(x, opts)
        else:
            per_sample = self._reductions(x, opts)[method]
        per_sample = per_sample * self.y_scale
        return per_sample.mean(axis=-1), per_sample.std(axis=-1)

    def forecast(
        self, features: np.ndarray, method: str, params: Mapping[str, Any] | None = None
    ) -> MemberForecasts:
        """``MemberForecasts`` of ``method`` for (n, f) rows; ``params``: n_samples, sampling_steps,
        sampler (the type's defaults for those left out)."""
        x = heads.feature_rows(features, self.feature_count)
        values, spread = self.member_values(x, method, params)
        return heads.member_forecasts(values, spread, self.val_errors[method], self.stack[method])

    def to_bytes(self) -> bytes:
        """The model as a bundle (``diffusion_store``)."""
        from regimeforge.plugins.builtin.neural import diffusion_store

        return diffusion_store.dump(self)
