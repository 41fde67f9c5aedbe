"""``make_engine``: a SQLAlchemy engine set up the way RegimeForge's storage relies on.

SQLite: 8 KiB pages for new databases, WAL (readers never block the writer), ``foreign_keys=ON``
(SQLite's default is off, which would silently break every cascade), a 30 s busy timeout, and
transactions that start with ``BEGIN IMMEDIATE``: a unit of work takes the write lock when it
begins, so two processes never both read a queue row and then fail (or overwrite each other)
when they write it. The driver's own transaction handling is switched off for this (the recipe
of SQLAlchemy's SQLite docs).

PostgreSQL: psycopg 3 (a bare ``postgresql://`` URL is given that driver), a connection pool of
``pool_size`` with ``pool_pre_ping`` so that a restarted server is noticed before use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from regimeforge.adapters.storage.mapping import plain
from regimeforge.domain.errors import StorageError

try:  # optional (the "fast" extra): formats floats ~15x faster than the json module
    import orjson
except ImportError:  # pragma: no cover - depends on the installation
    orjson = None  # type: ignore[assignment]

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: A backtest row is ~2 KiB (its metrics overall and per regime, as JSON): with SQLite's default
#: 4 KiB pages only one fits per page and half of every page was empty. 8 KiB pages hold three:
#: a third less written per model (and a third smaller database), measured in docs/benchmarks.md.
SQLITE_PAGE_SIZE = 8192


def normalise_url(url: str | URL) -> URL:
    """Parse ``url``; PostgreSQL URLs without a driver get psycopg (3), the one installed."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StorageError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


#: One encoder for every JSON column (``json.dumps`` with options builds a new one per call).
def _default(value: Any) -> Any:
    if isinstance(value, Mapping):  # read-only mappings of domain objects
        return dict(value)
    return plain(value)  # numpy arrays and scalars; StorageError for anything else


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=_default)
#: Dates and dataclasses go to ``_default`` (and are refused there) as with the json module.
_ORJSON_OPTIONS = 0
if orjson is not None:
    _ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def to_json(value: Any) -> str:
    """JSON text of a column value: plain data directly, anything else through ``plain``.

    The strict encoder refuses NaN and infinity: such values (rare) take the slow path, which
    turns them into null. Mappings and numpy values are converted as they are met.

    With orjson installed it encodes first: the 135 backtests of a model hold ~9,000 floats,
    and formatting them with the json module was most of the cost of recording a model. It
    gives the same documents (NaN and infinity -> null, mappings and numpy through
    ``_default``; only the text differs, e.g. ``1e-7`` for ``1e-07``); what it refuses (keys
    that are not strings, integers beyond 64 bits, what ``_default`` refuses) takes the path
    above. The one difference: it writes a ``uuid.UUID`` or an ``Enum`` as its string or value
    where the json module refuses them; no document of ours holds either.
    """
    if orjson is not None:
        try:
            return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS).decode()
        except TypeError:  # orjson.JSONEncodeError
            pass
    try:
        return _ENCODER.encode(value)
    except ValueError:
        return _ENCODER.encode(plain(value))


def make_engine(url: str | URL, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL) with the settings described above."""
    parsed = normalise_url(url)
    # NaN is not JSON (PostgreSQL refuses it); the mapping turns non-finite floats into null.
    serializer = to_json
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, echo=echo, json_serializer=serializer)
        _setup_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            pool_pre_ping=True,
            json_serializer=serializer,
        )
    return sa.create_engine(parsed, echo=echo, json_serializer=serializer)


def _setup_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; the "begin" listener below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Only a new, empty database takes a page size (an existing one keeps its own), so
            # it is set before WAL mode writes the file's first page.
            cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
