"""Row mapping without a database: a stored config rebuilds to the same config and hash."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.adapters.storage.mapping import model_config_from_row, plain, run_values
from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import StorageError

CATALOG = ConfigCatalog(
    model_types={"ridge": {"alpha": 1.0}, "rf": {"n_estimators": 100, "max_depth": 6}},
    encoders={"none": {}, "pca": {"n_components": 0.95}},
    indicators=BUILTIN_INDICATORS,
)
TFS = ["1h", "4h", "1d"]


@st.composite
def configs(draw: st.DrawFn) -> ModelConfig:
    model_type = draw(st.sampled_from(["ridge", "rf"]))
    params = (
        {"alpha": draw(st.floats(0.001, 100))}
        if model_type == "ridge"
        else {"n_estimators": draw(st.integers(1, 500)), "max_depth": draw(st.integers(1, 12))}
    )
    indicators = draw(
        st.dictionaries(
            st.sampled_from(sorted(BUILTIN_INDICATORS)),
            st.lists(st.sampled_from(TFS), min_size=1, max_size=3),
            max_size=3,
        )
    )
    return ModelConfig.from_mapping(
        {
            "model_type": model_type,
            "encoder": draw(st.sampled_from(["none", "pca"])),
            "symbol": draw(st.sampled_from(["EUR/USD", "GOOG"])),
            "base_timeframe": "1h",
            "days_history": draw(st.integers(60, 3650)),
            "horizon": draw(st.integers(1, 20)),
            "indicator_tfs": indicators,
            "additional_features": draw(
                st.lists(st.sampled_from(["returns_volatility", "vsa_analysis"]), unique=True)
            ),
            "preprocessing": {"warmup_bars": draw(st.integers(0, 100))},
            "model_hyperparams": params,
            "seed": draw(st.integers(0, 2**32 - 1)),
        },
        CATALOG,
    )


@settings(max_examples=60, deadline=None)
@given(configs())
def test_a_stored_config_rebuilds_equal_with_the_same_hash(config: ModelConfig) -> None:
    run = TrainingRun(run_uuid="u", config=config, config_hash=config.config_hash, seed=config.seed)
    row = json.loads(json.dumps(run_values(run), default=str))  # what a JSON column gives back
    rebuilt = model_config_from_row(row)
    assert rebuilt == config
    assert rebuilt.config_hash == config.config_hash


def test_plain_unwraps_numpy_and_nulls_non_finite_numbers() -> None:
    value = {"a": np.float64(1.5), "b": np.int64(3), "c": (np.bool_(True), math.nan), "d": math.inf}
    assert plain(value) == {"a": 1.5, "b": 3, "c": [True, None], "d": None}
    assert plain(np.array([1, 2])) == [1, 2]
    with pytest.raises(StorageError, match=r"x\.when: object"):
        plain({"when": object()}, "x")
