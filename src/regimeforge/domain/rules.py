"""The safe rule language of regime definitions, and its vectorised evaluation.

Grammar (case-insensitive, whitespace free-form)::

    rule       := OP operand | "between" operand "and" operand
    OP         := ">" | ">=" | "<" | "<=" | "==" | "!="
    operand    := NUMBER | NUMBER ("st"|"nd"|"rd"|"th")? "percentile"

Examples: ``"> 0.7"``, ``"<= 0"``, ``"> 75th percentile"``, ``"between 0.3 and 0.7"``,
``"between 25th percentile and 75th percentile"``. ``between`` is inclusive at both ends.

A percentile operand is the q-th percentile (linear interpolation, as ``numpy.percentile``) of
the indicator's values over the trailing ``window`` bars ending at the bar itself: never the whole
series, so a label at bar t depends only on bars up to t. Before ``window`` values exist, and
wherever the indicator is NaN, a rule is False.

The text is tokenised by one regular expression and parsed by hand: nothing ever reaches
``eval``. A rule that does not parse raises ``RuleError`` naming the character position.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Final

import attrs
import numpy as np
import pandas as pd

from regimeforge.domain.errors import Problem, RuleError

_TOKEN: Final = re.compile(
    r"\s*(?:(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(?P<suffix>st|nd|rd|th)?"
    r"|(?P<op>>=|<=|==|!=|>|<)|(?P<word>[a-z_]+)|(?P<bad>\S))",
    re.IGNORECASE,
)
_OPS: Final[dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

#: ``percentile(q)`` -> the trailing q-th percentile per bar (lets callers share one computation).
PercentileFn = Callable[[float], np.ndarray]


@attrs.frozen
class Operand:
    """A constant, or (``percentile=True``) the trailing ``value``-th percentile."""

    value: float
    percentile: bool = False

    def resolve(self, percentile_of: PercentileFn) -> np.ndarray | float:
        """The threshold: the constant, or the per-bar trailing percentile."""
        return percentile_of(self.value) if self.percentile else self.value


@attrs.frozen
class Rule:
    """A parsed rule: an AND of ``(operator, operand)`` conditions (two for ``between``)."""

    text: str
    conditions: tuple[tuple[str, Operand], ...]

    @property
    def uses_percentile(self) -> bool:
        """True when any operand is a trailing percentile (the rule then needs ``window`` bars)."""
        return any(operand.percentile for _, operand in self.conditions)

    def evaluate(
        self, values: np.ndarray, window: int, *, percentile: PercentileFn | None = None
    ) -> np.ndarray:
        """Boolean mask per bar; False where ``values`` is NaN or a percentile is undefined.

        ``percentile`` may supply precomputed trailing percentiles of ``values``; by default
        they are computed here with :func:`trailing_percentile`.
        """
        values = np.asarray(values, dtype=float)
        percentile_of = percentile or (lambda q: trailing_percentile(values, q, window))
        mask = np.ones(values.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            for op, operand in self.conditions:
                threshold = np.asarray(operand.resolve(percentile_of))
                mask &= _OPS[op](values, threshold) & ~np.isnan(threshold)
        mask &= ~np.isnan(values)  # "!=" is True for NaN; an undefined value never matches
        return mask


def trailing_percentile(values: np.ndarray, q: float, window: int) -> np.ndarray:
    """q-th percentile of the trailing ``window`` values ending at each bar (NaN before that).

    Uses pandas' rolling quantile (a skip list, O(n log window)); NaN inputs inside a window make
    the result NaN there rather than silently shrinking the window.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    series = pd.Series(np.asarray(values, dtype=float))
    rolling = series.rolling(window, min_periods=window)
    result = rolling.median() if q == 50.0 else rolling.quantile(q / 100.0)
    return np.asarray(result.to_numpy(dtype=float))


class _Parser:
    """Recursive-descent parser over the regex tokens of one rule text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, str, int]] = []  # (kind, text, suffix, position)
        for match in _TOKEN.finditer(text):
            kind = next(k for k in ("num", "op", "word", "bad") if match.group(k) is not None)
            suffix = (match.group("suffix") or "").lower()
            self.tokens.append((kind, match.group(kind), suffix, match.start(kind)))
        self.index = 0

    def fail(self, message: str, position: int | None = None) -> RuleError:
        at = len(self.text) if position is None else position
        error = RuleError(
            [
                Problem(
                    "",
                    f"rule {self.text!r}: {message} at character {at + 1}",
                    'write e.g. "> 0.7", "<= 0", "> 75th percentile" or "between 0.3 and 0.7"',
                )
            ]
        )
        error.position = at  # type: ignore[attr-defined]
        return error

    def peek(self) -> tuple[str, str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str, word: str | None = None) -> tuple[str, str, str, int]:
        token = self.peek()
        expected = repr(word) if word else {"num": "a number", "op": "a comparison"}.get(kind)
        if token is None:
            raise self.fail(f"expected {expected}, found the end")
        if token[0] != kind or (word is not None and token[1].lower() != word):
            raise self.fail(f"expected {expected}, found {token[1]!r}", token[3])
        self.index += 1
        return token

    def operand(self) -> Operand:
        _, number, suffix, position = self.take("num")
        value = float(number)
        nxt = self.peek()
        if nxt is not None and nxt[0] == "word" and nxt[1].lower() == "percentile":
            self.index += 1
            if not 0.0 <= value <= 100.0:
                raise self.fail("a percentile must be between 0 and 100", position)
            return Operand(value, percentile=True)
        if suffix:
            raise self.fail(f"{number + suffix!r} must be followed by 'percentile'", position)
        return Operand(value)

    def rule(self) -> Rule:
        first = self.peek()
        if first is None:
            raise self.fail("the rule is empty", 0)
        if first[0] == "word" and first[1].lower() == "between":
            self.index += 1
            low = self.operand()
            self.take("word", "and")
            high = self.operand()
            conditions: tuple[tuple[str, Operand], ...] = ((">=", low), ("<=", high))
        else:
            op = self.take("op")[1]
            conditions = ((op, self.operand()),)
        extra = self.peek()
        if extra is not None:
            raise self.fail(f"unexpected {extra[1]!r}", extra[3])
        return Rule(text=self.text, conditions=conditions)


def parse_rule(text: str) -> Rule:
    """Parse one rule of the safe rule language; ``RuleError`` (with ``.position``) if invalid."""
    return _Parser(text).rule()
