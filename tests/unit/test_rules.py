"""The safe rule language: grammar, errors with positions, trailing percentiles."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.errors import RuleError
from regimeforge.domain.rules import Operand, parse_rule, trailing_percentile


@pytest.mark.parametrize(
    ("text", "conditions"),
    [
        ("> 0.7", ((">", Operand(0.7)),)),
        ("<= 0", (("<=", Operand(0.0)),)),
        (">=-1e-3", ((">=", Operand(-0.001)),)),
        ("> 75th percentile", ((">", Operand(75.0, percentile=True)),)),
        ("< 5 PERCENTILE", (("<", Operand(5.0, percentile=True)),)),
        ("between 0.3 and 0.7", ((">=", Operand(0.3)), ("<=", Operand(0.7)))),
        (
            "between 25th percentile and 75th percentile",
            ((">=", Operand(25.0, True)), ("<=", Operand(75.0, True))),
        ),
    ],
)
def test_valid_rules_parse(text: str, conditions: tuple[object, ...]) -> None:
    assert parse_rule(text).conditions == conditions


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 0, "empty"),
        ("> 0.7x", 5, "'x'"),
        ("> 75th", 2, "percentile"),
        ("between 1 or 2", 10, "'and'"),
        ("> 150 percentile", 2, "between 0 and 100"),
        ("0.7", 0, "comparison"),
        ("> ", 2, "the end"),
        ("__import__('os').system('true')", 0, "comparison"),
    ],
)
def test_invalid_rules_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    assert info.value.position == position  # type: ignore[attr-defined]
    assert f"character {position + 1}" in str(info.value) and words in str(info.value)


def test_nothing_reaches_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("eval called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    assert parse_rule("between 1 and 2").evaluate(np.array([0.0, 1.5, 3.0]), 1).tolist() == [
        False,
        True,
        False,
    ]


def test_constant_rules_are_false_on_nan() -> None:
    values = np.array([np.nan, 1.0, -1.0])
    assert parse_rule("> 0").evaluate(values, 10).tolist() == [False, True, False]
    assert parse_rule("!= 5").evaluate(values, 10).tolist() == [False, True, True]


def test_trailing_percentile_matches_numpy_on_each_window() -> None:
    values = np.random.default_rng(0).standard_normal(300)
    for q in (10.0, 50.0, 75.0):
        got = trailing_percentile(values, q, 40)
        assert np.isnan(got[:39]).all()
        expected = [np.percentile(values[t - 39 : t + 1], q) for t in range(39, 300)]
        assert np.allclose(got[39:], expected)


@settings(max_examples=40, deadline=None)
@given(st.integers(50, 200), st.integers(5, 30), st.integers(0, 10_000))
def test_percentile_rules_are_causal(n: int, window: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(n)
    cut = int(rng.integers(1, n))
    changed = values.copy()
    changed[cut:] = rng.standard_normal(n - cut) * 100
    rule = parse_rule("> 75th percentile")
    assert (rule.evaluate(values, window)[:cut] == rule.evaluate(changed, window)[:cut]).all()
