"""JSON columns: the orjson path and the json-module path store the same documents."""

from __future__ import annotations

import datetime as dt
import json
import math
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regimeforge.adapters.storage import engine
from regimeforge.adapters.storage.mapping import plain, readonly
from regimeforge.domain.errors import StorageError

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
    st.integers(min_value=-1000, max_value=1000).map(np.int64),
)
documents = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
        st.dictionaries(st.text(max_size=6), inner, max_size=4).map(MappingProxyType),
    ),
    max_leaves=20,
)


def with_json_module(value: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(engine, "orjson", None)
        return engine.to_json(value)


@given(documents)
def test_both_encoders_store_the_same_document(value: Any) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        slow = with_json_module(value, monkeypatch)
    fast = engine.to_json(value)
    assert json.loads(fast) == json.loads(slow) == plain(value)


def test_non_finite_floats_become_null_and_big_integers_take_the_slow_path() -> None:
    document = readonly({"a": math.nan, "b": [math.inf, 1e-7], "c": 2**70})
    assert json.loads(engine.to_json(document)) == {"a": None, "b": [None, 1e-7], "c": 2**70}


def test_what_cannot_be_stored_is_refused_by_both() -> None:
    for value in ({"when": dt.datetime(2026, 1, 1)}, {"what": object()}):
        with pytest.raises(StorageError, match="cannot be stored as JSON"):
            engine.to_json(value)
        with (
            pytest.MonkeyPatch.context() as monkeypatch,
            pytest.raises(StorageError, match="cannot be stored as JSON"),
        ):
            with_json_module(value, monkeypatch)
