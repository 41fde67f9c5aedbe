"""The HMM regime detector (the ``hmm`` extra): a Gaussian HMM read by forward filtering only.

* **Features** per bar: the log return, its mean and the realised volatility over ``rv_window``
  bars, all standardised with the mean and standard deviation of the fitting segment.
* **Fit**: ``hmmlearn.hmm.GaussianHMM`` (4 states, diagonal covariances, ``seed`` as its random
  state, means started from one shape per regime rather than at random, so refits on the same
  bars give the same parameters) on the first ``hmm_fit_fraction``
  (default 0.5) of the usable bars. Fitting only on the start keeps the parameters free of the
  later bars; the labels of the fitting segment itself are still causal given the parameters.
* **Labels**: the *filtered* posterior ``P(state_t | x_1..x_t)`` from the forward recursion,
  computed here with the fitted parameters; its argmax at each t. Never Viterbi or smoothing,
  which would let bars after t change the label at t.
* **Names**: states are mapped deterministically from their means: the highest mean return is
  ``bull_trending``, the lowest ``bear_trending``; of the other two, the higher volatility is
  ``volatile_ranging`` and the lower ``calm_ranging``. Labelling never depends on hmmlearn's state
  numbering, so refits with another seed agree wherever they find the same states.

Bars before ``rv_window`` returns exist are labelled ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from regimeforge.domain.errors import DataError
from regimeforge.domain.regimes import DEFAULT_REGIMES, RegimeDefinition


def _features(close: np.ndarray, rv_window: int) -> np.ndarray:
    returns = pd.Series(np.log(np.asarray(close, dtype=float))).diff()
    rolling = returns.rolling(rv_window, min_periods=rv_window)
    return np.column_stack(
        [returns.to_numpy(), rolling.mean().to_numpy(), rolling.std().to_numpy()]
    )


def forward_filter(
    log_likelihood: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
) -> np.ndarray:
    """Filtered state probabilities ``P(s_t | x_1..x_t)`` (rows sum to 1); causal by design."""
    n, k = log_likelihood.shape
    shifted: np.ndarray = np.exp(log_likelihood - log_likelihood.max(axis=1, keepdims=True))
    filtered = np.empty((n, k))
    alpha = startprob * shifted[0]
    filtered[0] = alpha / alpha.sum()
    for t in range(1, n):
        alpha = (filtered[t - 1] @ transmat) * shifted[t]
        total = alpha.sum()
        # A bar no state can explain (underflow) keeps the predicted distribution.
        filtered[t] = alpha / total if total > 0 else filtered[t - 1] @ transmat
    return filtered


def gaussian_log_likelihood(x: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Log density of each row of ``x`` under each diagonal Gaussian state, shape (n, k)."""
    diff = x[:, None, :] - means[None, :, :]
    result: np.ndarray = -0.5 * (
        np.log(2 * np.pi * variances)[None] + diff**2 / variances[None]
    ).sum(axis=2)
    return result


def state_names(means: np.ndarray) -> list[str]:
    """Regime name per state from (return, mean return, volatility) rows, deterministically."""
    order = np.argsort(means[:, 1], kind="stable")
    names = [""] * len(means)
    names[order[-1]], names[order[0]] = "bull_trending", "bear_trending"
    middle = sorted(order[1:-1], key=lambda s: (means[s, 1], s))
    names[middle[0]], names[middle[-1]] = "calm_ranging", "volatile_ranging"
    return names


@attrs.frozen
class HmmRegimeDetector:
    """Gaussian-HMM regime detector labelled by forward filtering (see the module docstring)."""

    name = "hmm"
    rv_window: int = 20
    fit_fraction: float = 0.5
    n_iter: int = 50
    seed: int = 0

    def fit(self, bars: pd.DataFrame) -> tuple[Any, np.ndarray, np.ndarray]:
        """Fitted model and the feature standardisation (mean, std) from the fitting segment."""
        from hmmlearn.hmm import GaussianHMM  # the optional extra

        x = _features(bars["close"].to_numpy(), self.rv_window)[self.rv_window :]
        n_fit = int(len(x) * self.fit_fraction)
        if n_fit < 200:
            raise DataError(f"the HMM detector needs at least {200 + self.rv_window} bars to fit")
        center, scale = x[:n_fit].mean(axis=0), x[:n_fit].std(axis=0) + 1e-12
        model = GaussianHMM(
            n_components=len(DEFAULT_REGIMES),
            covariance_type="diag",
            n_iter=self.n_iter,
            random_state=self.seed,
            init_params="c",
        )
        # Start from one state per regime shape (standardised features: return, mean return,
        # volatility) instead of random means: refits then converge to the same solution.
        model.means_ = np.array(
            [[0.5, 1.0, 0.0], [-0.5, -1.0, 0.0], [0.0, 0.0, 1.5], [0.0, 0.0, -1.0]]
        )
        model.startprob_ = np.full(4, 0.25)
        model.transmat_ = np.full((4, 4), 0.01 / 3) + np.eye(4) * (0.99 - 0.01 / 3)
        model.fit((x[:n_fit] - center) / scale)
        return model, center, scale

    def label_with(
        self, bars: pd.DataFrame, model: Any, center: np.ndarray, scale: np.ndarray
    ) -> np.ndarray:
        """Labels of ``bars`` by forward filtering with given fitted parameters."""
        x = _features(bars["close"].to_numpy(), self.rv_window)
        labels = np.full(len(x), "", dtype="<U16")
        usable = (x[self.rv_window :] - center) / scale
        if len(usable) == 0:
            return labels
        variances = np.asarray(model.covars_)[:, np.arange(x.shape[1]), np.arange(x.shape[1])]
        loglik = gaussian_log_likelihood(usable, np.asarray(model.means_), variances)
        filtered = forward_filter(loglik, np.asarray(model.startprob_), np.asarray(model.transmat_))
        names = np.array(state_names(np.asarray(model.means_) * scale + center))
        labels[self.rv_window :] = names[filtered.argmax(axis=1)]
        return labels

    def detect(self, bars: pd.DataFrame, regimes: Sequence[RegimeDefinition]) -> np.ndarray:
        """Fit on the first part of ``bars``, then label every bar by forward filtering."""
        model, center, scale = self.fit(bars)
        return self.label_with(bars, model, center, scale)


def from_settings(settings: Mapping[str, Any]) -> HmmRegimeDetector:
    """Build from the ``regimes`` settings block (``rv_window``, ``hmm_fit_fraction``, ``seed``)."""
    return HmmRegimeDetector(
        rv_window=int(settings.get("rv_window", 20)),
        fit_fraction=float(settings.get("hmm_fit_fraction", 0.5)),
        seed=int(settings.get("seed", 0)),
    )
