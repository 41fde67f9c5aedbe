"""Any scikit-learn regressor as a RegimeForge model type (ridge, lasso, elasticnet, rf, yours).

:func:`sklearn_model_type` turns ``make_estimator(params, seed) -> regressor`` into a
``ModelTypeDescriptor``. Training (docs/models.md) fits K members on the walk-forward windows of
:func:`heads.member_windows`; each member is ONE multi-output estimator predicting the cumulative
returns of every fitted step (estimators without native multi-output support are wrapped in
``MultiOutputRegressor``), on targets divided by their train standard deviation per step so
that hyperparameters such as ``alpha`` do not depend on the scale of returns. Then it fits the
state transition of the recursive method, and per prediction method the validation errors and the
stacking meta-model (``stacking.py``).

With ``own_spread=True`` the estimator must be an averaging ensemble exposing ``estimators_``
(random forest, extra trees, bagging): a member's forecast is the mean of its sub-estimators'
forecasts and its spread their standard deviation, per prediction method.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.models.sklearn_model import METHODS, SklearnModel
from regimeforge.plugins.builtin.models.stacking import fit_stacking, validation_errors
from regimeforge.plugins.descriptors import ModelTypeDescriptor

MakeEstimator = Callable[[Mapping[str, Any], int], Any]


def member_seed(seed: int, member: int) -> int:
    """The random seed of member ``member`` (0-based) of a model trained with ``seed``."""
    return (int(seed) * 7919 + member * 104729 + 17) % (2**31 - 1)


def finite_rows(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` without NaN or infinity."""
    ok: np.ndarray = np.isfinite(values).all(axis=1)
    return ok


def clean_features(features: np.ndarray) -> np.ndarray:
    """float64 features with non-finite values set to 0 (the train mean of scaled features)."""
    x = np.asarray(features, dtype=np.float64)
    return np.where(np.isfinite(x), x, 0.0)


def _multi_output(estimator: Any) -> Any:
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.utils import get_tags

    if get_tags(estimator).target_tags.multi_output:
        return estimator
    return MultiOutputRegressor(estimator)


class SklearnTrainer:
    """The ``ModelTrainer`` of a scikit-learn model type (see the module docstring)."""

    def __init__(self, name: str, make_estimator: MakeEstimator, own_spread: bool = False) -> None:
        self.name = name
        self.make_estimator = make_estimator
        self.own_spread = own_spread

    def fit(self, data: PreparedData, config: ModelConfig) -> SklearnModel:
        """Train the members, the transition, validation errors and stacking (see module doc)."""
        horizon = int(data.horizon)
        steps = heads.head_steps(horizon)
        x = clean_features(data.features)
        y = heads.cumulative_targets(np.asarray(data.targets, dtype=np.float64), steps)
        train_y = y[data.train][finite_rows(y[data.train])]
        y_scale = train_y.std(axis=0) if train_y.shape[0] > 1 else np.ones(steps.size)
        y_scale = np.where(np.isfinite(y_scale) & (y_scale > 0), y_scale, 1.0)
        members_n = int(config.preprocessing.get("ensemble_members", 5))
        params = dict(config.model_hyperparams)
        members, rows_used, fit_warnings = [], 0, 0
        for k, window in enumerate(heads.member_windows(data.train, members_n, horizon)):
            rows = np.arange(window.start, window.stop)
            rows = rows[finite_rows(y[rows])]
            estimator = self.make_estimator(params, member_seed(config.seed, k))
            if not self.own_spread and steps.size > 1:
                estimator = _multi_output(estimator)
            target = y[rows] / y_scale
            with warnings.catch_warnings(record=True) as caught:
                # e.g. ConvergenceWarning: counted in the training metrics, not printed per fit
                warnings.simplefilter("always")
                estimator.fit(x[rows], target[:, 0] if steps.size == 1 else target)
            fit_warnings += len(caught)
            members.append(estimator)
            rows_used = max(rows_used, rows.size)
        model = SklearnModel(
            name=self.name,
            horizon=horizon,
            steps=steps,
            members=members,
            y_scale=y_scale,
            transition=heads.Transition.fit(x[data.train]),
            own_spread=self.own_spread,
            feature_count=int(x.shape[1]),
        )
        metrics = fit_ensembles(model, x[data.validation], y[data.validation, -1])
        model.training_metrics = {
            "train_rows": float(rows_used),
            "members": float(members_n),
            "fit_warnings": float(fit_warnings),
            **metrics,
        }
        return model

    def load(self, payload: bytes) -> SklearnModel:
        """A model from ``SklearnModel.to_bytes()`` (bytes the artifact store has verified)."""
        return SklearnModel.from_bytes(payload)


def fit_ensembles(model: SklearnModel, x_val: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Per method: the members' validation errors and stacking (stored in ``model``), and the
    validation metrics of the mean ensemble against ``truth`` (the realised horizon return).

    Works for any ``SklearnModel`` (or subclass) whose members are fitted.
    """
    metrics: dict[str, float] = {}
    for method in METHODS:
        predictions, _ = model.member_values(x_val, method)
        model.val_errors[method] = validation_errors(predictions, truth)
        model.stack[method] = fit_stacking(predictions, truth)
        metrics.update(_validation_metrics(method, predictions.mean(axis=0), truth))
    return metrics


def _validation_metrics(method: str, forecast: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(forecast) & np.isfinite(truth)
    if not ok.any():
        return {}
    f, t = forecast[ok], truth[ok]
    return {
        f"val_mse_{method}": float(np.mean(np.square(f - t))),
        f"val_mse_zero_{method}": float(np.mean(np.square(t))),
        f"val_hit_rate_{method}": float(np.mean(np.sign(f) == np.sign(t))),
    }


def sklearn_model_type(
    name: str,
    make_estimator: MakeEstimator,
    hyperparams: Mapping[str, Any],
    description: str = "",
    *,
    own_spread: bool = False,
) -> ModelTypeDescriptor:
    """A model type from any scikit-learn regressor, in one call.

    ``make_estimator(params, seed)`` builds an unfitted regressor from the config's
    ``model_hyperparams`` (``hyperparams`` are their only allowed keys, with defaults) and a
    member seed; it must be a picklable, importable class for saved models to load.
    ``own_spread=True`` for averaging ensembles with ``estimators_`` whose spread is the
    confidence (see the module docstring).
    """
    return ModelTypeDescriptor(
        name=name,
        trainer_factory=functools.partial(SklearnTrainer, name, make_estimator, own_spread),
        hyperparams=hyperparams,
        description=description,
        has_own_spread=own_spread,
    )
