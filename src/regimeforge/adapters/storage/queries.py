"""Read-only queries behind ``runs list|show|export`` and ``models storage``.

Functions take the session of an open unit of work (``uow.session``) and return domain objects
or small frozen records; nothing here writes. They add to the run repository what a person
browsing results needs: a text search that also looks inside the config documents, each run's
backtest count and best score in the same query, run references by integer id or uuid prefix,
and the storage figures of model files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from regimeforge.adapters.storage.mapping import run_from_row
from regimeforge.adapters.storage.rows import BacktestRow, BestRow, QueueRow, RunRow, table
from regimeforge.adapters.storage.runs import ORDER_KEYS, _conditions
from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.states import RunStatus
from regimeforge.domain.usecases.model_files import MISSING_NOTE

RUNS = table(RunRow)
BACKTESTS = table(BacktestRow)
BESTS = table(BestRow)
QUEUES = table(QueueRow)

#: Columns and JSON documents that ``--search`` looks in (case-insensitive substring).
SEARCH_COLUMNS = ("symbol", "model_type", "encoder", "base_timeframe", "error_message",
                  "run_uuid", "config_hash")  # fmt: skip
SEARCH_DOCUMENTS = ("indicator_tfs", "additional_features", "preprocessing_params",
                    "model_hyperparams", "encoder_params")  # fmt: skip
#: Sort keys of ``find_runs``: the repository's plus ``score`` (best primary metric) and ``id``.
SORT_KEYS = (*ORDER_KEYS, "score", "id")
_MAX_MATCHES = 5


def search_condition(text: str) -> sa.ColumnElement[bool]:
    """Runs whose columns or config documents contain ``text`` (``%`` and ``_`` are literal)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    found = [RUNS.c[c].ilike(pattern, escape="\\") for c in SEARCH_COLUMNS]
    found += [sa.cast(RUNS.c[d], sa.Text).ilike(pattern, escape="\\") for d in SEARCH_DOCUMENTS]
    return sa.or_(*found)


def _score(metric: str, higher_is_better: bool) -> Any:
    value = BACKTESTS.c.backtest_metrics[metric].as_float()
    best = sa.func.max(value) if higher_is_better else sa.func.min(value)
    return (
        sa.select(best)
        .where(BACKTESTS.c.training_run_id == RUNS.c.id)
        .correlate(RUNS)
        .scalar_subquery()
    )


_COUNT = (
    sa.select(sa.func.count())
    .where(BACKTESTS.c.training_run_id == RUNS.c.id)
    .correlate(RUNS)
    .scalar_subquery()
)


@attrs.frozen
class RunSummary:
    """A run with its integer id, number of backtests and best primary-metric score."""

    key: int
    run: TrainingRun
    backtests: int
    best_score: float | None


def _where(filters: RunFilter | None, search: str | None) -> list[Any]:
    where = _conditions(filters or RunFilter())
    if search:
        where.append(search_condition(search))
    return where


def find_runs(
    session: Session,
    filters: RunFilter | None = None,
    *,
    search: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
    sort: str = "-created_at",
    metric: str = "sharpe",
    higher_is_better: bool = True,
) -> list[RunSummary]:
    """Runs matching ``filters`` and ``search``, sorted by ``sort`` (``-`` for descending).

    ``score`` sorts by the best ``metric`` of the run's backtests (``-score``: best first,
    whichever way the metric ranks; runs without a score last).
    """
    key = sort.removeprefix("-")
    if key not in SORT_KEYS:
        raise ConfigError(
            [Problem("--sort", f"cannot sort by {key!r}", f"use one of: {', '.join(SORT_KEYS)}")]
        )
    score = _score(metric, higher_is_better).label("best_score")
    column: Any = {"score": score, "id": RUNS.c.id}.get(key, ORDER_KEYS.get(key))
    descending = sort.startswith("-")
    if key == "score" and not higher_is_better:
        descending = not descending  # "-score" is "best first" whichever way the metric ranks
    if descending:
        order = [column.desc().nulls_last(), RUNS.c.id.desc()]
    else:
        order = [column.asc().nulls_last(), RUNS.c.id.asc()]
    joined = RUNS.outerjoin(QUEUES, QUEUES.c.id == RUNS.c.queue_id)
    query = (
        sa.select(RUNS, QUEUES.c.queue_uuid.label("queue_uuid"), _COUNT.label("n_backtests"), score)
        .select_from(joined)
        .where(*_where(filters, search))
        .order_by(*order)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        RunSummary(
            key=int(row.id),
            run=run_from_row(row._mapping, row.queue_uuid),
            backtests=int(row.n_backtests or 0),
            best_score=None if row.best_score is None else float(row.best_score),
        )
        for row in session.execute(query)
    ]


def count_runs(
    session: Session, filters: RunFilter | None = None, *, search: str | None = None
) -> int:
    """How many runs ``find_runs`` would return without a limit."""
    joined = RUNS.outerjoin(QUEUES, QUEUES.c.id == RUNS.c.queue_id)
    query = sa.select(sa.func.count()).select_from(joined).where(*_where(filters, search))
    return int(session.scalar(query) or 0)


def _candidates(text: str) -> list[Any]:
    conditions: list[Any] = []
    if text.isdigit() and len(text) <= 18:
        conditions.append(RUNS.c.id == int(text))
    if re.fullmatch(r"[0-9a-f-]{4,36}", text) and len(text.replace("-", "")) >= 4:
        # uuids are stored as 32 hex digits; runs made elsewhere may keep the dashed form
        prefixes = {text, text.replace("-", "")}
        conditions += [RUNS.c.run_uuid.like(f"{p}%") for p in sorted(prefixes)]
    return conditions


def resolve_runs(session: Session, refs: Sequence[str], *, field: str = "RUN") -> list[str]:
    """The uuids of ``refs``: integer run ids or uuid prefixes (at least 4 hex digits).

    ConfigError naming every reference that matches no run or more than one.
    """
    problems: list[Problem] = []
    found: list[str] = []
    hint = "use the id or the uuid shown by `regimeforge runs list`"
    for ref in refs:
        text = ref.strip().lower()
        conditions = _candidates(text)
        if not conditions:
            problems.append(Problem(field, f"{ref!r} is not a run id or uuid prefix", hint))
            continue
        query = sa.select(RUNS.c.id, RUNS.c.run_uuid).where(sa.or_(*conditions))
        matches = session.execute(query.order_by(RUNS.c.id).limit(_MAX_MATCHES + 1)).all()
        if not matches:
            problems.append(Problem(field, f"no run matches {ref!r}", hint))
        elif len(matches) > 1:
            shown = ", ".join(f"{m.id} ({m.run_uuid[:12]})" for m in matches[:_MAX_MATCHES])
            more = " and more" if len(matches) > _MAX_MATCHES else ""
            problems.append(
                Problem(
                    field,
                    f"{ref!r} matches several runs: {shown}{more}",
                    "give more characters of the uuid",
                )
            )
        elif matches[0].run_uuid in found:
            problems.append(Problem(field, f"{ref!r} names a run given twice", "name it once"))
        else:
            found.append(matches[0].run_uuid)
    ConfigError.collect(problems)
    return found


def run_keys(session: Session, run_uuids: Sequence[str]) -> dict[str, int]:
    """Integer ids of runs by uuid (absent when the run does not exist)."""
    query = sa.select(RUNS.c.run_uuid, RUNS.c.id).where(RUNS.c.run_uuid.in_(sorted(run_uuids)))
    return {uuid: int(key) for uuid, key in session.execute(query)}


@attrs.frozen
class FileGroup:
    """Model files of one regime or model type: how many and their recorded bytes."""

    name: str
    files: int
    bytes: int


@attrs.frozen
class StorageFigures:
    """What the database says about model files (``models storage``).

    ``kept``: runs whose file is kept. ``freed``: completed runs whose file was deleted because
    it held no regime rank (its recorded size is the bytes freed). ``lost``: runs whose file was
    found missing by ``models cleanup``. A file holding ranks in several regimes counts in each.
    """

    kept_files: int
    kept_bytes: int
    freed_files: int
    freed_bytes: int
    lost_files: int
    by_regime: tuple[FileGroup, ...]
    by_model_type: tuple[FileGroup, ...]


def _files(session: Session, *where: Any) -> tuple[int, int]:
    size = sa.func.coalesce(sa.func.sum(RUNS.c.model_file_size_bytes), 0)
    query = sa.select(sa.func.count(), size).where(RUNS.c.model_file_path.is_not(None), *where)
    count, total = session.execute(query).one()
    return int(count), int(total)


def storage_figures(session: Session) -> StorageFigures:
    """The storage figures of model files (see ``StorageFigures``)."""
    kept = RUNS.c.is_model_kept.is_(True)
    lost = RUNS.c.error_message.like(f"{MISSING_NOTE}%")
    not_lost = sa.or_(RUNS.c.error_message.is_(None), sa.not_(lost))
    completed = RUNS.c.status == RunStatus.COMPLETED.value
    kept_files, kept_bytes = _files(session, kept)
    freed_files, freed_bytes = _files(session, completed, RUNS.c.is_model_kept.is_(False), not_lost)
    lost_files, _ = _files(session, RUNS.c.is_model_kept.is_(False), lost)
    size = sa.func.coalesce(sa.func.sum(RUNS.c.model_file_size_bytes), 0)
    held = sa.select(BESTS.c.regime_name, BESTS.c.training_run_id).distinct().subquery()
    by_regime = session.execute(
        sa.select(held.c.regime_name, sa.func.count(), size)
        .join_from(held, RUNS, RUNS.c.id == held.c.training_run_id)
        .where(kept, RUNS.c.model_file_path.is_not(None))
        .group_by(held.c.regime_name)
        .order_by(held.c.regime_name)
    )
    by_type = session.execute(
        sa.select(RUNS.c.model_type, sa.func.count(), size)
        .where(kept, RUNS.c.model_file_path.is_not(None))
        .group_by(RUNS.c.model_type)
        .order_by(RUNS.c.model_type)
    )
    return StorageFigures(
        kept_files=kept_files,
        kept_bytes=kept_bytes,
        freed_files=freed_files,
        freed_bytes=freed_bytes,
        lost_files=lost_files,
        by_regime=tuple(FileGroup(str(n), int(c), int(b)) for n, c, b in by_regime),
        by_model_type=tuple(FileGroup(str(n), int(c), int(b)) for n, c, b in by_type),
    )


def distinct_values(session: Session, column: str) -> list[str]:
    """The values of a run column seen in the database (e.g. every recorded ``model_type``)."""
    if column not in ("model_type", "encoder", "symbol", "base_timeframe", "status"):
        raise ValueError(f"no distinct values of {column!r}")
    query = sa.select(RUNS.c[column]).distinct().order_by(RUNS.c[column])
    return [str(v) for v in session.scalars(query)]
