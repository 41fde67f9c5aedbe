"""Grid files (DESIGN §14): a loaded YAML mapping -> ``GridFile`` (pure; no file is read here).

``name``, ``data`` and ``grid`` are required, ``inference_grid`` optional. Every problem of the
whole file is reported at once as one ``ConfigError`` with paths such as ``grid.horizon[2]`` or
``data.path``. A relative ``data.path`` is resolved against the grid file's folder; ``{symbol}``
stays in it until ``GridFile.data_path_for(symbol)``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import PurePath
from types import MappingProxyType
from typing import Any

import attrs

from regimeforge.domain import catalog as cat
from regimeforge.domain.canonical import normalise
from regimeforge.domain.config import InferenceConfig, freeze
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.grid import GridSpec
from regimeforge.domain.grid_build import build_grid
from regimeforge.domain.inference_grid import expand_inference_grid

_TOP_KEYS = ("name", "data", "grid", "inference_grid")
_INFERENCE_AXES = (
    "prediction_method",
    "ensemble_method",
    "confidence_threshold",
    "lookback_window",
)
_PATH_SOURCES = ("csv", "parquet")


@attrs.frozen
class GridFile:
    """A validated grid file: its name, data block, model grid and inference configs.

    ``data`` keeps ``source`` and every other key of the file's data block, with ``path``
    resolved against the grid file's folder. ``inference_grid`` is the file's, else the one of
    ``defaults``, else None.
    """

    name: str
    data: Mapping[str, Any]
    grid: GridSpec
    inference_grid: tuple[InferenceConfig, ...] | None

    @property
    def data_spec(self) -> Mapping[str, Any]:
        """The same as ``data`` (the name the design notes use)."""
        return self.data

    def data_path_for(self, symbol: str) -> str | None:
        """``data.path`` with ``{symbol}`` replaced by the symbol without its slash."""
        path = self.data.get("path")
        return None if path is None else str(path).replace("{symbol}", symbol.replace("/", ""))


def _check_data(data: Any, base_dir: str | PurePath, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        problems.append(
            Problem("data", "must be a mapping with a source", "e.g. {source: csv, path: x.csv}")
        )
        return {}
    out = dict(data)
    source = data.get("source")
    if not isinstance(source, str) or not source:
        problems.append(
            Problem("data.source", f"{source!r} is not a data source name", "e.g. csv or synthetic")
        )
    path = data.get("path")
    if path is not None:
        if not isinstance(path, str) or not path:
            problems.append(
                Problem("data.path", f"{path!r} is not a path", "e.g. data/{symbol}_H1.csv")
            )
        else:
            out["path"] = posixpath.normpath(PurePath(base_dir, path).as_posix())
    elif source in _PATH_SOURCES:
        problems.append(
            Problem("data.path", f"a {source} source needs a path", "e.g. data/{symbol}_H1.csv")
        )
    if source == "synthetic":
        for key in ("bars", "seed"):
            value = data.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(
                    Problem(f"data.{key}", f"{value!r} is not a whole number", "e.g. 5000")
                )
    return out


def _split_defaults(defaults: Any) -> tuple[dict[str, Any], Any]:
    """``defaults`` -> (grid defaults, default inference grid mapping or None)."""
    if not isinstance(defaults, Mapping):
        return {}, None
    inference = defaults.get("inference_grid")
    if inference is None and any(key in defaults for key in _INFERENCE_AXES):
        inference = {k: v for k, v in defaults.items() if k in (*_INFERENCE_AXES, "params")}
    grid_defaults = {
        k: defaults[k] for k in ("train_fraction", "validation_fraction", "seed") if k in defaults
    }
    split = defaults.get("split")
    if isinstance(split, Mapping):
        grid_defaults.setdefault("train_fraction", split.get("train"))
        grid_defaults.setdefault("validation_fraction", split.get("validation"))
    return grid_defaults, inference


def parse_grid_file(
    data: Any, base_dir: str | PurePath, catalog: cat.ConfigCatalog, *, defaults: Any = None
) -> GridFile:
    """Validate a loaded grid file; ConfigError with every problem of the file at once.

    ``defaults`` is an optional mapping from the settings: an inference grid (its keys at the top
    or under ``inference_grid``), ``train_fraction``/``validation_fraction`` (or ``split:
    {train, validation}``) and ``seed``; each is used only where the file says nothing.
    """
    if not isinstance(data, Mapping):
        raise ConfigError([Problem("", "a grid file must be a mapping with name, data and grid")])
    problems: list[Problem] = []
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(Problem(str(key), "unknown key", f"use one of: {', '.join(_TOP_KEYS)}"))
    for key in ("name", "data", "grid"):
        if key not in data:
            problems.append(Problem(key, "is required", "see docs/grids.md"))
    name = data.get("name")
    if "name" in data and (not isinstance(name, str) or not name.strip()):
        problems.append(Problem("name", f"{name!r} is not a name", "e.g. eurusd-small"))
    data_block = _check_data(data.get("data"), base_dir, problems) if "data" in data else {}
    grid_defaults, default_inference = _split_defaults(defaults)
    spec = None
    if "grid" in data:
        spec, grid_problems = build_grid(data["grid"], catalog, defaults=grid_defaults)
        problems.extend(grid_problems)
    inference: tuple[InferenceConfig, ...] | None = None
    raw_inference = data.get("inference_grid")
    where = "inference_grid" if raw_inference is not None else "defaults.inference_grid"
    if raw_inference is None:
        raw_inference = default_inference
    if raw_inference is not None:
        try:
            inference = expand_inference_grid(raw_inference, path=where)
        except ConfigError as exc:
            problems.extend(exc.problems)
    ConfigError.collect(problems, subject="grid file")
    assert spec is not None
    return GridFile(str(name), MappingProxyType(freeze(normalise(data_block))), spec, inference)
