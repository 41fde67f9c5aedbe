"""``regimeforge demo``: the main job on the embedded default, in a fresh workspace.

It makes (or reuses) a workspace — SQLite, the default settings — copies the packaged demo grid
into it (synthetic regime-switching bars whose regimes are known; 12 configurations of ridge,
lasso and random forest, or 4 tiny ones with ``--size small``), runs it with the same progress
display as ``regimeforge run``, and ends with the regime-best table and the storage figures.

**Decision (folder).** The demo's folder is ``--workspace DIR``, else ``./regimeforge-demo``; it
does not read ``$REGIMEFORGE_WORKSPACE`` (a demo should not land in a real workspace by
accident). A folder that is neither missing, empty nor a workspace is refused (exit status 2,
nothing written). Run again in the same workspace, the demo skips what it already trained.
"""

from __future__ import annotations

import enum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from regimeforge.adapters.cli.common import console
from regimeforge.adapters.cli.foreground import drive, print_summary, storage_table
from regimeforge.domain.errors import ConfigError, Problem

DEMO_DIR = "regimeforge-demo"


class DemoSize(enum.StrEnum):
    """Which packaged demo grid to run."""

    SMALL = "small"
    FULL = "full"


GRIDS = {DemoSize.SMALL: "demo-small.yaml", DemoSize.FULL: "demo.yaml"}


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo)


def packaged_grid(size: DemoSize) -> str:
    """The text of a packaged demo grid (``resources/grids``)."""
    resource = resources.files("regimeforge") / "resources" / "grids" / GRIDS[size]
    return resource.read_text(encoding="utf-8")


def _workspace(root: Path) -> Any:
    """Open ``root`` if it is a workspace; else make one (refusing a non-empty other folder)."""
    from regimeforge.adapters.settings import SETTINGS_FILE
    from regimeforge.bootstrap import init_workspace, open_workspace

    if (root / SETTINGS_FILE).is_file():
        return open_workspace(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(
            [
                Problem(
                    "--workspace",
                    f"{root} is not empty and not a RegimeForge workspace",
                    "choose a new or empty folder, or an existing workspace",
                )
            ]
        )
    workspace = init_workspace(root)
    console.print(f"Created a demo workspace in {root} (SQLite, default settings)")
    return workspace


def demo(
    size: Annotated[
        DemoSize, typer.Option("--size", help="full: 12 configurations; small: 4 tiny ones.")
    ] = DemoSize.FULL,
    max_parallel: Annotated[
        int | None,
        typer.Option("--max-parallel", min=1, help="Models trained at once.", show_default=False),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help=f"Demo workspace folder (default: ./{DEMO_DIR}; made when missing).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the demo: a workspace with SQLite and synthetic regime-switching data, a grid of
    models × 135 inference configurations with live progress, then the regime-best table and
    the storage figures."""
    from regimeforge.adapters.outer_loop import create_queue_from_grid_file

    root = (workspace or Path.cwd() / DEMO_DIR).expanduser().resolve()
    with _workspace(root) as ws:
        grid_file = root / GRIDS[size]
        text = packaged_grid(size)
        if not grid_file.exists():
            grid_file.write_text(text, encoding="utf-8")
        elif grid_file.read_text(encoding="utf-8") != text:
            console.print(f"Using your edited {grid_file.name} (the packaged one differs).")
        queue = create_queue_from_grid_file(ws, grid_file)
        console.print(
            f"Demo grid {grid_file} ({queue.total_configs} configurations); follow it from "
            f"another terminal with `regimeforge queue status {queue.queue_uuid[:8]} -w {root}`",
            markup=False,
            soft_wrap=True,
        )
        outcome, tally = drive(ws, queue, max_parallel=max_parallel)
        print_summary(ws, queue, outcome, tally)
        console.print(storage_table(ws))
    raise typer.Exit(outcome.exit_status)
