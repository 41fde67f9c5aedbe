"""``SqlAlchemyUnitOfWork``: one database transaction over every repository.

Each ``with uow:`` opens a new session (the same object can be entered again after it was
left); leaving the block rolls back whatever was not committed, and database errors that
escape the block come out as ``StorageError``. Repositories never commit; only ``commit()`` does.
The repositories of one session share a ``KeyCache`` (integer keys by uuid), emptied by
``rollback()``.
"""

from __future__ import annotations

from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.guard import guard, reason
from regimeforge.adapters.storage.keys import KeyCache
from regimeforge.adapters.storage.repositories import (
    SqlAlchemyBacktestRepository,
    SqlAlchemyQueueRepository,
    SqlAlchemyRegimeBestRepository,
    SqlAlchemyRegimeRepository,
    SqlAlchemyRunRepository,
)
from regimeforge.domain.errors import StorageError


class SqlAlchemyUnitOfWork:
    """The ``UnitOfWork`` port on a SQLAlchemy engine (SQLite or PostgreSQL)."""

    runs: SqlAlchemyRunRepository
    backtests: SqlAlchemyBacktestRepository
    regimes: SqlAlchemyRegimeRepository
    bests: SqlAlchemyRegimeBestRepository
    queues: SqlAlchemyQueueRepository

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session: Session | None = None
        self._keys = KeyCache()

    @property
    def session(self) -> Session:
        """The open session (only inside ``with``)."""
        if self._session is None:
            raise StorageError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        if self._session is not None:
            raise StorageError("this unit of work is already open; nesting is not supported")
        # A plain Session, not a sessionmaker per unit of work: each sessionmaker makes a new
        # Session subclass, which SQLAlchemy's event registry then has to take in (measured:
        # a third of the cost of opening a unit of work, and memory that grows with each one).
        session = Session(bind=self.engine, autoflush=False, expire_on_commit=False)
        self._session = session
        keys = self._keys = KeyCache()
        self.runs = SqlAlchemyRunRepository(session, keys)
        self.backtests = SqlAlchemyBacktestRepository(session, keys)
        self.regimes = SqlAlchemyRegimeRepository(session)
        self.bests = SqlAlchemyRegimeBestRepository(session, keys)
        self.queues = SqlAlchemyQueueRepository(session, keys)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            session.rollback()
        finally:
            session.close()
        if isinstance(exc, sa.exc.SQLAlchemyError):
            raise StorageError(f"database error: {reason(exc)}") from exc

    def commit(self) -> None:
        """Make everything done in this unit of work permanent."""
        with guard(self.session, "commit failed", savepoint=False):
            self.session.commit()

    def rollback(self) -> None:
        """Throw away everything done since the last commit."""
        self.session.rollback()
        self._keys.clear()  # keys of rows inserted since the last commit are gone
