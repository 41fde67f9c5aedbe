"""The PyTorch side of ``lightning``: the forecasting network and its fitted-member wrapper.

Imported only when a ``lightning`` model trains, forecasts or loads (it imports torch).

:class:`ForecastNet` maps (standardised) features to the scaled cumulative returns of the fitted
steps: a linear path plus a small multi-layer perceptron (``layers`` hidden layers of ``hidden``
units, GELU, dropout), summed. Both output layers start at zero, so an untrained network is the
zero forecast and early stopping on pure noise stays close to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from regimeforge.plugins.builtin.neural.common import to_tensor

#: Rows per forward pass when forecasting (bounds memory on long histories).
PREDICT_CHUNK = 65_536


class ForecastNet(nn.Module):
    """Features (n, inputs) -> scaled cumulative returns of the fitted steps (n, outputs)."""

    def __init__(self, inputs: int, outputs: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(inputs, outputs)
        blocks: list[nn.Module] = []
        width = inputs
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout)]
            width = hidden
        self.hidden = nn.Sequential(*blocks)
        self.out = nn.Linear(width, outputs) if layers else None
        for layer in (self.linear, self.out):
            if layer is not None:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The linear path plus the perceptron."""
        y: torch.Tensor = self.linear(x)
        if self.out is not None:
            y = y + self.out(self.hidden(x))
        return y


def build(spec: dict[str, Any]) -> ForecastNet:
    """An untrained network from its manifest entry (``inputs``, ``outputs``, sizes)."""
    return ForecastNet(
        int(spec["inputs"]),
        int(spec["outputs"]),
        int(spec["hidden"]),
        int(spec["layers"]),
        float(spec["dropout"]),
    )


def mse_loss(net: Any, batch: Any, generator: Any) -> torch.Tensor:
    """Mean squared error of the scaled step targets (``batch`` = features, targets)."""
    x, y = batch
    return functional.mse_loss(net(x), y)


class NetMember:
    """A fitted member as the heads code sees estimators: ``predict(x) -> (n, steps)``.

    Standardises the features with the member's train statistics and multiplies nothing back:
    the caller (``SklearnModel``) rescales by σ_j.
    """

    def __init__(self, net: ForecastNet, x_mean: np.ndarray, x_std: np.ndarray) -> None:
        self.net = net.eval()
        self.x_mean = np.asarray(x_mean, dtype=np.float64)
        self.x_std = np.asarray(x_std, dtype=np.float64)

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return next(self.net.parameters()).device

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, steps) float64 forecasts of the scaled cumulative returns."""
        z = (np.asarray(x, dtype=np.float64) - self.x_mean) / self.x_std
        out = []
        with torch.no_grad():
            for start in range(0, max(z.shape[0], 1), PREDICT_CHUNK):
                chunk = to_tensor(z[start : start + PREDICT_CHUNK], self.device)
                out.append(self.net(chunk).double().cpu().numpy())
        return np.concatenate(out, axis=0)
