"""``regimeforge db upgrade|downgrade|current``: the workspace database's schema (alembic)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regimeforge.adapters.cli.common import WorkspaceOption, console, open_ws

db_app = typer.Typer(
    help="Database schema: upgrade, downgrade, current revision.", no_args_is_help=True
)


def _url(workspace: Path | None) -> str:
    with open_ws(workspace, require_init=True, load_entry_points=False) as ws:
        url: str = ws.settings.database_url
    return url


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    workspace: WorkspaceOption = None,
) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from regimeforge.adapters.storage import migrate

    url = _url(workspace)
    migrate.upgrade(url, revision=revision)
    console.print(f"{_safe(url)}: at revision {migrate.current(url) or 'base'}")


@db_app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision (base: no tables).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Migrate the database down to REVISION."""
    from regimeforge.adapters.storage import migrate

    url = _url(workspace)
    migrate.downgrade(url, revision=revision)
    console.print(f"{_safe(url)}: at revision {migrate.current(url) or 'base'}")


@db_app.command("current")
def current(workspace: WorkspaceOption = None) -> None:
    """Print the database's current revision (``base`` when never migrated)."""
    from regimeforge.adapters.storage import migrate

    url = _url(workspace)
    console.print(f"{_safe(url)}: at revision {migrate.current(url) or 'base'}")


def register(app: typer.Typer) -> None:
    """Add the ``db`` group to the app."""
    app.add_typer(db_app, name="db")
