"""``regimeforge grid size GRID.yaml``: how many configurations, which are invalid, how long.

Counting never expands the grid (``len`` is the product of the axes); validation walks the points
lazily and reports the first ``--show`` invalid ones with their reasons plus the total count.
The time estimate multiplies measured seconds per model type (``benchmarks/results/
model_timings.json`` when present, else a packaged rough table) by the points of each type.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regimeforge.adapters.cli.common import WorkspaceOption, console, fmt_int, open_ws

grid_app = typer.Typer(help="Grid files: size, validation and time estimate.", no_args_is_help=True)
TIMINGS_FILE = Path("benchmarks") / "results" / "model_timings.json"


def load_timings(root: Path) -> tuple[dict[str, float], str]:
    """Seconds per model type and where they came from (measured file, else packaged table)."""
    for candidate in (root / TIMINGS_FILE, Path.cwd() / TIMINGS_FILE):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
                return dict(data.get("seconds_per_model", data)), f"measured ({candidate})"
            except (ValueError, AttributeError, TypeError):
                continue
    text = (resources.files("regimeforge") / "resources" / "model_timings.json").read_text()
    return dict(json.loads(text)["seconds_per_model"]), "packaged rough table"


def _values_text(values: Any) -> str:
    if isinstance(values, list | tuple):
        text = ", ".join(str(v) for v in values)
    elif isinstance(values, Mapping):
        text = ", ".join(f"{k}: {v}" for k, v in values.items())
    else:
        text = str(values)
    return text if len(text) <= 70 else text[:67] + "..."


def _breakdown_table(breakdown: Any) -> Table:
    table = Table(title="Per parameter", title_justify="left")
    table.add_column("parameter")
    table.add_column("values", justify="right")
    table.add_column("")
    items = breakdown.items() if isinstance(breakdown, Mapping) else breakdown
    for name, entry in items:
        if isinstance(entry, int):
            table.add_row(str(name), fmt_int(entry), "")
        else:
            count = len(entry) if isinstance(entry, list | tuple | Mapping) else 1
            table.add_row(str(name), fmt_int(count), _values_text(entry))
    return table


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


@grid_app.command("size")
def size(
    grid_file: Annotated[Path, typer.Argument(help="The grid file (YAML).", metavar="GRID.yaml")],
    show: Annotated[int, typer.Option("--show", help="Invalid points to list with reasons.")] = 10,
    workspace: WorkspaceOption = None,
) -> None:
    """Count a grid's configurations (never expanding it), validate every point and estimate
    the training time per model type."""
    from regimeforge.adapters.gridfiles import load_grid_file

    with open_ws(workspace) as ws:
        gf = load_grid_file(grid_file, ws.registry.catalog(), ws.settings)
        total = len(gf.grid)
        n_inference = len(gf.inference_grid)
        console.print(f"Grid {gf.name!r}: {fmt_int(total)} configurations")
        console.print(
            f"Inference grid: {fmt_int(n_inference)} configurations per model, "
            f"{fmt_int(total * n_inference)} backtests in all"
        )
        console.print(_breakdown_table(gf.grid.breakdown()))
        invalid, per_type = 0, Counter[str]()
        shown: list[Any] = []
        for point in gf.grid.points():
            if point.problems:
                invalid += 1
                if len(shown) < show:
                    shown.append(point)
            else:
                per_type[str(point.config.model_type)] += 1
        if invalid:
            console.print(f"{fmt_int(invalid)} of {fmt_int(total)} configurations are invalid:")
            for point in shown:
                reasons = "; ".join(str(p) for p in point.problems)
                console.print(f"  #{point.index}: {reasons}", markup=False)
            if invalid > len(shown):
                console.print(f"  ... and {fmt_int(invalid - len(shown))} more")
        else:
            console.print("All configurations are valid.")
        _print_estimate(per_type, ws.root, ws.settings.max_parallel)


def _print_estimate(per_type: Counter[str], root: Path, parallel: int) -> None:
    if not per_type:
        return
    timings, source = load_timings(root)
    table = Table(
        title=f"Time estimate ({source}; an estimate, not a promise)", title_justify="left"
    )
    for column in ("model type", "configurations", "s/model", "total"):
        table.add_column(column, justify="left" if column == "model type" else "right")
    known = 0.0
    for name, count in sorted(per_type.items()):
        seconds = timings.get(name)
        if seconds is None:
            table.add_row(name, fmt_int(count), "?", "no figure")
            continue
        known += seconds * count
        table.add_row(name, fmt_int(count), f"{seconds:g}", _duration(seconds * count))
    console.print(table)
    console.print(
        f"Estimated training time: {_duration(known)} on one worker, "
        f"{_duration(known / max(parallel, 1))} with max_parallel={parallel}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``grid`` group to the app."""
    app.add_typer(grid_app, name="grid")
