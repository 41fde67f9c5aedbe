"""Translate SQLAlchemy/driver errors into StorageError with a message that says what failed.

Writes run inside a SAVEPOINT so that a refused statement (a duplicate, a missing key) leaves the
unit of work usable: PostgreSQL would otherwise reject every later statement of the transaction.
SQLite undoes a refused statement by itself and keeps the transaction going, so a block that is
one statement (``single=True``; not an executemany) needs no savepoint there: two statements and
SQLAlchemy's nested-transaction bookkeeping saved on every write of the outer loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from regimeforge.domain.errors import StorageError

#: Plain-words reasons for our named constraints (SQLite names the columns instead of the index).
_REASONS = (
    (
        ("uq_training_runs_live_config", "training_runs.config_hash, training_runs.data_fin"),
        "a completed or running run with the same config hash and data fingerprint exists",
    ),
    (
        ("uq_regime_best_models_regime_rank", "regime_best_models.regime_name, regime_best"),
        "that regime already has a best at this rank",
    ),
    (
        ("uq_inference_backtests_run_hash", "inference_backtests.training_run_id, inference_b"),
        "the run already has a backtest with this inference hash",
    ),
    (("uq_training_runs_run_uuid", "training_runs.run_uuid"), "a run with this uuid exists"),
    (
        ("uq_regime_definitions_regime_name", "regime_definitions.regime_name"),
        "a regime with this name exists",
    ),
    (
        ("uq_training_queue_queue_uuid", "training_queue.queue_uuid"),
        "a queue with this uuid exists",
    ),
    (("foreign key", "FOREIGN KEY"), "it refers to a row that does not exist"),
    (("ck_regime_best_models_rank",), "ranks start at 1"),
)


def reason(exc: sa.exc.SQLAlchemyError) -> str:
    """The driver's first line, with a plain-words explanation for our own constraints."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()[0]
    for needles, words in _REASONS:
        if any(n in text for n in needles):
            return f"{words} ({text})"
    return text


@contextmanager
def guard(
    session: Session, what: str, *, savepoint: bool = True, single: bool = False
) -> Iterator[None]:
    """Run a block of statements; database errors become ``StorageError("<what>: <reason>")``.

    ``single``: the block is one statement (atomic on its own), so SQLite can skip the savepoint
    (see the module docstring); PostgreSQL always takes one.
    """
    if savepoint and single:
        savepoint = session.get_bind().dialect.name != "sqlite"
    try:
        if savepoint:
            with session.begin_nested():
                yield
        else:
            yield
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"{what}: {reason(exc)}") from exc
