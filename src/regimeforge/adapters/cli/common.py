"""What every command shares: the ``--workspace`` option, opening a workspace, consoles, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from regimeforge.domain.errors import ConfigError, Problem

#: Normal output (stdout) and messages/errors (stderr); no colour codes when not a terminal.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


_WORKSPACE_HELP = "Workspace folder (default: $REGIMEFORGE_WORKSPACE, else the current directory)."


def workspace_option() -> Any:
    """``--workspace DIR`` (default ``$REGIMEFORGE_WORKSPACE``, else the current directory).

    Prefer the ``WorkspaceOption`` annotation: ``def cmd(workspace: WorkspaceOption = None)``;
    this function is the older spelling (``workspace: Path | None = workspace_option()``).
    """
    return typer.Option(
        None,
        "--workspace",
        "-w",
        envvar="REGIMEFORGE_WORKSPACE",
        help=_WORKSPACE_HELP,
        show_default=False,
    )


#: ``--workspace DIR`` as an annotation: ``def cmd(workspace: WorkspaceOption = None)``.
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="REGIMEFORGE_WORKSPACE",
        help=_WORKSPACE_HELP,
        show_default=False,
    ),
]


def open_ws(
    workspace: Path | str | None, *, require_init: bool = False, load_entry_points: bool = True
) -> Any:
    """Open the workspace for a command; ``require_init`` refuses a folder never initialised.

    Returns a ``bootstrap.Workspace`` (typed ``Any`` so that adapters need not import the
    composition root at type-check time).
    """
    from regimeforge.adapters.settings import SETTINGS_FILE
    from regimeforge.bootstrap import open_workspace, workspace_root

    root = workspace_root(workspace)
    if require_init and not (root / SETTINGS_FILE).exists():
        raise ConfigError(
            [
                Problem(
                    "--workspace",
                    f"{root} is not a RegimeForge workspace (no {SETTINGS_FILE})",
                    f"run `regimeforge init {root}` or pass --workspace DIR",
                )
            ]
        )
    return open_workspace(root, load_entry_points=load_entry_points)


def print_error(message: str) -> None:
    """Print ``error: message`` on stderr (the first line is the one scripts show)."""
    err_console.print(f"error: {message}", markup=False, soft_wrap=True)


def fmt_int(n: int) -> str:
    """Thousands separators: 49000 -> ``49,000``."""
    return f"{n:,}"
