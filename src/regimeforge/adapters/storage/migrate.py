"""Programmatic alembic: upgrade, downgrade, current revision, and the ORM-vs-migrations check.

The migrations live inside the package (``regimeforge.adapters.storage:migrations``) so that an
installed RegimeForge can migrate its database without the source tree; the URL is handed to
``env.py`` through ``Config.attributes`` (never through the ini file, where ``%`` in a password
would be taken for interpolation). Database errors come out as ``StorageError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError

from regimeforge.adapters.storage.engine import make_engine, normalise_url
from regimeforge.adapters.storage.guard import reason
from regimeforge.adapters.storage.rows import Base
from regimeforge.domain.errors import StorageError

SCRIPT_LOCATION = "regimeforge.adapters.storage:migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    """An alembic Config pointing at the packaged migrations, with ``url`` as the database."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["url"] = url
    return config


@contextmanager
def _translated(what: str, url: str) -> Iterator[None]:
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        safe = normalise_url(url).render_as_string(hide_password=True)
        raise StorageError(f"{what} of {safe} failed: {reason(exc)}") from exc
    except CommandError as exc:
        raise StorageError(f"{what}: {exc}") from exc


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``."""
    with _translated("upgrade", url):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base``: no tables)."""
    with _translated("downgrade", url):
        command.downgrade(alembic_config(url), revision)


def _missing_sqlite_file(url: str) -> bool:
    parsed = normalise_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return False
    return not database.startswith("file:") and not Path(database).exists()


def current(url: str) -> str | None:
    """The database's revision, or None when it was never migrated (or does not exist)."""
    if _missing_sqlite_file(url):
        return None  # asking must not create an empty database file
    engine = make_engine(url, pool_size=1)
    try:
        with _translated("reading the revision", url), engine.connect() as conn:
            revision: str | None = MigrationContext.configure(conn).get_current_revision()
            return revision
    finally:
        engine.dispose()


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name == VERSION_TABLE)


def check_schema_matches(url: str) -> list[str]:
    """Differences between the ORM rows and the migrated database ([] when they agree)."""
    engine = make_engine(url, pool_size=1)
    try:
        with _translated("comparing the schema", url), engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _include}
            )
            return [repr(diff) for diff in compare_metadata(context, Base.metadata)]
    finally:
        engine.dispose()
