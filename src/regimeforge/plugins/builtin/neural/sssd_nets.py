"""The PyTorch side of ``sssd``: an S4D state-space denoiser over the return window and the
noisy future path (imported only when an ``sssd`` model trains or forecasts).

After Alcaraz & Strodthoff 2022 (SSSD^S4, "Diffusion-based time series imputation and forecasting
with structured state space models"), simplified to what one return path needs:

- the sequence is the bar's return window (the W known returns, oldest first) followed by the H
  noisy future returns; two input channels per position: the value and a mask (1 = known);
- residual blocks: add the diffusion-step embedding, a bidirectional **S4D** layer along the
  sequence, a 1x1 convolution to 2C channels plus the embedded condition (features and window),
  the gated activation ``tanh · sigmoid``, then residual and skip 1x1 convolutions;
- the output convolution (zero-initialised, as in SSSD) reads the noise of the H future positions.

**S4D** (Gu et al. 2022, "On the parameterization and initialization of diagonal state space
models"): per channel a diagonal state space ``x' = A x + B u, y = Re(C x)`` with N/2 complex
modes, ``A_n = -exp(log_a_n) + i·b_n`` initialised **S4D-Lin** (``A_n = -1/2 + iπn``), a learned
step ``Δ`` (log-uniform in [0.001, 0.1]), discretised by zero-order hold; the layer is the
convolution of the input with the kernel
``K_l = 2 Re(Σ_n C_n (exp(ΔA_n) - 1)/A_n · exp(ΔA_n l))``, a Vandermonde product, applied as one
matrix product (:func:`conv_matrix`), plus a skip ``D u``. Bidirectional: one kernel runs left to
right, a second one over the reversed sequence (every position of the noisy path may
look at every other; the known returns are all at or before t).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from regimeforge.plugins.builtin.neural.diffusion_nets import TimeEmbedding


class S4DKernel(nn.Module):
    """The convolution kernels (channels, L) of ``channels`` diagonal state spaces."""

    def __init__(self, channels: int, state_size: int) -> None:
        super().__init__()
        modes = max(state_size // 2, 1)
        log_dt = torch.rand(channels) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)
        self.log_dt = nn.Parameter(log_dt)
        self.c = nn.Parameter(torch.view_as_real(torch.randn(channels, modes, dtype=torch.cfloat)))
        self.log_a_real = nn.Parameter(torch.log(0.5 * torch.ones(channels, modes)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(modes).float().repeat(channels, 1))

    def forward(self, length: int) -> torch.Tensor:
        """(channels, length) real kernel (ZOH discretisation, Vandermonde product)."""
        dt = torch.exp(self.log_dt)[:, None]
        a = -torch.exp(self.log_a_real) + 1j * self.a_imag
        dta = a * dt
        c = torch.view_as_complex(self.c) * (torch.exp(dta) - 1.0) / a
        steps = torch.arange(length, device=a.device)
        vandermonde = torch.exp(dta[:, :, None] * steps)
        return 2.0 * torch.einsum("cn,cnl->cl", c, vandermonde).real


def conv_matrix(forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
    """(L, L, C) matrix M with ``y[m] = Σ_l u[l] M[l, m]``: the causal convolution with the
    ``forward`` kernels (C, L) plus the anti-causal one with the ``backward`` kernels.

    Sequences here are short (window + horizon), where one batched matrix product is much
    faster on a CPU than FFTs; it is the same convolution.
    """
    length = forward.shape[-1]
    lag = torch.arange(length, device=forward.device)
    diff = lag[None, :] - lag[:, None]  # m - l
    fwd = forward[:, diff.clamp(min=0)] * (diff >= 0)
    bwd = backward[:, (-diff).clamp(min=0)] * (diff <= 0)
    return (fwd + bwd).permute(1, 2, 0)


class S4DLayer(nn.Module):
    """Bidirectional S4D along the sequence, with the ``D`` skip and a GELU."""

    def __init__(self, channels: int, state_size: int) -> None:
        super().__init__()
        self.channels = channels
        self.kernel = S4DKernel(2 * channels, state_size)
        self.d = nn.Parameter(torch.randn(channels))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """(B, L, C) -> (B, L, C)."""
        k = self.kernel(u.shape[1])
        matrix = conv_matrix(k[: self.channels], k[self.channels :])
        y = torch.einsum("blc,lmc->bmc", u, matrix)
        return functional.gelu(y + u * self.d)


class ResidualBlock(nn.Module):
    """One SSSD residual block (see the module docstring); tensors are (B, L, C)."""

    def __init__(self, channels: int, state_size: int) -> None:
        super().__init__()
        self.time = nn.Linear(channels, channels)
        self.s4 = S4DLayer(channels, state_size)
        self.mid = nn.Linear(channels, 2 * channels)
        self.cond = nn.Linear(channels, 2 * channels)
        self.res = nn.Linear(channels, channels)
        self.skip = nn.Linear(channels, channels)

    def forward(
        self, h: torch.Tensor, temb: torch.Tensor, cond: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """New hidden state and skip output, both (B, L, C)."""
        y = self.s4(h + self.time(temb)[:, None, :])
        y = self.mid(y) + self.cond(cond)[:, None, :]
        a, b = y.chunk(2, dim=-1)
        gated = torch.tanh(a) * torch.sigmoid(b)
        return (h + self.res(gated)) / math.sqrt(2.0), self.skip(gated)


class SSSDDenoiser(nn.Module):
    """ε_θ over [return window | noisy path] with S4D residual blocks."""

    def __init__(
        self, horizon: int, cond_dim: int, window: int, *, channels: int, layers: int, state: int
    ) -> None:
        super().__init__()
        self.window = window
        self.channels = channels
        self.time = TimeEmbedding(32, channels)
        self.cond = nn.Sequential(nn.Linear(cond_dim + window, channels), nn.SiLU())
        self.inp = nn.Linear(2, channels)
        self.blocks = nn.ModuleList(ResidualBlock(channels, state) for _ in range(layers))
        self.out1 = nn.Linear(channels, channels)
        self.out2 = nn.Linear(channels, 1)
        nn.init.zeros_(self.out2.weight)
        nn.init.zeros_(self.out2.bias)
        mask = torch.cat([torch.ones(window), torch.zeros(horizon)])
        self.register_buffer("mask", mask, persistent=False)

    def encode(self, cond: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """(n, C + W): the embedded condition and the known returns of each bar."""
        return torch.cat([self.cond(torch.cat([cond, window], dim=1)), window], dim=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """(B, H) predicted noise of the noisy paths ``x`` at steps ``t`` ((B,) or (1,))."""
        cond, window = context[:, : self.channels], context[:, self.channels :]
        values = torch.cat([window, x], dim=1)
        mask = self.get_buffer("mask").expand(values.shape[0], -1)
        h = functional.relu(self.inp(torch.stack([values, mask], dim=-1)))
        temb = self.time(t)
        skip = torch.zeros_like(h)
        for block in self.blocks:
            h, s = block(h, temb, cond)
            skip = skip + s
        skip = skip / math.sqrt(max(len(self.blocks), 1))
        out: torch.Tensor = self.out2(functional.relu(self.out1(skip)))[:, self.window :, 0]
        return out


def build_sssd(horizon: int, cond_dim: int, window: int, params: dict[str, Any]) -> SSSDDenoiser:
    """The denoiser of ``sssd`` (``d_model``, ``layers``, ``state_size``)."""
    return SSSDDenoiser(
        horizon,
        cond_dim,
        window,
        channels=int(params["d_model"]),
        layers=int(params["layers"]),
        state=int(params["state_size"]),
    )
