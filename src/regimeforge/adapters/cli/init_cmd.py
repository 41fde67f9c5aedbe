"""``regimeforge init [DIR]``: a new workspace (settings, migrated database, folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regimeforge.adapters.cli.common import WorkspaceOption, console


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def init(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Folder to make a workspace (default: --workspace, else here).",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing settings file.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a workspace: training_pipeline.yaml, the database migrated to head, artifacts/ and
    checkpoints/. Refuses to overwrite an existing workspace's settings without --force."""
    from regimeforge.bootstrap import init_workspace, workspace_root

    root = directory.expanduser().resolve() if directory else workspace_root(workspace)
    with init_workspace(root, force=force) as ws:
        settings = ws.settings
        console.print(f"Initialised RegimeForge workspace {ws.root}")
        console.print(f"  settings     {settings.source}")
        console.print(f"  database     {_safe_url(settings.database_url)} (migrated to head)")
        console.print(f"  artifacts    {settings.artifacts_dir}")
        console.print(f"  checkpoints  {settings.checkpoints_dir}")
        console.print(f"Next: regimeforge grid size GRID.yaml --workspace {ws.root}")


def register(app: typer.Typer) -> None:
    """Add ``init`` to the app."""
    app.command("init")(init)
