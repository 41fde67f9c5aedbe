"""A trained model serves every inference configuration without retraining: finite forecasts,
confidences in [0, 1], and the prediction methods and ensembles really differ."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from models_data import ar1_data, model_config
from regimeforge.domain import backtest as bt
from regimeforge.domain.confidence import confidence
from regimeforge.domain.config import InferenceConfig
from regimeforge.domain.costs import CostModel
from regimeforge.domain.ensembles import ensemble
from regimeforge.domain.forecasts import PreparedData
from regimeforge.plugins.builtin.models.composite import CompositeModel, build_trainer
from regimeforge.plugins.manager import get_plugin_manager

METHODS = ["direct", "recursive", "direct_multi"]
ENSEMBLES = ["mean", "weighted", "stacking"]
LOOKBACKS = [20, 50, 100, 200, 500]


@pytest.fixture(scope="module")
def registry() -> Any:
    return get_plugin_manager(entry_points=False)


@pytest.fixture(scope="module")
def data() -> PreparedData:
    return ar1_data(2500, phi=0.3, horizon=6, seed=21)


def trained(registry: Any, data: PreparedData, model_type: str, **kw: Any) -> CompositeModel:
    config = model_config(registry, model_type, horizon=data.horizon, **kw)
    return build_trainer(registry, config).fit(data, config)


@pytest.mark.parametrize(("model_type", "encoder"), [("ridge", "none"), ("rf", "pca")])
def test_every_inference_config_gives_finite_forecasts_and_bounded_confidence(
    registry: Any, data: PreparedData, model_type: str, encoder: str
) -> None:
    model = trained(registry, data, model_type, encoder=encoder)
    test = data.features[data.test]
    ensembles: dict[tuple[str, str], np.ndarray] = {}
    for method in METHODS:
        member = model.forecast(test, method)
        assert member.values.shape == (3, test.shape[0])
        assert (member.spread is not None) == (model_type == "rf")
        assert np.isfinite(member.values).all() and np.isfinite(member.val_errors).all()
        assert (member.stack_coef >= 0).all() and np.isfinite(member.stack_intercept)
        for name in ENSEMBLES:
            forecast, spread = ensemble(member, name)
            ensembles[(method, name)] = forecast
            assert np.isfinite(forecast).all()
            for lookback in LOOKBACKS:
                conf = confidence(forecast, lookback, spread)
                assert np.isfinite(conf).all() and (conf >= 0).all() and (conf <= 1).all()
                assert conf[2:].max() > 0  # not degenerate
    by_method = [np.concatenate([ensembles[(m, e)] for e in ENSEMBLES]) for m in METHODS]
    by_ensemble = [np.concatenate([ensembles[(m, e)] for m in METHODS]) for e in ENSEMBLES]
    for a, b in itertools.combinations(by_method, 2):
        assert not np.allclose(a, b, rtol=1e-6, atol=0), "two prediction methods coincide"
    for a, b in itertools.combinations(by_ensemble, 2):
        assert not np.allclose(a, b, rtol=1e-6, atol=0), "two ensembles coincide"


def test_a_long_horizon_uses_a_subset_of_heads_and_stays_finite(registry: Any) -> None:
    data = ar1_data(2500, phi=0.3, horizon=120, seed=4)
    model = trained(registry, data, "ridge", members=2)
    inner = model.model
    assert len(inner.steps) == 10 and inner.steps[0] == 1 and inner.steps[-1] == 120  # type: ignore[attr-defined]
    values = {m: model.forecast(data.features[data.test], m).values for m in METHODS}
    assert all(np.isfinite(v).all() for v in values.values())
    assert not np.allclose(values["direct"], values["recursive"])


def test_the_whole_inner_loop_runs_on_a_trained_model(registry: Any, data: PreparedData) -> None:
    model = trained(registry, data, "rf")
    grid = [
        InferenceConfig.from_mapping(
            {
                "prediction_method": m,
                "ensemble_method": e,
                "confidence_threshold": t,
                "lookback_window": lb,
            }
        )
        for m in METHODS
        for e in ENSEMBLES
        for t in (0.0, 0.3, 0.5, 0.7, 0.9)
        for lb in (50, 100, 200)
    ]
    test = data.test
    n_test = data.features[test].shape[0]
    results = bt.run_inner_loop(
        bt.InnerLoopInput(
            forecasts={m: model.forecast(data.features[test], m) for m in METHODS},
            bar_returns=data.targets[test, 0],
            regime_labels=np.array(["calm_ranging"] * n_test),
            periods_per_year=24 * 365,
            cost=CostModel(0.0, 0.0),
        ),
        grid,
        [d.metric for d in registry.metrics.values()],
        regimes=["calm_ranging"],
        min_bars=50,
        min_trades=5,
    )
    assert len(results) == 135
    sharpes = [r.metrics["sharpe"] for r in results]
    assert all(np.isfinite(sharpes)) and len(set(sharpes)) > 10
    # the planted signal pays without costs at threshold 0
    assert (
        np.median([r.metrics["sharpe"] for r in results if r.inference.confidence_threshold == 0])
        > 0
    )


@pytest.mark.parametrize(("model_type", "encoder"), [("lasso", "pca"), ("rf", "none")])
def test_real_eurusd_features_from_the_pipeline(
    registry: Any, shared_data: Any, model_type: str, encoder: str
) -> None:
    import pandas as pd

    features = pytest.importorskip("regimeforge.domain.features")
    from regimeforge.domain.config import ModelConfig

    bars = pd.read_csv(shared_data / "EURUSD_H1.csv", index_col=0)
    bars.index = pd.DatetimeIndex(pd.to_datetime(bars.index), tz="UTC")
    bars = bars.rename(columns=str.lower)
    config = ModelConfig.from_mapping(
        {
            "model_type": model_type,
            "encoder": encoder,
            "symbol": "EUR/USD",
            "base_timeframe": "1h",
            "days_history": 365,
            "horizon": 12,
            "indicator_tfs": {"rsi": ["1h", "4h"], "macd": ["1h"]},
            "additional_features": {"returns_volatility": True},
            "preprocessing": {"ensemble_members": 3},
            "model_hyperparams": {"n_estimators": 20} if model_type == "rf" else {},
        },
        registry.catalog(),
    )
    data = features.FeaturePipeline(registry.indicators).prepare(bars, config)
    model = build_trainer(registry, config).fit(data, config)
    loaded = build_trainer(registry, config).load(model.to_bytes())
    for method in METHODS:
        member = model.forecast(data.features[data.test], method)
        assert np.isfinite(member.values).all() and member.values.shape[0] == 3
        again = loaded.forecast(data.features[data.test], method)
        assert np.array_equal(member.values, again.values)
        for name in ENSEMBLES:
            forecast, spread = ensemble(member, name)
            conf = confidence(forecast, 100, spread)
            assert np.isfinite(forecast).all() and ((conf >= 0) & (conf <= 1)).all()
