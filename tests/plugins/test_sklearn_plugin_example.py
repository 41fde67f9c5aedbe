"""The example of docs/plugins.md, "Registering a scikit-learn regressor", works as written:
the plugin below is that example verbatim; it registers, validates, trains, learns, saves and
loads like a built-in model type."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import HuberRegressor  # the example's imports: this one and ...

from models_data import ar1_data, cumulative_truth, model_config
from regimeforge import hookimpl  # ... this one and ...
from regimeforge.adapters.artifacts import FilesystemArtifactStore
from regimeforge.domain.errors import ConfigError
from regimeforge.plugins.builtin.models import sklearn_model_type  # ... this one
from regimeforge.plugins.builtin.models.composite import build_trainer, load_model
from regimeforge.plugins.manager import get_plugin_manager

# --- the documented example, verbatim ---------------------------------------------------------


def make_huber(params, seed):  # type: ignore[no-untyped-def]
    return HuberRegressor(epsilon=float(params["epsilon"]), alpha=float(params["alpha"]))


@hookimpl
def register_model_types():  # type: ignore[no-untyped-def]
    return [sklearn_model_type("huber", make_huber, {"epsilon": 1.35, "alpha": 0.0001},
                               "Huber regression, robust to outlier bars")]  # fmt: skip


# ----------------------------------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def test_the_test_holds_the_documented_code() -> None:
    text = DOC.read_text()
    for line in (
        "def make_huber(params, seed):",
        '    return HuberRegressor(epsilon=float(params["epsilon"]), alpha=float(params["alpha"]))',
        '    return [sklearn_model_type("huber", make_huber, {"epsilon": 1.35, "alpha": 0.0001},',
        "from regimeforge.plugins.builtin.models import sklearn_model_type",
    ):
        assert line in text


def test_the_example_plugin_trains_learns_and_round_trips(tmp_path: Path) -> None:
    registry = get_plugin_manager(entry_points=False, extra_plugins=[sys.modules[__name__]])
    assert registry.origin("model_types", "huber") == __name__
    assert registry.catalog().model_types["huber"] == {"epsilon": 1.35, "alpha": 0.0001}
    config = model_config(registry, "huber", horizon=3, hyperparams={"epsilon": 1.5})
    data = ar1_data(2000, phi=0.4, horizon=3, seed=8)
    model = build_trainer(registry, config).fit(data, config)

    test = data.features[data.test]
    truth = cumulative_truth(data, data.test)
    known = np.isfinite(truth)
    forecast = model.forecast(test, "direct").values.mean(axis=0)
    assert np.mean(np.sign(forecast[known]) == np.sign(truth[known])) > 0.55
    huber = model.model.members[0]  # type: ignore[attr-defined]
    assert type(huber).__name__ == "MultiOutputRegressor"  # wrapped: one Huber per step head
    assert huber.estimators_[0].epsilon == 1.5

    store = FilesystemArtifactStore(tmp_path)
    info = store.put(model.to_bytes(), suffix=".model")
    loaded = load_model(registry, store.open(info.name, info.sha256))
    for method in ("direct", "recursive", "direct_multi"):
        assert np.array_equal(
            loaded.forecast(test, method).values, model.forecast(test, method).values
        )


def test_unknown_hyperparameters_of_the_example_are_refused() -> None:
    registry = get_plugin_manager(entry_points=False, extra_plugins=[sys.modules[__name__]])
    with pytest.raises(ConfigError, match="model_hyperparams"):
        model_config(registry, "huber", hyperparams={"epsilonn": 1.5})
