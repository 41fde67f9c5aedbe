"""The optional significance gate of regime bests: a seeded moving-block bootstrap.

A challenger may push an incumbent out of a regime's top-N only if, resampling blocks of their
per-bar returns in that regime, the challenger's mean return beats the incumbent's in at least
``confidence`` of the bootstrap samples. Blocks (of ``block_size`` bars) keep the short-range
dependence of returns that an i.i.d. bootstrap would destroy. The same block start positions are
used for both series when they have the same length (a paired test: both models traded the same
bars); otherwise each is resampled on its own.
"""

from __future__ import annotations

import numpy as np


def _block_means(
    returns: np.ndarray, starts: np.ndarray, block_size: int, n_blocks: int
) -> np.ndarray:
    """Mean of each bootstrap sample built from ``starts`` (shape (n_bootstrap, n_blocks))."""
    offsets = np.arange(block_size)
    index = (starts[:, :, None] + offsets) % returns.size
    means: np.ndarray = returns[index].reshape(starts.shape[0], n_blocks * block_size).mean(axis=1)
    return means


def block_bootstrap_better(
    challenger_returns: np.ndarray,
    incumbent_returns: np.ndarray,
    *,
    confidence: float = 0.95,
    block_size: int = 20,
    n_bootstrap: int = 1000,
    seed: int | np.random.Generator = 0,
) -> bool:
    """True when the challenger's mean per-bar return beats the incumbent's with ``confidence``.

    NaN returns are dropped; an empty series never wins (and an empty incumbent always loses).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    if block_size < 1 or n_bootstrap < 1:
        raise ValueError("block_size and n_bootstrap must be at least 1")
    challenger = np.asarray(challenger_returns, dtype=float)
    incumbent = np.asarray(incumbent_returns, dtype=float)
    challenger, incumbent = challenger[np.isfinite(challenger)], incumbent[np.isfinite(incumbent)]
    if challenger.size == 0:
        return False
    if incumbent.size == 0:
        return True
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    size = min(block_size, challenger.size, incumbent.size)
    n_blocks = max(1, -(-max(challenger.size, incumbent.size) // size))
    starts_c = rng.integers(0, challenger.size, size=(n_bootstrap, n_blocks))
    paired = challenger.size == incumbent.size
    starts_i = starts_c if paired else rng.integers(0, incumbent.size, size=(n_bootstrap, n_blocks))
    wins = _block_means(challenger, starts_c, size, n_blocks) > _block_means(
        incumbent, starts_i, size, n_blocks
    )
    return bool(wins.mean() >= confidence)
