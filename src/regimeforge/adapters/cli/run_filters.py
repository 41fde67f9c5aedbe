"""What the ``runs`` commands share: the filter options of ``list``/``export`` and their
parsing, RUN references, the primary metric.

Every value is checked before the database is asked anything; a bad one is a ``ConfigError``
naming the option and the fix (exit status 2). Dates: ``YYYY-MM-DD`` or an ISO time (naive
means UTC), or a relative ``7d``/``12h``/``30m``/``2w`` (before now). ``--until`` with a bare
date includes that whole day. Both compare with a run's creation time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import attrs
import typer

from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.states import RunStatus

Status = Annotated[
    str | None,
    typer.Option("--status", help="pending, running, completed, failed or cancelled"),
]
ModelType = Annotated[str | None, typer.Option("--model-type", help="e.g. ridge")]
Symbol = Annotated[str | None, typer.Option("--symbol", help="e.g. EUR/USD")]
Since = Annotated[
    str | None,
    typer.Option("--since", help="Created at or after: YYYY-MM-DD, an ISO time, or 7d/12h"),
]
Until = Annotated[
    str | None,
    typer.Option("--until", help="Created before (a bare date includes that day)"),
]
MinSharpe = Annotated[
    float | None,
    typer.Option("--min-sharpe", help="Some backtest has at least this Sharpe ratio"),
]
MaxDrawdown = Annotated[
    float | None,
    typer.Option(
        "--max-drawdown", help="...with a max drawdown of at most this fraction (0.2 = 20%)"
    ),
]
Search = Annotated[
    str | None,
    typer.Option(
        "--search", help="Text in the symbol, model type, encoder, config, uuid, hash or error"
    ),
]
Queue = Annotated[str | None, typer.Option("--queue", help="A queue's uuid or name")]
Kept = Annotated[
    bool | None,
    typer.Option("--kept/--not-kept", help="Only runs whose model file is (not) kept"),
]

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_when(text: str, option: str, now: datetime, *, end_of_day: bool = False) -> datetime:
    """A point in time from ``--since``/``--until`` (see the module docstring)."""
    value = text.strip()
    relative = _RELATIVE.match(value.lower())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: float(relative.group(1))})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fix = "use YYYY-MM-DD, an ISO time like 2024-05-01T12:00, or 7d / 12h"
        raise ConfigError([Problem(option, f"{text!r} is not a date", fix)]) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end_of_day and _BARE_DATE.match(value):
        parsed += timedelta(days=1)
    return parsed.astimezone(UTC)


def parse_status(text: str | None) -> RunStatus | None:
    """A run status from ``--status`` (any case)."""
    if text is None:
        return None
    try:
        return RunStatus(text.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        raise ConfigError(
            [Problem("--status", f"{text!r} is not a run status", f"use one of: {known}")]
        ) from None


@attrs.frozen
class Filters:
    """The parsed filters: a ``RunFilter`` for the repository and the ``--search`` text."""

    run_filter: RunFilter
    search: str | None
    described: dict[str, Any]  # what was asked, for JSON output and empty-result hints


def build_filters(
    ws: Any,
    *,
    status: str | None,
    model_type: str | None,
    symbol: str | None,
    since: str | None,
    until: str | None,
    min_sharpe: float | None,
    max_drawdown: float | None,
    search: str | None,
    queue: str | None,
    kept: bool | None,
) -> Filters:
    """Check every filter value (all problems at once) and build the filters."""
    from regimeforge.adapters.storage.queries import distinct_values
    from regimeforge.domain.errors import NotFoundError

    now = ws.clock.now()
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}
    for name, func in (
        ("status", lambda: parse_status(status)),
        ("since", lambda: since and parse_when(since, "--since", now)),
        ("until", lambda: until and parse_when(until, "--until", now, end_of_day=True)),
    ):
        try:
            parsed[name] = func() or None
        except ConfigError as exc:
            problems.extend(exc.problems)
    if parsed.get("since") and parsed.get("until") and parsed["until"] <= parsed["since"]:
        problems.append(Problem("--until", "is not after --since", "swap the two dates"))
    if search is not None and not search.strip():
        problems.append(Problem("--search", "is empty", "give some text or leave it out"))
    queue_uuid = None
    with ws.uow() as uow:
        if queue is not None:
            try:
                queue_uuid = uow.queues.get(queue).queue_uuid
            except NotFoundError:
                fix = "use a uuid or name from `regimeforge queue list`"
                problems.append(Problem("--queue", f"no queue {queue!r}", fix))
        if model_type is not None and model_type not in ws.registry.model_types:
            recorded = set(distinct_values(uow.session, "model_type"))
            if model_type not in recorded:
                known = ", ".join(sorted(set(ws.registry.model_types) | recorded))
                message = f"unknown model type {model_type!r}"
                problems.append(Problem("--model-type", message, f"use one of: {known}"))
    ConfigError.collect(problems)
    described = {
        "status": status, "model_type": model_type, "symbol": symbol, "since": since,
        "until": until, "min_sharpe": min_sharpe, "max_drawdown": max_drawdown,
        "search": search, "queue": queue, "kept": kept,
    }  # fmt: skip
    return Filters(
        RunFilter(
            status=parsed["status"],
            model_type=model_type,
            symbol=symbol,
            queue_uuid=queue_uuid,
            created_after=parsed["since"],
            created_before=parsed["until"],
            kept=kept,
            min_sharpe=min_sharpe,
            max_drawdown=max_drawdown,
        ),
        search.strip() if search else None,
        {k: v for k, v in described.items() if v is not None},
    )


def check_page(limit: int | None, offset: int) -> None:
    """``--limit`` at least 1 (when given), ``--offset`` not negative."""
    problems = []
    if limit is not None and limit < 1:
        problems.append(Problem("--limit", f"is {limit}", "give 1 or more"))
    if offset < 0:
        problems.append(Problem("--offset", f"is {offset}", "give 0 or more"))
    ConfigError.collect(problems)


def ranking(ws: Any) -> tuple[str, bool]:
    """The primary metric and whether higher is better (from its metric plugin)."""
    metric = str(ws.settings.primary_metric)
    descriptor = ws.registry.metrics.get(metric)
    return metric, bool(getattr(getattr(descriptor, "metric", None), "higher_is_better", True))


def resolve(ws: Any, refs: list[str], field: str = "RUN") -> list[str]:
    """Run uuids of RUN arguments: integer ids or uuid prefixes (ConfigError otherwise)."""
    from regimeforge.adapters.storage.queries import resolve_runs

    with ws.uow() as uow:
        found: list[str] = resolve_runs(uow.session, refs, field=field)
    return found
