"""Built-in model types: ridge, lasso, elasticnet and rf (scikit-learn), as an ordinary plugin.

Each is one :func:`sklearn_model_type` call; small defaults so that a model trains in about a
second on 5,000 bars. ``sklearn_model_type`` is re-exported here for third-party plugins
(docs/plugins.md, "Registering a scikit-learn regressor").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regimeforge.plugins.builtin.models.sklearn_models import sklearn_model_type
from regimeforge.plugins.descriptors import ModelTypeDescriptor
from regimeforge.plugins.hookspecs import hookimpl

__all__ = ["builtin_model_types", "register_model_types", "sklearn_model_type"]


def make_ridge(params: Mapping[str, Any], seed: int) -> Any:
    """Ridge regression (``alpha``)."""
    from sklearn.linear_model import Ridge

    return Ridge(alpha=float(params["alpha"]))


def make_lasso(params: Mapping[str, Any], seed: int) -> Any:
    """Lasso (``alpha``), coordinate descent in cyclic order (deterministic), on the Gram matrix."""
    from sklearn.linear_model import Lasso

    # the Gram matrix (features x features) makes coordinate descent ~40x faster on bars
    return Lasso(alpha=float(params["alpha"]), precompute=True, max_iter=5000, random_state=seed)


def make_elasticnet(params: Mapping[str, Any], seed: int) -> Any:
    """Elastic net (``alpha``, ``l1_ratio``)."""
    from sklearn.linear_model import ElasticNet

    return ElasticNet(
        alpha=float(params["alpha"]),
        l1_ratio=float(params["l1_ratio"]),
        precompute=True,
        max_iter=5000,
        random_state=seed,
    )


def make_rf(params: Mapping[str, Any], seed: int) -> Any:
    """Random forest; ``max_features`` <= 1 is a fraction of the features, above 1 a count.

    One process (``n_jobs=1``): workers already run in parallel.
    """
    from sklearn.ensemble import RandomForestRegressor

    depth = params.get("max_depth")
    features = params["max_features"]
    if isinstance(features, int | float) and not isinstance(features, bool) and features <= 1:
        # canonical configs turn 1.0 into 1, which scikit-learn would read as "one feature"
        features = float(features)
    return RandomForestRegressor(
        n_estimators=int(params["n_estimators"]),
        max_depth=None if depth is None else int(depth),
        min_samples_leaf=int(params["min_samples_leaf"]),
        max_features=features,
        random_state=seed,
        n_jobs=1,
    )


def builtin_model_types() -> list[ModelTypeDescriptor]:
    """The descriptors of the built-in scikit-learn model types."""
    return [
        sklearn_model_type("ridge", make_ridge, {"alpha": 1.0}, "ridge regression"),
        sklearn_model_type("lasso", make_lasso, {"alpha": 0.0001}, "lasso regression"),
        sklearn_model_type(
            "elasticnet",
            make_elasticnet,
            {"alpha": 0.0001, "l1_ratio": 0.5},
            "elastic net regression",
        ),
        sklearn_model_type(
            "rf",
            make_rf,
            {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 20, "max_features": 0.5},
            "random forest; confidence from the spread of its trees",
            own_spread=True,
        ),
    ]


@hookimpl
def register_model_types() -> list[ModelTypeDescriptor]:
    """The built-in scikit-learn model types."""
    return builtin_model_types()
