"""The PyTorch side of the ``autoencoder`` and ``vae`` encoders (imported only when used).

- :class:`AutoEncoder`: ``x -> Linear(hidden) -> GELU -> Linear(latent)`` and back; the loss is
  the mean squared reconstruction error of the standardised features.
- :class:`VariationalAutoEncoder` (Kingma & Welling 2014): the encoder gives the posterior mean
  μ and log-variance of a diagonal Gaussian; training samples ``z = μ + σ ε`` and minimises
  ``½ Σ (x − x̂)² + β · KL(q(z|x) || N(0, I))`` per row (a unit-variance Gaussian likelihood);
  the encoder's output is the posterior mean μ (deterministic).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional


class AutoEncoder(nn.Module):
    """A one-hidden-layer autoencoder of ``inputs`` features into ``latent`` codes."""

    def __init__(self, inputs: int, latent: int, hidden: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(inputs, hidden), nn.GELU(), nn.Linear(hidden, latent)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.GELU(), nn.Linear(hidden, inputs)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent codes of standardised rows."""
        out: torch.Tensor = self.encoder(x)
        return out

    def loss(self, x: torch.Tensor, generator: Any) -> torch.Tensor:
        """Mean squared reconstruction error."""
        return functional.mse_loss(self.decoder(self.encoder(x)), x)


class VariationalAutoEncoder(nn.Module):
    """A one-hidden-layer VAE with a diagonal Gaussian posterior (see the module docstring)."""

    def __init__(self, inputs: int, latent: int, hidden: int, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.trunk = nn.Sequential(nn.Linear(inputs, hidden), nn.GELU())
        self.mean = nn.Linear(hidden, latent)
        self.log_var = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.GELU(), nn.Linear(hidden, inputs)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean μ of standardised rows."""
        out: torch.Tensor = self.mean(self.trunk(x))
        return out

    def loss(self, x: torch.Tensor, generator: Any) -> torch.Tensor:
        """Negative ELBO per row (reconstruction + β KL), averaged over the batch."""
        h = self.trunk(x)
        mu, log_var = self.mean(h), self.log_var(h).clamp(-10.0, 10.0)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * log_var) * eps
        recon = 0.5 * torch.sum(torch.square(self.decoder(z) - x), dim=1)
        kl = -0.5 * torch.sum(1.0 + log_var - torch.square(mu) - torch.exp(log_var), dim=1)
        return torch.mean(recon + self.beta * kl)


def build(kind: str, spec: dict[str, Any]) -> nn.Module:
    """An untrained network of ``kind`` (``autoencoder`` or ``vae``) from its saved spec."""
    inputs, latent, hidden = int(spec["inputs"]), int(spec["latent"]), int(spec["hidden"])
    if kind == "vae":
        return VariationalAutoEncoder(inputs, latent, hidden, float(spec.get("beta", 1.0)))
    return AutoEncoder(inputs, latent, hidden)


def reconstruction_loss(net: Any, batch: Any, generator: Any) -> torch.Tensor:
    """``fit_loop``'s loss: the network's own (``batch`` = the standardised rows)."""
    (x,) = batch
    out: torch.Tensor = net.loss(x, generator)
    return out
