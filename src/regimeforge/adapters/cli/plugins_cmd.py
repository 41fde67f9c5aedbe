"""``regimeforge plugins``: what is loaded, from where, and what is unavailable and why."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from regimeforge.adapters.cli.common import WorkspaceOption, console, open_ws


def plugins(
    workspace: WorkspaceOption = None,
    no_entry_points: Annotated[
        bool, typer.Option("--no-entry-points", help="Skip third-party plugins (entry points).")
    ] = False,
) -> None:
    """List the loaded plugins and everything they registered, with origin and availability."""
    from regimeforge.plugins.registry import KINDS

    with open_ws(workspace, load_entry_points=not no_entry_points) as ws:
        registry = ws.registry
        loaded = Table(title="Plugins", title_justify="left")
        for column in ("plugin", "source", "module"):
            loaded.add_column(column)
        for info in registry.plugins:
            loaded.add_row(info.name, info.source, info.module)
        console.print(loaded)
        things = Table(title="Registered", title_justify="left")
        for column in ("kind", "name", "plugin", "status"):
            things.add_column(column)
        for kind in KINDS:
            for name, desc in registry.kind(kind).items():
                status = "available"
                if not getattr(desc, "available", True):
                    reason = getattr(desc, "unavailable_reason", "") or "no reason given"
                    status = f"unavailable: {reason}"
                things.add_row(kind, name, registry.origin(kind, name), status)
        console.print(things)
        counts = ", ".join(f"{len(registry.kind(k))} {k.replace('_', ' ')}" for k in KINDS)
        console.print(f"{len(registry.plugins)} plugins loaded: {counts}")


def register(app: typer.Typer) -> None:
    """Add ``plugins`` to the app."""
    app.command("plugins")(plugins)
