"""``regimeforge runs``: list and export recorded runs; ``show``/``compare`` live in
``runs_show``, ``delete``/``rerun-inference`` in ``runs_manage``.

A RUN argument is a run's integer id (the ``id`` column of ``runs list``) or a prefix of its
uuid (4 hex digits or more); one that matches no run or several is bad input (exit 2).
``--json`` output and exports share one document shape per run (``run_views.run_document``).
"""

from __future__ import annotations

import csv
import io
import os
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from regimeforge.adapters.cli import run_filters as opt
from regimeforge.adapters.cli.common import WorkspaceOption, console, err_console, open_ws
from regimeforge.adapters.cli.run_views import (
    backtest_document,
    best_backtests,
    csv_row,
    dumps,
    number,
    run_document,
    when,
)
from regimeforge.domain.errors import ConfigError, Problem

runs_app = typer.Typer(
    help="Inspect, export, compare and delete recorded runs.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
Sort = Annotated[
    str,
    typer.Option(
        "--sort",
        help="created_at, completed_at, score (best primary metric), sharpe, model_type, "
        "symbol, horizon, training_duration_seconds, id, ...; '-' first for descending "
        "(write --sort=-score)",
    ),
]
_COLUMNS = ("id", "run", "status", "model", "data", "h", "best", "backtests", "kept", "regimes",
            "created")  # fmt: skip
_RIGHT = ("id", "h", "best", "backtests")
_WIDE_ONLY = ("backtests", "created", "h")


def register(app: typer.Typer) -> None:
    """Add the ``runs`` command group to ``app``."""
    from regimeforge.adapters.cli import runs_manage, runs_show

    runs_show.add_commands(runs_app)
    runs_manage.add_commands(runs_app)
    app.add_typer(runs_app, name="runs")


def _summaries(ws: Any, f: opt.Filters, **page: Any) -> tuple[list[Any], int, str]:
    from regimeforge.adapters.storage.queries import count_runs, find_runs

    metric, higher = opt.ranking(ws)
    with ws.uow() as uow:
        found = find_runs(
            uow.session, f.run_filter, search=f.search, metric=metric, higher_is_better=higher,
            **page,
        )  # fmt: skip
        total = count_runs(uow.session, f.run_filter, search=f.search)
    return found, total, metric


def _document(summary: Any, metric: str) -> dict[str, Any]:
    s = summary
    return run_document(
        s.run, key=s.key, backtests=s.backtests, best_score=s.best_score, metric=metric
    )


@runs_app.command("list")
def list_(
    *,
    status: opt.Status = None,
    model_type: opt.ModelType = None,
    symbol: opt.Symbol = None,
    since: opt.Since = None,
    until: opt.Until = None,
    min_sharpe: opt.MinSharpe = None,
    max_drawdown: opt.MaxDrawdown = None,
    search: opt.Search = None,
    queue: opt.Queue = None,
    kept: opt.Kept = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many runs first")] = 0,
    sort: Sort = "-created_at",
    as_json: Json = False,
    workspace: WorkspaceOption = None,
) -> None:
    """List the runs matching every filter given, newest first."""
    opt.check_page(limit, offset)
    ws = open_ws(workspace, require_init=True)
    f = opt.build_filters(
        ws, status=status, model_type=model_type, symbol=symbol, since=since, until=until,
        min_sharpe=min_sharpe, max_drawdown=max_drawdown, search=search, queue=queue, kept=kept,
    )  # fmt: skip
    found, total, metric = _summaries(ws, f, limit=limit, offset=offset, sort=sort)
    if as_json:
        docs = [_document(s, metric) for s in found]
        typer.echo(dumps({"total": total, "offset": offset, "limit": limit, "sort": sort,
                          "filters": f.described, "runs": docs}))  # fmt: skip
        return
    console.print(_table(found, total, metric) if found else "no runs match")
    if found and total > offset + len(found):
        more = offset + len(found)
        console.print(f"showing {offset + 1}-{more} of {total:,}; --offset {more} for more")
    if symbol and not total:
        _symbol_hint(ws, symbol)


def _table(found: list[Any], total: int, metric: str) -> Table:
    wide = console.width >= 140  # narrower terminals get the essential columns only
    columns = _COLUMNS if wide else tuple(c for c in _COLUMNS if c not in _WIDE_ONLY)
    title = f"Runs ({total:,} matching; best = best {metric} of the run's backtests)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(
            column,
            justify="right" if column in _RIGHT else "left",
            no_wrap=column != "regimes",
            min_width=16 if column == "regimes" else None,
        )
    for s in found:
        r, c = s.run, s.run.config
        cells = {
            "id": str(s.key), "run": r.run_uuid[:8], "status": r.status.value,
            "model": c.model_type if c.encoder == "none" else f"{c.model_type}+{c.encoder}",
            "data": f"{c.symbol} {c.base_timeframe} {c.days_history}d" if wide else c.symbol,
            "h": str(c.horizon),
            "best": number(s.best_score), "backtests": str(s.backtests),
            "kept": "yes" if r.is_model_kept else "", "regimes": ", ".join(r.best_regimes),
            "created": when(r.created_at),
        }  # fmt: skip
        table.add_row(*(cells[column] for column in columns))
    return table


def _symbol_hint(ws: Any, symbol: str) -> None:
    from regimeforge.adapters.storage.queries import distinct_values

    with ws.uow() as uow:
        symbols = distinct_values(uow.session, "symbol")
    if symbol not in symbols:
        err_console.print(f"note: no run has symbol {symbol!r}; recorded: {', '.join(symbols)}")


@runs_app.command()
def export(
    *,
    status: opt.Status = None,
    model_type: opt.ModelType = None,
    symbol: opt.Symbol = None,
    since: opt.Since = None,
    until: opt.Until = None,
    min_sharpe: opt.MinSharpe = None,
    max_drawdown: opt.MaxDrawdown = None,
    search: opt.Search = None,
    queue: opt.Queue = None,
    kept: opt.Kept = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    output: Annotated[str, typer.Option("--output", "-o", help="A file, or - for stdout")] = "-",
    backtests: Annotated[
        str, typer.Option("--backtests", help="best (one per run) or all")
    ] = "best",
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many runs")] = None,
    sort: Sort = "-created_at",
    workspace: WorkspaceOption = None,
) -> None:
    """Export the matching runs with their best backtest (or all of them) as JSON or CSV."""
    target = None if output == "-" else Path(output).expanduser()
    problems = []
    if fmt not in ("json", "csv"):
        problems.append(Problem("--format", f"{fmt!r} is not a format", "use json or csv"))
    if backtests not in ("best", "all"):
        problems.append(Problem("--backtests", f"{backtests!r} is not a choice", "use best or all"))
    if target is not None and not target.parent.is_dir():
        fix = "create it first or write elsewhere"
        problems.append(Problem("--output", f"folder {target.parent} does not exist", fix))
    ConfigError.collect(problems)
    opt.check_page(limit, 0)
    ws = open_ws(workspace, require_init=True)
    f = opt.build_filters(
        ws, status=status, model_type=model_type, symbol=symbol, since=since, until=until,
        min_sharpe=min_sharpe, max_drawdown=max_drawdown, search=search, queue=queue, kept=kept,
    )  # fmt: skip
    found, _total, metric = _summaries(ws, f, limit=limit, sort=sort)
    _, higher = opt.ranking(ws)
    docs = []
    with ws.uow() as uow:
        for s in found:
            ordered = best_backtests(uow.backtests.for_run(s.run.run_uuid), metric, higher)
            doc = _document(s, metric)
            chosen = ordered if backtests == "all" else ordered[:1]
            doc["backtests_exported"] = [backtest_document(b) for b in chosen]
            docs.append(doc)
    if fmt == "csv":
        text = _csv(ws, docs, metric)
    else:
        at = ws.clock.now()
        text = dumps({"exported_at": at, "metric": metric, "backtests": backtests,
                      "filters": f.described, "runs": docs})  # fmt: skip
    _write(text, target)
    if target is not None:
        err_console.print(f"wrote {len(docs):,} runs to {target}", soft_wrap=True, markup=False)


def _csv(ws: Any, docs: list[dict[str, Any]], metric: str) -> str:
    metric_names = sorted(ws.registry.metrics)
    regimes = sorted(
        {r for d in docs for b in d["backtests_exported"] for r in b["regime_metrics"]}
    )
    rows = [
        csv_row(d, b, metric_names, regimes, metric)
        for d in docs
        for b in (d["backtests_exported"] or [None])
    ]
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _write(text: str, target: Path | None) -> None:
    """To stdout, or atomically to ``target`` (a temporary file renamed into place)."""
    if target is None:
        sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")
        return
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
