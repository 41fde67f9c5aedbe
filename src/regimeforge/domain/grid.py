"""``GridSpec``: a lazy cartesian product of model configurations.

A grid mapping lists values per parameter (see docs/grids.md). Every listed value is checked once,
when the grid is built (``build_grid``); a wrong value is a grid error reported with its path
(``grid.horizon[2]``). Points are made on demand by mixed-radix index, so ``len()`` is a product
of axis lengths and a 49,000-point grid is never materialised to be counted. Checks between
fields (history vs horizon, indicator timeframes vs base timeframe, split fractions) run per
point; a point that fails them is reported with its reasons (``points()``, ``validate()``), never
dropped. Axis order, slowest first: model (type x its hyperparameters), encoder (x its params),
symbol, base_timeframe, days_history, horizon, indicator_tfs, additional_features,
preprocessing, seed.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from regimeforge.domain import catalog as cat
from regimeforge.domain import config_checks as chk
from regimeforge.domain.config import ModelConfig, prehashed
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.grid_axes import AxisValue
from regimeforge.domain.timeframes import TIMEFRAME_MINUTES

_SORTED = (
    "additional_features", "base_timeframe", "days_history", "encoder", "encoder_params",
    "horizon", "indicator_tfs", "model_hyperparams", "model_type", "preprocessing", "seed",
    "symbol",
)  # fmt: skip


@attrs.frozen
class GridPoint:
    """One point of a grid: its config and hash, or the problems that make it invalid."""

    index: int
    config: ModelConfig | None
    problems: tuple[Problem, ...] = ()
    config_hash: str | None = None

    @property
    def ok(self) -> bool:
        """True when the point is a valid config."""
        return not self.problems


@attrs.frozen
class GridValidation:
    """Result of ``GridSpec.validate``: counts and the first invalid points (with reasons)."""

    total: int
    invalid: int
    examples: tuple[GridPoint, ...]

    @property
    def ok(self) -> bool:
        """True when every point is valid."""
        return self.invalid == 0

    def raise_if_invalid(self) -> None:
        """ConfigError listing the example points' problems (paths ``point[17].horizon``)."""
        ConfigError.collect(
            (
                attrs.evolve(p, path=f"point[{point.index}].{p.path}")
                for point in self.examples
                for p in point.problems
            ),
            subject=f"{self.invalid} of {self.total} grid points are invalid",
        )


@attrs.frozen(eq=False)
class GridSpec:
    """The lazy product. ``source`` is the normalised grid mapping it was built from.

    ``grid[i]`` is the i-th valid ``ModelConfig`` (ConfigError for an invalid point; negative
    indices count from the end); ``grid.point(i)`` the ``GridPoint``; iterating yields every
    ``GridPoint`` in index order.
    """

    source: Mapping[str, Any]
    axes: tuple[tuple[AxisValue, ...], ...]
    breakdown_entries: tuple[tuple[str, Any], ...]

    def __len__(self) -> int:
        return math.prod(len(axis) for axis in self.axes)

    def __iter__(self) -> Iterator[GridPoint]:
        return self.points()

    def __getitem__(self, index: int) -> ModelConfig:
        point = self.point(index)
        if point.config is None:
            raise ConfigError(point.problems, subject=f"grid point {point.index}")
        return point.config

    def point(self, index: int) -> GridPoint:
        """The point at ``index`` by mixed-radix decomposition (last axis fastest)."""
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"grid index {index} out of range 0..{size - 1}")
        chosen: list[AxisValue] = []
        rest = index
        for axis in reversed(self.axes):
            rest, digit = divmod(rest, len(axis))
            chosen.append(axis[digit])
        return _make_point(index, tuple(reversed(chosen)))

    def points(self) -> Iterator[GridPoint]:
        """Every point in index order, invalid ones with their problems."""
        for index, chosen in enumerate(itertools.product(*self.axes)):
            yield _make_point(index, chosen)

    def breakdown(self) -> dict[str, Any]:
        """Per parameter: the listed values (their count is what multiplies the size)."""
        return dict(self.breakdown_entries)

    def validate(self, limit: int = 20) -> GridValidation:
        """Check every point; count invalid ones and keep the first ``limit`` of them."""
        invalid, examples = 0, list[GridPoint]()
        for point in self.points():
            if point.problems:
                invalid += 1
                if len(examples) < limit:
                    examples.append(point)
        return GridValidation(len(self), invalid, tuple(examples))

    @classmethod
    def from_mapping(
        cls,
        grid: Mapping[str, Any],
        catalog: cat.ConfigCatalog,
        *,
        defaults: Any = None,
        path: str = "grid",
    ) -> GridSpec:
        """Build a grid; ConfigError with every problem of the mapping at once."""
        from regimeforge.domain.grid_build import build_grid

        spec, problems = build_grid(grid, catalog, defaults=defaults, path=path)
        ConfigError.collect(problems, subject="grid")
        assert spec is not None  # no problems means a spec was built
        return spec


def _make_point(index: int, chosen: tuple[AxisValue, ...]) -> GridPoint:
    fields: dict[str, Any] = {}
    frags: dict[str, str] = {}
    point_problems: list[Problem] = []
    for value in chosen:
        fields.update(value.fields)
        frags.update(value.fragments)
        point_problems.extend(value.point_problems)
    base = fields["base_timeframe"]
    minutes = TIMEFRAME_MINUTES[base]
    for tfs in fields["indicator_tfs"].values():
        if tfs and TIMEFRAME_MINUTES[tfs[0]] < minutes:  # sorted finest first
            point_problems.extend(chk.indicator_base_problems(fields["indicator_tfs"], base))
            break
    warmup = fields["preprocessing"]["warmup_bars"]
    days, horizon = fields["days_history"], fields["horizon"]
    if fields["days_history"] * 1440 // minutes < chk.bars_needed(horizon, warmup):
        problem = chk.history_problem(days, base, horizon, warmup)
        if problem is not None:
            point_problems.append(problem)
    if point_problems:
        return GridPoint(index, None, tuple(point_problems))
    text = "{" + ",".join([frags[key] for key in _SORTED]) + "}"
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()
    return GridPoint(index, prehashed(ModelConfig(**fields), digest), (), digest)
