"""``regimeforge models``: storage figures, cleanup and compression of model files.

- ``storage``: kept files and bytes (as recorded, and on disk), per regime and per model type,
  what was freed so far (files of runs that left every top-N), files lost, orphans on disk.
- ``cleanup [--dry-run]``: deletes files no kept run names and records kept runs whose file is
  missing (``domain.usecases.model_files``). Only regular files inside ``artifacts_dir`` are
  ever considered: symbolic links are skipped, whatever they point at. While a queue of this
  database is running, files younger than ``--grace-minutes`` are left alone (a worker may have
  written one that is about to be recorded).
- ``compress --older-than DAYS [--dry-run]``: gzips the kept files of runs completed more than
  DAYS ago. They load as before: the recorded SHA-256 is of the uncompressed payload and is
  checked on every load; each file is verified before it is rewritten.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from regimeforge.adapters.cli.common import WorkspaceOption, console, open_ws, print_error
from regimeforge.adapters.cli.run_views import dumps, fmt_bytes
from regimeforge.domain.errors import ConfigError, Problem

models_app = typer.Typer(
    help="Model files: storage figures, cleanup, compression.", no_args_is_help=True
)
DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would be done; change nothing")]


def register(app: typer.Typer) -> None:
    """Add the ``models`` command group to ``app``."""
    app.add_typer(models_app, name="models")


def _groups(title: str, name: str, groups: Any) -> Table:
    table = Table(title=title, title_justify="left")
    for column in (name, "files", "bytes"):
        table.add_column(column, justify="left" if column == name else "right")
    for g in groups:
        table.add_row(g.name, f"{g.files:,}", fmt_bytes(g.bytes))
    return table


@models_app.command()
def storage(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Bytes and files kept, per regime and model type, and freed so far."""
    from regimeforge.adapters.storage.queries import storage_figures
    from regimeforge.domain.usecases.model_files import plan_cleanup

    ws = open_ws(workspace, require_init=True)
    with ws.uow() as uow:
        figures = storage_figures(uow.session)
    plan = plan_cleanup(ws.uow(), ws.artifacts)
    names = ws.artifacts.list()
    disk_bytes = sum(ws.artifacts.size(n) for n in names if ws.artifacts.exists(n))
    doc = {
        "artifacts_dir": str(ws.settings.artifacts_dir),
        "kept": {"files": figures.kept_files, "bytes": figures.kept_bytes},
        "on_disk": {"files": len(names), "bytes": disk_bytes},
        "freed": {"files": figures.freed_files, "bytes": figures.freed_bytes},
        "lost": {"files": figures.lost_files},
        "orphans": {"files": len(plan.orphans), "bytes": plan.orphan_bytes},
        "missing": {"files": len(plan.missing)},
        "by_regime": {g.name: {"files": g.files, "bytes": g.bytes} for g in figures.by_regime},
        "by_model_type": {
            g.name: {"files": g.files, "bytes": g.bytes} for g in figures.by_model_type
        },
    }
    if as_json:
        typer.echo(dumps(doc))
        return
    table = Table(title=f"Model files in {ws.settings.artifacts_dir}", title_justify="left")
    for column in ("", "files", "bytes"):
        table.add_column(column, justify="left" if not column else "right")
    table.add_row("kept (recorded)", f"{figures.kept_files:,}", fmt_bytes(figures.kept_bytes))
    table.add_row("on disk", f"{len(names):,}", fmt_bytes(disk_bytes))
    table.add_row("freed so far", f"{figures.freed_files:,}", fmt_bytes(figures.freed_bytes))
    table.add_row("lost (found missing)", f"{figures.lost_files:,}", "")
    table.add_row("orphans on disk", f"{len(plan.orphans):,}", fmt_bytes(plan.orphan_bytes))
    table.add_row("kept but missing", f"{len(plan.missing):,}", "")
    console.print(table)
    console.print(_groups("Kept per regime", "regime", figures.by_regime))
    console.print(_groups("Kept per model type", "model type", figures.by_model_type))
    if plan.orphans or plan.missing:
        console.print("run `regimeforge models cleanup` to delete orphans and record missing files")


def _spare(ws: Any, grace_minutes: float) -> Any:
    """Leave young files alone while a queue of this database is running."""
    from regimeforge.domain.states import QueueStatus

    with ws.uow() as uow:
        running = [q.name for q in uow.queues.list() if q.status is QueueStatus.RUNNING]
    if not running or grace_minutes <= 0:
        return lambda _name: False
    console.print(f"queues running ({', '.join(running)}): files younger than "
                  f"{grace_minutes:g} minutes are left alone")  # fmt: skip
    cutoff = (ws.clock.now() - timedelta(minutes=grace_minutes)).timestamp()

    def young(name: str) -> bool:
        try:
            return bool(os.stat(ws.artifacts.path_of(name)).st_mtime > cutoff)
        except OSError:
            return True

    return young


@models_app.command()
def cleanup(
    dry_run: DryRun = False,
    grace_minutes: Annotated[
        float, typer.Option("--grace-minutes", help="While a queue runs, spare younger files")
    ] = 60.0,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete model files no kept run names; record kept runs whose file is missing."""
    from regimeforge.domain.usecases.model_files import apply_cleanup, plan_cleanup

    if grace_minutes < 0:
        raise ConfigError([Problem("--grace-minutes", f"is {grace_minutes:g}", "give 0 or more")])
    ws = open_ws(workspace, require_init=True)
    plan = plan_cleanup(ws.uow(), ws.artifacts, spare=_spare(ws, grace_minutes))
    verb = "would delete" if dry_run else "deleting"
    console.print(f"{verb} {len(plan.orphans)} orphan files ({fmt_bytes(plan.orphan_bytes)})")
    for name in plan.orphans:
        console.print(f"  {name}", markup=False, soft_wrap=True)
    if plan.spared:
        console.print(f"left alone (young, a queue is running): {len(plan.spared)} files")
    verb = "would record" if dry_run else "recording"
    console.print(f"{verb} {len(plan.missing)} kept runs whose file is missing")
    for run in plan.missing:
        console.print(
            f"  run {run.run_uuid[:12]}: {run.model_file_path}", markup=False, soft_wrap=True
        )
    if dry_run:
        console.print("dry run: nothing changed")
        return
    done = apply_cleanup(ws.uow(), ws.artifacts, plan, at=ws.clock.now())
    console.print(
        f"deleted {len(done.deleted)} files ({fmt_bytes(done.freed_bytes)} freed); "
        f"cleared is_model_kept on {len(done.marked)} runs"
        + (f"; ranks removed in {', '.join(done.regimes)}" if done.regimes else "")
    )
    for name, why in done.failed:
        print_error(f"could not delete {name}: {why}")
    if done.failed:
        raise typer.Exit(1)


@models_app.command()
def compress(
    older_than: Annotated[
        float, typer.Option("--older-than", help="Runs completed more than DAYS ago")
    ],
    dry_run: DryRun = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Gzip kept model files of older runs (they still load, hash-verified, as before)."""
    from regimeforge.domain.usecases.model_files import compress_models

    if older_than < 0:
        raise ConfigError([Problem("--older-than", f"is {older_than:g}", "give 0 days or more")])
    ws = open_ws(workspace, require_init=True)
    now = ws.clock.now()
    before = now - timedelta(days=older_than)
    report = compress_models(
        ws.uow(), ws.artifacts, completed_before=before, at=now, dry_run=dry_run
    )
    table = Table(title=f"Kept model files of runs completed over {older_than:g} days ago",
                  title_justify="left")  # fmt: skip
    for column in ("run", "file", "before", "after", "status"):
        table.add_column(column, justify="right" if column in ("before", "after") else "left")
    for f in report.files:
        after = fmt_bytes(f.after) if f.after is not None else "-"
        table.add_row(f.run_uuid[:8], f.name, fmt_bytes(f.before), after, f.status)
    console.print(table if report.files else "no kept model file is that old")
    counts = ", ".join(
        f"{report.count(s)} {s}"
        for s in ("compressed", "would compress", "already", "missing", "corrupt")
        if report.count(s)
    )
    if report.files:
        console.print(f"{counts}; saved {fmt_bytes(report.saved_bytes)}")
    if report.count("corrupt"):
        print_error("some files fail their SHA-256 check and were left alone")
        raise typer.Exit(1)
