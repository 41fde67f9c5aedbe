"""What every neural model type and encoder shares: torch on demand, device, seeds, weights, fit.

This module imports without torch; every function that needs it imports it when called.

- :func:`torch_available` / :func:`require_torch`: is the ``torch`` extra installed (a clear
  ``PluginError`` naming the fix when it is needed and missing);
- :func:`device_of`: ``auto`` (CUDA when present, else the CPU), ``cpu`` or ``cuda``; the
  environment variable ``REGIMEFORGE_TORCH_DEVICE`` is the default;
- :func:`set_threads`: intra-op threads, from ``REGIMEFORGE_TORCH_THREADS`` (default 1: workers
  already run ``max_parallel`` at a time, as ``rf`` uses ``n_jobs=1``);
- :func:`seed_everything`: the torch seed plus deterministic cuDNN;
- :func:`state_dict_to_bytes` / :func:`state_dict_from_bytes`: weights as ``torch.save`` bytes
  and their SHA-256; loading checks the hash first and uses ``weights_only=True``;
- :func:`fit_loop`: Adam over shuffled minibatches with early stopping on a validation set
  (best weights restored). The loss is the caller's, so the same loop trains a forecaster, an
  autoencoder or a denoiser.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from regimeforge.domain.errors import ArtifactIntegrityError, PluginError
from regimeforge.plugins.builtin.models import serialization as ser

#: Why a neural model type or encoder is unavailable (``regimeforge plugins`` shows it).
TORCH_REASON: Final[str] = "needs the torch extra: pip install 'regimeforge[torch]'"
DEVICE_ENV: Final[str] = "REGIMEFORGE_TORCH_DEVICE"
THREADS_ENV: Final[str] = "REGIMEFORGE_TORCH_THREADS"
DEVICES: Final[tuple[str, ...]] = ("auto", "cpu", "cuda")
#: A validation loss must fall by this fraction of the best one to count as an improvement.
MIN_IMPROVEMENT: Final[float] = 1e-4

LossFn = Callable[[Any, Sequence[Any], Any], Any]


def torch_available() -> bool:
    """True when PyTorch can be imported (checked without importing it)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None  # None: hidden on purpose (tests)
    return importlib.util.find_spec("torch") is not None


def require_torch() -> Any:
    """The ``torch`` module; PluginError with the install command when it is missing."""
    try:
        import torch
    except ImportError:
        raise PluginError(f"this model type or encoder {TORCH_REASON}") from None
    return torch


def device_of(setting: str | None = None) -> Any:
    """The torch device for ``setting`` (``auto``, ``cpu``, ``cuda``; default: the env var).

    ``auto`` is CUDA when a GPU is visible, the CPU otherwise. ``cuda`` without a GPU is a
    PluginError (a forced GPU run should not quietly take hours on the CPU).
    """
    torch = require_torch()
    wanted = (setting or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if wanted not in DEVICES:
        raise PluginError(f"{DEVICE_ENV}={wanted!r} is not one of {', '.join(DEVICES)}")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise PluginError(f"{DEVICE_ENV}=cuda but torch sees no GPU; use auto or cpu")
    if wanted == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def set_threads(setting: int | None = None) -> int:
    """Set torch's intra-op threads (``setting``, else ``REGIMEFORGE_TORCH_THREADS``, else 1)."""
    torch = require_torch()
    raw = setting if setting is not None else os.environ.get(THREADS_ENV, "1")
    try:
        threads = int(raw)
    except (TypeError, ValueError):
        raise PluginError(f"{THREADS_ENV}={raw!r} is not a whole number of threads") from None
    threads = max(1, threads)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and ask cuDNN for deterministic kernels.

    Same seed, same device, same thread count: same weights and forecasts. The global numpy
    generator is not touched (the models draw from their own seeded generators).
    """
    torch = require_torch()
    torch.manual_seed(int(seed) % (2**63 - 1))
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def state_dict_to_bytes(state: Mapping[str, Any]) -> tuple[bytes, str]:
    """``torch.save`` bytes of a state dict (tensors moved to the CPU) and their SHA-256."""
    cpu = {k: v.detach().cpu() if hasattr(v, "detach") else v for k, v in state.items()}
    data = ser.torch_part(cpu)
    return data, hashlib.sha256(data).hexdigest()


def state_dict_from_bytes(
    data: bytes, expected_sha256: str, where: str = "weights"
) -> dict[str, Any]:
    """The state dict of ``data`` once its SHA-256 is ``expected_sha256`` (weights_only load).

    A mismatch is ArtifactIntegrityError and the bytes are never handed to ``torch.load``.
    """
    require_torch()
    found = hashlib.sha256(data).hexdigest()
    if found != expected_sha256:
        raise ArtifactIntegrityError(
            f"{where}: SHA-256 {found} does not match the recorded {expected_sha256}; the "
            "weights were changed after they were written and are not loaded (retrain the model)"
        )
    return ser.load_torch_part(data)


@attrs.frozen
class FitReport:
    """What :func:`fit_loop` did: epochs run, the best epoch (1-based) and its losses."""

    epochs: int
    best_epoch: int
    train_loss: float
    val_loss: float


def _batches(n: int, batch_size: int, generator: Any, shuffle: bool) -> list[Any]:
    import torch

    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return list(torch.split(order, max(1, batch_size)))


def evaluate(
    net: Any, loss_fn: LossFn, tensors: Sequence[Any], batch_size: int, seed: int
) -> float:
    """Mean loss of ``net`` over ``tensors`` in eval mode (a fixed generator for random losses)."""
    import torch

    n = int(tensors[0].shape[0])
    if n == 0:
        return math.nan
    generator = torch.Generator(device=tensors[0].device).manual_seed(seed)
    net.eval()
    total = 0.0
    with torch.no_grad():
        for index in _batches(n, batch_size, None, shuffle=False):
            index = index.to(tensors[0].device)
            batch = [t[index] for t in tensors]
            total += float(loss_fn(net, batch, generator)) * int(index.numel())
    return total / n


def fit_loop(
    net: Any,
    loss_fn: LossFn,
    train: Sequence[Any],
    validation: Sequence[Any] | None = None,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
    weight_decay: float = 0.0,
) -> FitReport:
    """Train ``net`` with Adam; stop when the validation loss stops improving.

    ``train`` and ``validation`` are sequences of tensors with the same first dimension, already
    on the net's device. ``loss_fn(net, batch, generator)`` returns the scalar loss of one
    minibatch (``batch`` the tensors indexed by it; ``generator`` a seeded torch.Generator for
    losses that draw noise). Each epoch shuffles with a generator seeded by ``seed``. With
    validation rows, training stops after ``patience`` epochs without a relative improvement of
    ``MIN_IMPROVEMENT`` and the best epoch's weights are restored; the validation loss of each
    epoch uses the same random draws, so epochs compare fairly. Without validation rows every
    epoch runs and the last weights stay.
    """
    import torch

    device = train[0].device
    n = int(train[0].shape[0])
    if n == 0:
        raise ValueError("fit_loop needs at least one training row")
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    shuffler = torch.Generator().manual_seed(int(seed))
    noise = torch.Generator(device=device).manual_seed(int(seed) + 1)
    has_val = validation is not None and int(validation[0].shape[0]) > 0
    best, best_epoch, best_state, waited = math.inf, 0, None, 0
    train_loss, epoch = math.nan, 0
    for epoch in range(1, int(epochs) + 1):
        net.train()
        total = 0.0
        for index in _batches(n, batch_size, shuffler, shuffle=True):
            index = index.to(device)
            loss = loss_fn(net, [t[index] for t in train], noise)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * int(index.numel())
        train_loss = total / n
        if not has_val:
            continue
        assert validation is not None
        val = evaluate(net, loss_fn, validation, batch_size, int(seed) + 2)
        if best_state is None or val < best - MIN_IMPROVEMENT * abs(best):
            best, best_epoch, waited = val, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            waited += 1
            if waited >= patience:
                break
    net.eval()
    if best_state is not None:
        net.load_state_dict(best_state)
        return FitReport(epoch, best_epoch, train_loss, best)
    return FitReport(epoch, epoch, train_loss, math.nan)


def to_tensor(array: Any, device: Any) -> Any:
    """A float32 tensor of a numpy array on ``device``."""
    import numpy as np
    import torch

    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float32), device=device)
