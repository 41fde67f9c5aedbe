"""The arithmetic of heads, members and prediction methods, independent of any estimator.

Definitions (docs/models.md):

- **Steps.** A model fits step heads ``h_j`` (the cumulative log return over bars t+1..t+j) for
  the steps of :func:`head_steps`: every step up to 10, else 10 log-spaced steps that include 1
  and H. Heads of the other steps are the linear interpolation of their fitted neighbours.
- **direct** is the head of step H.
- **direct_multi** is the consensus ``(1/H) Σ_{j=1..H} h_j · H / j = Σ_j h_j / j`` (each head's
  implied per-bar drift, scaled to H); with interpolated heads it is a fixed linear combination of
  the fitted heads (:func:`direct_multi_weights`).
- **recursive** chains the one-step head ``g = h_1`` through the linear state transition
  ``x_{t+1} ≈ A x_t + b`` (:class:`Transition`): ``Σ_{i=0}^{H-1} g(x̂_i)`` with ``x̂_0 = x_t`` and
  ``x̂_{i+1} = A x̂_i + b``. ``g`` is evaluated at the chain points of :func:`chain_points` (all
  of them up to 32, else 24) and linearly interpolated in between (:func:`chain_weights`).
- **Members.** :func:`member_windows`: K expanding walk-forward windows of the train rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import numpy as np

from regimeforge.domain.errors import DataError, Problem
from regimeforge.domain.forecasts import MemberForecasts

MAX_HEADS = 10
ALL_CHAIN_POINTS_UP_TO = 32
CHAIN_POINTS = 24
#: The transition is shrunk to this spectral radius so that chained states stay bounded.
MAX_SPECTRAL_RADIUS = 0.99
MIN_MEMBER_ROWS = 20


def head_steps(horizon: int, max_heads: int = MAX_HEADS) -> np.ndarray:
    """The fitted steps: 1..H when H <= max_heads, else ``max_heads`` log-spaced steps with 1, H."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if horizon <= max_heads:
        return np.arange(1, horizon + 1)
    steps = np.unique(np.round(np.geomspace(1, horizon, max_heads)).astype(np.int64))
    return steps


def cumulative_targets(targets: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """(n, m) cumulative log returns to each step (NaN where a needed return is unknown)."""
    cumulative = np.cumsum(targets[:, : int(steps[-1])], axis=1)
    out: np.ndarray = cumulative[:, steps - 1]
    return out


def interpolation_matrix(points: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(len(grid), len(points)) weights of linear interpolation at ``grid`` from ``points``.

    ``points`` are sorted and cover ``grid``; a grid value equal to a point takes its value.
    """
    pts = np.asarray(points, dtype=np.float64)
    g = np.asarray(grid, dtype=np.float64)
    weights = np.zeros((g.size, pts.size))
    if pts.size == 1:
        weights[:, 0] = 1.0
        return weights
    right = np.clip(np.searchsorted(pts, g, side="left"), 1, pts.size - 1)
    left = right - 1
    span = pts[right] - pts[left]
    frac = np.clip((g - pts[left]) / span, 0.0, 1.0)
    rows = np.arange(g.size)
    weights[rows, left] += 1.0 - frac
    weights[rows, right] += frac
    return weights


def direct_multi_weights(steps: np.ndarray, horizon: int) -> np.ndarray:
    """(m,) weights ``c`` with ``direct_multi = Σ_s c_s h_s`` (heads interpolated, Σ_j h_j / j)."""
    grid = np.arange(1, horizon + 1)
    weights: np.ndarray = (1.0 / grid) @ interpolation_matrix(steps, grid)
    return weights


def chain_points(horizon: int) -> np.ndarray:
    """Chain indices i (0..H-1) where the one-step head is evaluated."""
    if horizon <= ALL_CHAIN_POINTS_UP_TO:
        return np.arange(horizon)
    dense = np.arange(8)
    sparse = np.round(np.geomspace(8, horizon - 1, CHAIN_POINTS - 8)).astype(np.int64)
    return np.unique(np.concatenate([dense, sparse]))


def chain_weights(points: np.ndarray, horizon: int) -> np.ndarray:
    """(p,) weights with ``Σ_{i<H} g_i ≈ Σ_p w_p g(points_p)`` (exact when every i is a point)."""
    ones = np.ones(horizon)
    weights: np.ndarray = ones @ interpolation_matrix(points, np.arange(horizon))
    return weights


@attrs.frozen(eq=False)
class Transition:
    """The linear state transition ``x_{t+1} ≈ A x_t + b`` of the (encoded) features."""

    a: np.ndarray  # (f, f)
    b: np.ndarray  # (f,)

    @classmethod
    def fit(cls, features: np.ndarray, alpha: float = 1e-3) -> Transition:
        """Ridge least squares over consecutive rows, shrunk to a stable spectral radius."""
        x, y = features[:-1], features[1:]
        ok = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
        x, y = x[ok], y[ok]
        f = features.shape[1]
        if x.shape[0] < 2:
            return cls(np.zeros((f, f)), np.zeros(f))
        mx, my = x.mean(axis=0), y.mean(axis=0)
        xc, yc = x - mx, y - my
        gram = xc.T @ xc
        ridge = alpha * max(float(np.trace(gram)) / f, 1e-12)
        coef = np.linalg.solve(gram + ridge * np.eye(f), xc.T @ yc)  # (f, f): y ≈ x @ coef
        a = coef.T
        radius = float(np.max(np.abs(np.linalg.eigvals(a)))) if f else 0.0
        if radius > MAX_SPECTRAL_RADIUS:
            # A chained unstable map explodes over long horizons; shrinking keeps it contracting.
            a = a * (MAX_SPECTRAL_RADIUS / radius)
        b = my - a @ mx
        return cls(np.ascontiguousarray(a), b)

    def states_at(self, features: np.ndarray, points: np.ndarray) -> Iterator[np.ndarray]:
        """``x̂_i`` (n, f) for each chain point i, in order (affine maps composed on f × f)."""
        f = self.a.shape[0]
        power, offset = np.eye(f), np.zeros(f)
        i = 0
        for point in points:
            while i < int(point):
                power, offset = self.a @ power, self.a @ offset + self.b
                i += 1
            yield features @ power.T + offset


def member_windows(train: slice, members: int, horizon: int) -> list[slice]:
    """The K expanding walk-forward windows of the train rows.

    Fold k = 1..K ends at ``start + ceil(n (K + k) / 2K)`` (the last at the end of train); member
    k trains on the rows from the start of train up to its fold end, minus ``horizon`` purged
    rows for k < K so that no training target reaches past the fold (the split's own purge gap
    protects the last fold).
    """
    start, stop = int(train.start or 0), int(train.stop)
    n = stop - start
    out = []
    for k in range(1, members + 1):
        end = start + math.ceil(n * (members + k) / (2 * members))
        end = end if k == members else end - horizon
        if end - start < MIN_MEMBER_ROWS:
            raise DataError(
                [
                    Problem(
                        "preprocessing.ensemble_members",
                        f"member {k} of {members} would train on {max(end - start, 0)} rows "
                        f"(train segment {n} rows, horizon {horizon}); at least "
                        f"{MIN_MEMBER_ROWS} are needed",
                        "use fewer ensemble_members, a shorter horizon or more days_history",
                    )
                ]
            )
        out.append(slice(start, end))
    return out


#: The prediction methods every trained model serves (one ensemble state per method).
METHODS: tuple[str, ...] = ("direct", "recursive", "direct_multi")


def ensemble_arrays(
    transition: Transition,
    val_errors: Mapping[str, np.ndarray],
    stack: Mapping[str, tuple[np.ndarray, float]],
) -> dict[str, np.ndarray]:
    """The saved arrays every model type shares: transition, validation errors, stacking."""
    arrays = {"transition_a": transition.a, "transition_b": transition.b}
    for method in METHODS:
        arrays[f"val_errors_{method}"] = val_errors[method]
        arrays[f"stack_coef_{method}"] = stack[method][0]
        arrays[f"stack_intercept_{method}"] = np.array(stack[method][1])
    return arrays


def ensemble_fields(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """``transition``, ``val_errors`` and ``stack`` back from ``ensemble_arrays`` output."""
    return {
        "transition": Transition(arrays["transition_a"], arrays["transition_b"]),
        "val_errors": {m: arrays[f"val_errors_{m}"] for m in METHODS},
        "stack": {
            m: (arrays[f"stack_coef_{m}"], float(arrays[f"stack_intercept_{m}"])) for m in METHODS
        },
    }


def feature_rows(features: np.ndarray, feature_count: int) -> np.ndarray:
    """(n, feature_count) float rows with non-finite values set to 0; DataError otherwise."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != feature_count:
        raise DataError([Problem("features", f"expected (n, {feature_count}) rows, got {x.shape}")])
    return np.where(np.isfinite(x), x, 0.0)


def member_forecasts(
    values: np.ndarray,
    spread: np.ndarray | None,
    val_errors: np.ndarray,
    stack: tuple[np.ndarray, float],
) -> MemberForecasts:
    """``MemberForecasts`` of one method from member values and that method's ensemble state."""
    coef, intercept = stack
    return MemberForecasts(
        values=values,
        val_errors=val_errors.copy(),
        stack_coef=coef.copy(),
        stack_intercept=float(intercept),
        spread=spread,
    )
