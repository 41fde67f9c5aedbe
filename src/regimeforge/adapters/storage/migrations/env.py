"""Alembic environment: where the database URL comes from and what autogenerate compares.

The URL, first found wins: ``config.attributes["url"]`` (programmatic use, ``migrate.py``),
``-x url=...`` on the alembic command line, ``$REGIMEFORGE_DATABASE_URL``, ``sqlalchemy.url`` of
alembic.ini. A ready connection may be passed in ``config.attributes["connection"]``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from regimeforge.adapters.storage.engine import make_engine, normalise_url
from regimeforge.adapters.storage.rows import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("REGIMEFORGE_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit(
            "no database URL: pass -x url=..., set REGIMEFORGE_DATABASE_URL or sqlalchemy.url"
        )
    return str(url)


def run_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade head --sql``)."""
    context.configure(
        url=normalise_url(_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate through a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), pool_size=1)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    # Batch mode lets later revisions ALTER tables on SQLite (copy-and-move).
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
