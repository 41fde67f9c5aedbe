"""The PyTorch side of the diffusion model types: noise schedule, denoiser, loss and sampler.

Imported only when a diffusion model trains or forecasts (the package imports without torch).

- **Schedule** (:func:`betas`): ``linear`` (DDPM's 1e-4..0.02 over 1000 steps, rescaled to T) or
  ``cosine`` (Nichol & Dhariwal 2021, ``ᾱ(t) = cos²((t/T + s)/(1 + s) · π/2)``, s = 0.008,
  β clipped at 0.999). ``ᾱ_t = Π_{i<=t} (1 - β_i)``.
- **Training** (:func:`denoising_loss`): the epsilon-prediction objective of Ho et al. 2020,
  ``E ||ε - ε_θ(√ᾱ_t x_0 + √(1 - ᾱ_t) ε, t, c)||²`` with t uniform in 0..T-1 (the default), or
  with ``prediction: v`` the v-prediction of Salimans & Ho 2022 (target
  ``v = √ᾱ_t ε - √(1 - ᾱ_t) x_0``: the same objective weighted by 1/ᾱ_t, well conditioned where
  ``ᾱ_t`` is nearly 0).
- **Sampling** (:func:`sample`): the DDIM update of Song et al. 2021 on a subsequence
  ``τ`` of the training steps (:func:`sampling_steps`), with
  ``σ_i = η √((1 - ᾱ_prev)/(1 - ᾱ_t)) √(1 - ᾱ_t/ᾱ_prev)``.
  ``η = 1`` on every step is exactly ancestral DDPM (posterior variance β̃_t); ``η = 0`` is
  deterministic DDIM, which tolerates far fewer steps. The estimate of ``x_0`` is clipped to the
  range of the training paths (``clip``) so that the first, nearly pure-noise step cannot
  overshoot.
- **Denoiser** (:class:`MLPDenoiser`): ``encode(cond, window)`` once per bar, then
  ``forward(x_t, t, context)`` per step: a residual MLP over the noisy path with a sinusoidal
  timestep embedding and the embedded condition added to every hidden layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

SCHEDULES: tuple[str, ...] = ("cosine", "linear")
COSINE_OFFSET = 0.008
MAX_BETA = 0.999


def betas(schedule: str, steps: int) -> np.ndarray:
    """(T,) noise variances of ``schedule`` (see the module docstring)."""
    if schedule == "linear":
        scale = 1000.0 / steps
        return np.linspace(scale * 1e-4, min(scale * 0.02, MAX_BETA), steps)
    if schedule == "cosine":
        t = np.arange(steps + 1) / steps
        alpha_bar = np.cos((t + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
        out: np.ndarray = np.clip(1.0 - alpha_bar[1:] / alpha_bar[:-1], 0.0, MAX_BETA)
        return out
    raise ValueError(f"unknown schedule {schedule!r}; use one of {SCHEDULES}")


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B, dim) sinusoidal embedding of integer timesteps (Vaswani et al., as in DDPM)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / max(half, 1))
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class TimeEmbedding(nn.Module):
    """Sinusoidal embedding of t followed by a small MLP."""

    def __init__(self, dim: int, out: int) -> None:
        super().__init__()
        self.dim = dim
        self.net = nn.Sequential(nn.Linear(dim, out), nn.SiLU(), nn.Linear(out, out))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """(B, out) embedding of timesteps (B,)."""
        out: torch.Tensor = self.net(timestep_embedding(t, self.dim))
        return out


class MLPDenoiser(nn.Module):
    """ε_θ(x_t, t, c) for a path of ``horizon`` steps, conditioned on ``cond_dim`` features."""

    def __init__(self, horizon: int, cond_dim: int, window: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.time = TimeEmbedding(32, hidden)
        self.cond = nn.Sequential(nn.Linear(cond_dim + window, hidden), nn.SiLU())
        self.inp = nn.Linear(horizon, hidden)
        self.blocks = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.out = nn.Linear(hidden, horizon)

    def encode(self, cond: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """(n, hidden) context of each bar, computed once and reused at every step."""
        out: torch.Tensor = self.cond(torch.cat([cond, window], dim=1))
        return out

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """(B, horizon) predicted noise of the noisy paths ``x`` (B, horizon) at steps ``t``
        ((B,) or (1,) for one step shared by the batch)."""
        bias = self.time(t) + context
        h = functional.silu(self.inp(x) + bias)
        for block in self.blocks:
            h = h + functional.silu(block(h) + bias)
        out: torch.Tensor = self.out(h)
        return out


Denoiser = Any  # an nn.Module with encode(cond, window) and forward(x, t, context)


def alpha_bars(schedule: str, steps: int, device: torch.device) -> torch.Tensor:
    """(T,) ``ᾱ_t`` in float64 on ``device`` (sampling arithmetic stays in float64)."""
    return torch.as_tensor(np.cumprod(1.0 - betas(schedule, steps)), device=device)


def denoising_loss(
    net: Denoiser,
    paths: torch.Tensor,
    context: torch.Tensor,
    alpha_bar: torch.Tensor,
    *,
    t: torch.Tensor,
    noise: torch.Tensor,
    prediction: str = "epsilon",
) -> torch.Tensor:
    """Mean squared error of the predicted noise for clean ``paths`` noised to steps ``t``."""
    a = alpha_bar[t].float()[:, None]
    noisy = a.sqrt() * paths + (1.0 - a).sqrt() * noise
    target = noise if prediction == "epsilon" else a.sqrt() * noise - (1.0 - a).sqrt() * paths
    return functional.mse_loss(net(noisy, t, context), target)


def sampling_steps(total: int, steps: int) -> list[int]:
    """The descending subsequence τ: ``floor(i T / S)`` for i < S (all T steps when S >= T).

    The DDIM paper's uniform spacing: the first step is ``floor((S-1) T / S)``, not T-1, so that
    few-step DDIM never starts where ``ᾱ`` is nearly 0 and the estimate of x_0 from the
    predicted noise is ill-conditioned (ancestral steps damp that error, deterministic ones do
    not).
    """
    count = min(max(int(steps), 1), total)
    picked = np.unique((np.arange(count) * total) // count)
    return [int(v) for v in picked[::-1]]


def sample(
    net: Denoiser,
    context: torch.Tensor,
    alpha_bar: torch.Tensor,
    *,
    horizon: int,
    steps: int,
    eta: float,
    clip: float,
    noise: Callable[[], torch.Tensor],
    prediction: str = "epsilon",
    on_call: Callable[[], None] | None = None,
) -> torch.Tensor:
    """(B, horizon) paths drawn from the model for the B rows of ``context`` (module doc).

    ``noise()`` returns a fresh (B, horizon) standard normal draw; it is called for the starting
    point and once per stochastic step, in that order.
    """
    device = context.device
    x = noise()
    taus = sampling_steps(int(alpha_bar.shape[0]), steps)
    for i, t in enumerate(taus):
        a_t = float(alpha_bar[t])
        a_prev = float(alpha_bar[taus[i + 1]]) if i + 1 < len(taus) else 1.0
        # one timestep for the whole batch: its embedding is computed once and broadcast
        out: torch.Tensor = net(x, torch.full((1,), t, dtype=torch.long, device=device), context)
        if on_call is not None:
            on_call()
        if prediction == "epsilon":
            x0 = (x - math.sqrt(1.0 - a_t) * out) / math.sqrt(a_t)
        else:
            x0 = math.sqrt(a_t) * x - math.sqrt(1.0 - a_t) * out
        x0 = x0.clamp(-clip, clip)
        if i + 1 == len(taus):
            return x0
        # ε consistent with the clipped x0, so that both terms describe the same point
        eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1.0 - a_t)
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        direction = math.sqrt(max(1.0 - a_prev - sigma**2, 0.0))
        x = math.sqrt(a_prev) * x0 + direction * eps
        if sigma > 0:
            x = x + sigma * noise()
    return x


def loss_function(alpha_bar: torch.Tensor, prediction: str) -> Callable[..., torch.Tensor]:
    """``loss(net, [paths, cond, window], generator)`` for ``common.fit_loop``: t uniform in
    0..T-1 and Gaussian noise, both drawn from ``generator`` (seeded by the loop)."""
    steps = int(alpha_bar.shape[0])

    def loss(net: Denoiser, batch: list[torch.Tensor], generator: torch.Generator) -> torch.Tensor:
        paths, cond, window = batch
        t = torch.randint(0, steps, (paths.shape[0],), generator=generator, device=paths.device)
        noise = torch.randn(paths.shape, generator=generator, device=paths.device)
        context = net.encode(cond, window)
        return denoising_loss(
            net, paths, context, alpha_bar, t=t, noise=noise, prediction=prediction
        )

    return loss


def build_mlp(horizon: int, cond_dim: int, window: int, params: dict[str, Any]) -> MLPDenoiser:
    """The MLP denoiser of the ``diffusion-*`` types (``hidden``, ``layers``)."""
    return MLPDenoiser(horizon, cond_dim, window, int(params["hidden"]), int(params["layers"]))
