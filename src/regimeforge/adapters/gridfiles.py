"""Grid files (``configs/grids/*.yaml``): YAML -> the domain's ``GridFile``.

YAML is read here with ``yaml.safe_load`` (syntax errors name line and column); everything else
(which keys, lists expand, paths relative to the grid file's folder, ``{symbol}``) is the pure
``domain.gridfile.parse_grid_file``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regimeforge.adapters.settings import Settings, parse_yaml
from regimeforge.domain.catalog import ConfigCatalog
from regimeforge.domain.errors import ConfigError, Problem


def read_grid_yaml(path: Path) -> Any:
    """The parsed YAML of a grid file; ConfigError for a missing, unreadable or malformed file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Problem("", f"cannot read grid file: {exc.strerror}", "check the path")],
            subject=str(path),
        ) from None
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ConfigError(
            [
                Problem(
                    "",
                    "a grid file must be a mapping with name, data and grid",
                    "see configs/grids/example.yaml",
                )
            ],
            subject=str(path),
        )
    return data


def load_grid_file(path: Path | str, catalog: ConfigCatalog, settings: Settings) -> Any:
    """Read and validate a grid file; returns ``domain.gridfile.GridFile``.

    The settings' ``inference_grid`` is the default when the file has none.
    """
    grid_path = Path(path).expanduser().resolve()
    data = read_grid_yaml(grid_path)
    from regimeforge.domain.gridfile import parse_grid_file

    try:
        return parse_grid_file(
            data, grid_path.parent, catalog, defaults=settings.inference_grid.to_mapping()
        )
    except ConfigError as exc:
        raise type(exc)(exc.problems, subject=str(path)) from None
