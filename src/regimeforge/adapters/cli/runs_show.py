"""``regimeforge runs show RUN`` and ``runs compare RUN RUN [...]``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from regimeforge.adapters.cli import run_filters as opt
from regimeforge.adapters.cli.common import WorkspaceOption, console, open_ws
from regimeforge.adapters.cli.run_views import (
    TABLE_METRICS,
    backtest_document,
    best_backtests,
    dumps,
    flat_config,
    fmt_bytes,
    number,
    run_document,
    when,
)
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.ids import short_backtest_id

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]
#: Short table headers of TABLE_METRICS.
_SHORT = {"sharpe": "sharpe", "max_drawdown": "max dd", "total_return": "return",
          "win_rate": "win", "n_trades": "trades"}  # fmt: skip


def add_commands(runs_app: typer.Typer) -> None:
    """Add ``show`` and ``compare`` to the ``runs`` group."""
    runs_app.command()(show)
    runs_app.command()(compare)


def file_state(ws: Any, run: Any) -> dict[str, Any]:
    """Where the run's model file is and what is on disk now."""
    name = run.model_file_path
    store = ws.artifacts
    there = bool(name) and store.exists(name)
    return {
        "absolute_path": str(store.path_of(name)) if name else None,
        "exists": there,
        "bytes_on_disk": store.size(name) if there else None,
        "compressed": store.is_compressed(name) if there else None,
    }


def show(
    run: Annotated[str, typer.Argument(help="Run id or uuid prefix")],
    backtests: Annotated[int, typer.Option("--backtests", help="Best backtests shown")] = 5,
    as_json: Json = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Everything about one run: config, data, timings, metrics, best backtests, ranks, file."""
    from regimeforge.adapters.storage.queries import run_keys

    if backtests < 0:
        raise ConfigError([Problem("--backtests", f"is {backtests}", "give 0 or more")])
    ws = open_ws(workspace, require_init=True)
    (run_uuid,) = opt.resolve(ws, [run])
    metric, higher = opt.ranking(ws)
    with ws.uow() as uow:
        found = uow.runs.get(run_uuid)
        key = run_keys(uow.session, [run_uuid])[run_uuid]
        ordered = best_backtests(uow.backtests.for_run(run_uuid), metric, higher)
        ranks = [b for top in uow.bests.all().values() for b in top if b.run_uuid == run_uuid]
        queue = uow.queues.get(found.queue_uuid) if found.queue_uuid else None
    file = file_state(ws, found)
    ranks.sort(key=lambda b: (b.regime_name, b.rank))
    if not as_json:
        _print_run(ws, found, key, queue, file)
        _print_results(metric, ordered, backtests, ranks)
        return
    best = ordered[0].backtest_metrics.get(metric) if ordered else None
    doc = run_document(found, key=key, backtests=len(ordered), best_score=best, metric=metric)
    doc["model_file"].update(file)
    doc["queue_name"] = queue.name if queue else None
    doc["regime_ranks"] = [
        {"regime": b.regime_name, "rank": b.rank, "score": b.performance_score,
         "backtest_uuid": b.backtest_uuid, "achieved_at": b.achieved_at}
        for b in ranks
    ]  # fmt: skip
    doc["best_backtests"] = [backtest_document(b) for b in ordered[:backtests]]
    typer.echo(dumps(doc))


def inference_text(backtest: Any) -> str:
    """``method/ensemble/threshold/window`` of a backtest's inference config."""
    i = backtest.inference
    return (f"{i.prediction_method}/{i.ensemble_method}/{i.confidence_threshold:g}/"
            f"{i.lookback_window}")  # fmt: skip


def _pairs(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for k, v in rows:
        table.add_row(k, v if isinstance(v, str) else number(v))
    return table


def _print_run(ws: Any, run: Any, key: int, queue: Any, file: dict[str, Any]) -> None:
    console.print(f"Run {key}  {run.run_uuid}  {run.status.value}", markup=False)
    if run.error_message:
        console.print(f"error: {run.error_message}", markup=False)
    console.print(_pairs("Config", [(k, str(v)) for k, v in flat_config(run).items()]))
    took = None
    if run.completed_at and run.started_at:
        took = (run.completed_at - run.started_at).total_seconds()
    console.print(_pairs("Data and timings", [
        ("config hash", run.config_hash), ("data fingerprint", run.data_fingerprint or "-"),
        ("seed", str(run.seed)), ("queue", f"{queue.name} ({queue.queue_uuid})" if queue else "-"),
        ("created by", run.created_by or "-"), ("package version", run.package_version or "-"),
        ("created", when(run.created_at)), ("started", when(run.started_at)),
        ("completed", when(run.completed_at)),
        ("training seconds", number(run.training_duration_seconds, 2)),
        ("start to finish seconds", number(took, 2)),
    ]))  # fmt: skip
    metrics = [(k, number(v, 6)) for k, v in sorted(run.training_metrics.items())]
    console.print(_pairs("Training", [("features", number(run.feature_count)), *metrics]))
    on_disk = fmt_bytes(file["bytes_on_disk"]) if file["exists"] else "not on disk"
    compressed = {True: "yes (gzip)", False: "no"}.get(file["compressed"], "-")
    console.print(_pairs("Model file", [
        ("path", file["absolute_path"] or "-"), ("kept", "yes" if run.is_model_kept else "no"),
        ("recorded size", fmt_bytes(run.model_file_size_bytes)), ("on disk", on_disk),
        ("compressed", compressed), ("sha256", run.model_file_sha256 or "-"),
    ]))  # fmt: skip


def _print_results(metric: str, ordered: list[Any], n: int, ranks: list[Any]) -> None:
    if ranks:
        table = Table(title="Regime ranks held", title_justify="left")
        for column in ("regime", "rank", metric, "backtest", "achieved"):
            table.add_column(column)
        for b in ranks:
            table.add_row(b.regime_name, str(b.rank), number(b.performance_score),
                          short_backtest_id(b.backtest_uuid), when(b.achieved_at))  # fmt: skip
        console.print(table)
    if not ordered or n == 0:
        return
    title = f"Best backtests by {metric} ({min(n, len(ordered))} of {len(ordered)})"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("backtest", "inference", *_SHORT.values()):
        left = column in ("backtest", "inference")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for b in ordered[:n]:
        metrics = (number(b.backtest_metrics.get(m), 3) for m in _SHORT)
        table.add_row(short_backtest_id(b.backtest_uuid), inference_text(b), *metrics)
    console.print(table)


def compare(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids or uuid prefixes")],
    only_differences: Annotated[
        bool, typer.Option("--diff", help="Only the config rows that differ")
    ] = False,
    as_json: Json = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Configs side by side (rows that differ are marked * and highlighted) and metrics."""
    if len(runs) < 2:
        raise ConfigError([Problem("RUN", "give at least two runs", "e.g. runs compare 3 7")])
    ws = open_ws(workspace, require_init=True)
    uuids = opt.resolve(ws, runs)
    metric, higher = opt.ranking(ws)
    with ws.uow() as uow:
        found = [uow.runs.get(u) for u in uuids]
        best = [next(iter(best_backtests(uow.backtests.for_run(u), metric, higher)), None)
                for u in uuids]  # fmt: skip
    configs = [flat_config(r) for r in found]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differ = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    metrics = _compare_metrics(found, best, metric)
    if as_json:
        config = {k: [c.get(k) for c in configs] for k in keys}
        typer.echo(dumps({"runs": uuids, "differences": differ, "config": config,
                          "metrics": metrics}))  # fmt: skip
        return
    title = f"{len(found)} runs: {len(differ)} config differences (marked *)"
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("", no_wrap=True)
    for r in found:
        table.add_column(r.run_uuid[:8])
    for k in keys:
        if only_differences and k not in differ:
            continue
        mark, style = ("*", "bold yellow") if k in differ else ("", None)
        cells = ["-" if c.get(k) is None else str(c.get(k)) for c in configs]
        table.add_row(mark, k, *cells, style=style)
    table.add_section()
    for name, values in metrics.items():
        table.add_row("", name, *(_cell(v) for v in values))
    console.print(table)


def _cell(value: Any) -> str:
    return "-" if value is None else (value if isinstance(value, str) else number(value))


def _compare_metrics(runs: list[Any], best: list[Any], metric: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "status": [r.status.value for r in runs],
        "completed": [when(r.completed_at) for r in runs],
        "training seconds": [r.training_duration_seconds for r in runs],
        "features": [r.feature_count for r in runs],
        "regimes held": [", ".join(r.best_regimes) or "-" for r in runs],
        "model kept": ["yes" if r.is_model_kept else "no" for r in runs],
        f"best backtest by {metric}": [inference_text(b) if b else None for b in best],
    }
    for name in TABLE_METRICS:
        out[name] = [b.backtest_metrics.get(name) if b else None for b in best]
    return out
