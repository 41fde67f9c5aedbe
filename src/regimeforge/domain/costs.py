"""Trading costs of the inner loop: spread and commission per unit of turnover.

A position moves between -1, 0 and +1; each unit of ``|p_t - p_{t-1}|`` pays half the quoted
spread (one side of the book) plus the commission. Costs are quoted in basis points of price and
charged in log-return units, ``(spread_bps / 2 + commission_bps) / 1e4`` per unit of turnover.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from regimeforge.domain.errors import ConfigError, Problem


@attrs.frozen
class CostModel:
    """Spread and commission of one symbol, in basis points of price."""

    spread_bps: float = 1.0
    commission_bps: float = 0.5

    @property
    def per_unit_turnover(self) -> float:
        """Cost of one unit of ``|Δposition|`` in log-return units (half spread + commission)."""
        return (self.spread_bps / 2.0 + self.commission_bps) / 1e4


#: Liquid FX majors: about 1 bp quoted spread and 0.5 bp commission per side.
FX_COSTS: Final[CostModel] = CostModel(spread_bps=1.0, commission_bps=0.5)
#: Liquid equities and everything that is not an FX pair: wider spread, higher commission.
EQUITY_COSTS: Final[CostModel] = CostModel(spread_bps=2.0, commission_bps=1.0)

_FIELDS: Final[tuple[str, ...]] = ("spread_bps", "commission_bps")


def is_fx_pair(symbol: str) -> bool:
    """Whether ``symbol`` looks like a currency pair (``EUR/USD`` or ``EURUSD``)."""
    plain = symbol.replace("/", "")
    return len(plain) == 6 and plain.isalpha() and plain.isupper()


def cost_for_symbol(symbol: str, costs: Mapping[str, Any] | None = None) -> CostModel:
    """The cost model of ``symbol`` from the ``costs`` settings block.

    ``costs`` is ``{default: {spread_bps, commission_bps}, symbols: {SYMBOL: {...}}}``; a symbol's
    own entry overrides the default key by key. Without a ``default`` block, FX pairs get
    :data:`FX_COSTS` and everything else :data:`EQUITY_COSTS`. Negative or non-numeric values are
    a ``ConfigError`` naming every bad key.
    """
    costs = costs or {}
    base = FX_COSTS if is_fx_pair(symbol) else EQUITY_COSTS
    values: dict[str, Any] = attrs.asdict(base)
    default = costs.get("default") or {}
    own = (costs.get("symbols") or {}).get(symbol) or {}
    problems: list[Problem] = []
    for where, block in (("costs.default", default), (f"costs.symbols.{symbol}", own)):
        for key in _FIELDS:
            if key not in block:
                continue
            value = block[key]
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(float(value)) or float(value) < 0:
                problems.append(
                    Problem(f"{where}.{key}", f"{value!r} is not a number >= 0", "e.g. 1.0")
                )
                continue
            values[key] = float(value)
    ConfigError.collect(problems, subject="costs")
    return CostModel(**values)
