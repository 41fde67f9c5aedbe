"""``regimeforge runs delete RUN...`` and ``runs rerun-inference RUN``.

``delete`` shows what would go and asks (``--yes`` skips the question; a refusal or end of input
deletes nothing and exits 1). It refuses a running run, and a run holding a regime best unless
``--force`` (those ranks are then cleared and recorded as ``deleted`` in the history). See
``domain.usecases.run_deletion``.

``rerun-inference`` backtests the stored model of a completed run with another inference grid
(``--inference-grid FILE``, else the settings') on the same data window, and adds the backtests
of configs it does not have yet (``domain.usecases.reinference`` says why it never replaces).
A model file that was deleted or fails its SHA-256 check is a failure: exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regimeforge.adapters.cli import run_filters as opt
from regimeforge.adapters.cli.common import WorkspaceOption, console, open_ws, print_error
from regimeforge.adapters.cli.run_views import fmt_bytes, number


def add_commands(runs_app: typer.Typer) -> None:
    """Add ``delete`` and ``rerun-inference`` to the ``runs`` group."""
    runs_app.command()(delete)
    runs_app.command("rerun-inference")(rerun_inference)


def delete(
    runs: Annotated[list[str], typer.Argument(help="Run ids or uuid prefixes")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also delete runs holding a regime best")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete runs, their backtests and (after the commit) their model files."""
    from regimeforge.domain.usecases.run_deletion import delete_runs, plan_deletion

    ws = open_ws(workspace, require_init=True)
    uuids = opt.resolve(ws, runs)
    plan = plan_deletion(ws.uow(), uuids, force=force)
    table = Table(title="Runs to delete", title_justify="left")
    for column in ("run", "status", "model", "symbol", "model file", "regime ranks"):
        table.add_column(column)
    for r in plan.runs:
        file = fmt_bytes(r.model_file_size_bytes) if r.is_model_kept else "-"
        ranks = ", ".join(plan.ranks.get(r.run_uuid, ()))
        table.add_row(r.run_uuid[:12], r.status.value, r.config.model_type, r.config.symbol,
                      file, ranks)  # fmt: skip
    console.print(table)
    question = (f"Delete {len(plan.runs)} runs with their backtests and {len(plan.files)} model "
                f"files ({fmt_bytes(plan.file_bytes)})?")  # fmt: skip
    if not yes and not typer.confirm(question, default=False):
        console.print("nothing deleted")
        raise typer.Exit(1)
    done = delete_runs(ws.uow(), ws.artifacts, uuids, force=force, at=ws.clock.now())
    console.print(
        f"deleted {len(done.runs)} runs, {done.backtests:,} backtests and {done.files_deleted} "
        f"model files ({fmt_bytes(done.freed_bytes)} freed)"
    )
    for change in done.changes:
        console.print(f"cleared rank {change.rank} of {change.regime_name} "
                      f"(run {change.run_uuid[:8]}, recorded in the history)")  # fmt: skip
    for name, why in done.failed_files:
        print_error(f"could not delete {name}: {why}; `regimeforge models cleanup` removes it")
    if done.failed_files:
        raise typer.Exit(1)


def rerun_inference(
    run: Annotated[str, typer.Argument(help="Run id or uuid prefix")],
    inference_grid: Annotated[
        Path | None,
        typer.Option("--inference-grid", help="YAML inference grid (default: the settings')"),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Backtest a stored model with an inference grid and record the new backtests."""
    from regimeforge.adapters.reinference import (
        ModelFileMissing,
        read_inference_grid,
        settings_inference_grid,
    )
    from regimeforge.adapters.reinference import rerun_inference as rerun
    from regimeforge.domain.errors import ArtifactIntegrityError

    grid = read_inference_grid(inference_grid) if inference_grid is not None else None
    ws = open_ws(workspace, require_init=True)
    (run_uuid,) = opt.resolve(ws, [run])
    configs = grid if grid is not None else settings_inference_grid(ws.settings)
    with console.status(f"backtesting {len(configs)} inference configs ..."):
        try:
            done = rerun(ws, run_uuid, configs)
        except (ModelFileMissing, ArtifactIntegrityError) as exc:
            print_error(f"{exc}; nothing was recorded")
            raise typer.Exit(1) from None
    _report(done, len(configs))


def _report(done: Any, n: int) -> None:
    differ = f" ({done.differing} gave other metrics now)" if done.differing else ""
    console.print(
        f"run {done.run.run_uuid[:12]}: {n} inference configs; {done.added} backtests added, "
        f"{done.already} already recorded and kept as they were{differ}"
    )
    entered = [c for c in done.changes if c.change == "entered"]
    if entered:
        table = Table(title="Regime bests entered", title_justify="left")
        for column in ("regime", "rank", "score", "previous", "run"):
            table.add_column(column)
        for c in entered:
            table.add_row(c.regime_name, str(c.rank), number(c.performance_score),
                          number(c.previous_score), c.run_uuid[:8])  # fmt: skip
        console.print(table)
    else:
        console.print("no regime best changed")
    if done.deleted_runs:
        console.print(f"{len(done.deleted_runs)} models left every top-N: files deleted "
                      f"({fmt_bytes(done.freed_bytes)} freed)")  # fmt: skip
