"""The SQLAlchemy repositories, one module each; re-exported here for one import line."""

from regimeforge.adapters.storage.backtests import SqlAlchemyBacktestRepository
from regimeforge.adapters.storage.queues import SqlAlchemyQueueRepository
from regimeforge.adapters.storage.regimes import (
    SqlAlchemyRegimeBestRepository,
    SqlAlchemyRegimeRepository,
)
from regimeforge.adapters.storage.runs import SqlAlchemyRunRepository

__all__ = [
    "SqlAlchemyBacktestRepository",
    "SqlAlchemyQueueRepository",
    "SqlAlchemyRegimeBestRepository",
    "SqlAlchemyRegimeRepository",
    "SqlAlchemyRunRepository",
]
