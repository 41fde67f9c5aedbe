"""A trained scikit-learn model: K multi-output members, the heads of every prediction method.

``member_values(features, method)`` gives each member's forecast of the cumulative log return
over bars t+1..t+H (see ``heads`` for direct, direct_multi and recursive) and, for models with
their own spread, the standard deviation over each member's sub-estimators of the same quantity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.forecasts import MemberForecasts
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.models import serialization as ser

METHODS = heads.METHODS  # re-exported: the methods every model serves
FORMAT = "regimeforge-sklearn-model"
FORMAT_VERSION = 1


def _outputs(estimator: Any, x: np.ndarray) -> np.ndarray:
    """(n, m) predictions of a fitted multi-output estimator."""
    return np.asarray(estimator.predict(x), dtype=np.float64).reshape(x.shape[0], -1)


def _sub_outputs(estimator: Any, x: np.ndarray) -> np.ndarray:
    """(T, n, m) predictions of each sub-estimator of an averaging ensemble."""
    subsets = getattr(estimator, "estimators_features_", None)
    subs = estimator.estimators_
    if subsets is None and all(hasattr(s, "tree_") for s in subs):
        # what the forest's own predict does: float32 rows checked once, not once per tree
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        out = [sub.predict(x32, check_input=False) for sub in subs]
    else:
        out = [
            sub.predict(x if subsets is None else x[:, subsets[i]]) for i, sub in enumerate(subs)
        ]
    return np.stack([np.asarray(p, dtype=np.float64).reshape(x.shape[0], -1) for p in out])


@attrs.define(eq=False)
class SklearnModel:
    """A fitted scikit-learn model type (implements the ``TrainedModel`` port)."""

    name: str
    horizon: int
    steps: np.ndarray
    members: list[Any]
    y_scale: np.ndarray
    transition: heads.Transition
    own_spread: bool
    feature_count: int
    val_errors: dict[str, np.ndarray] = attrs.field(factory=dict)
    stack: dict[str, tuple[np.ndarray, float]] = attrs.field(factory=dict)
    training_metrics: Mapping[str, float] = attrs.field(factory=dict)

    def _combine(self, estimator: Any, x: np.ndarray, method: str) -> np.ndarray:
        """(T, n) per sub-estimator (own spread) or (1, n) forecasts of ``method``."""
        predict = _sub_outputs if self.own_spread else (lambda e, v: _outputs(e, v)[None])
        if method == "direct":
            out: np.ndarray = predict(estimator, x)[:, :, -1] * self.y_scale[-1]
            return out
        if method == "direct_multi":
            weights = heads.direct_multi_weights(self.steps, self.horizon) * self.y_scale
            multi: np.ndarray = predict(estimator, x) @ weights
            return multi
        points = heads.chain_points(self.horizon)
        weights = heads.chain_weights(points, self.horizon) * self.y_scale[0]
        total: np.ndarray | None = None
        for weight, state in zip(weights, self.transition.states_at(x, points), strict=True):
            step = predict(estimator, state)[:, :, 0] * weight
            total = step if total is None else total + step
        assert total is not None
        return total

    def member_values(self, features: np.ndarray, method: str) -> tuple[np.ndarray, Any]:
        """(K, n) member forecasts of ``method`` and their (K, n) spread (None without one)."""
        if method not in METHODS:
            raise ConfigError(
                [Problem("prediction_method", f"unknown method {method!r}", f"use {METHODS}")]
            )
        x = np.asarray(features, dtype=np.float64)
        if x.shape[0] == 0:
            empty = np.zeros((len(self.members), 0))
            return empty, (empty.copy() if self.own_spread else None)
        per_member = [self._combine(m, x, method) for m in self.members]
        values = np.stack([p.mean(axis=0) for p in per_member])
        if not self.own_spread:
            return values, None
        return values, np.stack([p.std(axis=0) for p in per_member])

    def forecast(
        self, features: np.ndarray, method: str, params: Mapping[str, Any] | None = None
    ) -> MemberForecasts:
        """``MemberForecasts`` of ``method`` for (n, f) feature rows (non-finite values -> 0)."""
        x = heads.feature_rows(features, self.feature_count)
        values, spread = self.member_values(x, method)
        return heads.member_forecasts(values, spread, self.val_errors[method], self.stack[method])

    def to_bytes(self) -> bytes:
        """The model as a bundle: manifest, arrays (.npz) and one pickled estimator per member."""
        import sklearn

        arrays: dict[str, np.ndarray] = {
            "steps": self.steps,
            "y_scale": self.y_scale,
            **heads.ensemble_arrays(self.transition, self.val_errors, self.stack),
        }
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_type": self.name,
            "horizon": self.horizon,
            "members": len(self.members),
            "own_spread": self.own_spread,
            "feature_count": self.feature_count,
            "training_metrics": {k: v for k, v in self.training_metrics.items() if np.isfinite(v)},
            "sklearn_version": sklearn.__version__,
            "numpy_version": np.__version__,
        }
        parts = {"arrays.npz": ser.arrays_part(**arrays)}
        for k, member in enumerate(self.members):
            parts[f"members/{k:03d}.pkl"] = ser.pickle_part(member)
        return ser.write_bundle(manifest, parts)

    @classmethod
    def from_bytes(cls, payload: bytes) -> SklearnModel:
        """Rebuild from :meth:`to_bytes` output (verified by the artifact store first)."""
        manifest, parts = ser.read_bundle(payload)
        ser.check_format(manifest, FORMAT, FORMAT_VERSION)
        arrays = ser.load_arrays(parts["arrays.npz"])
        members = [ser.unpickle_part(parts[f"members/{k:03d}.pkl"]) for k in
                   range(int(manifest["members"]))]  # fmt: skip
        return cls(
            name=str(manifest["model_type"]),
            horizon=int(manifest["horizon"]),
            steps=arrays["steps"],
            members=members,
            y_scale=arrays["y_scale"],
            own_spread=bool(manifest["own_spread"]),
            feature_count=int(manifest["feature_count"]),
            **heads.ensemble_fields(arrays),
            training_metrics={k: float(v) for k, v in manifest["training_metrics"].items()},
        )
