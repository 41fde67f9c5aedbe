"""``regimeforge run``, ``regimeforge recover`` and the ``queue`` group (docs/queues.md).

``run GRID.yaml`` creates a queue and works through it in the foreground with progress;
``queue create|start|resume|pause|cancel|list|status|retry-failed`` manage queues one step at a
time (``pause`` and ``cancel`` set a flag in the database, so they work from another terminal or
machine); ``recover`` resumes queues whose coordinator died. A queue is named by its uuid, a
unique prefix of it, or its name. Ctrl-C (or SIGTERM) pauses the queue with a checkpoint and
exits with status 130.

With ``auto_resume_on_crash``, ``run`` and ``queue start|resume`` first resume the crashed queues
of the workspace, as ``recover`` would.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regimeforge.adapters.cli.common import (
    WorkspaceOption,
    console,
    err_console,
    fmt_int,
    open_ws,
)
from regimeforge.adapters.cli.foreground import drive, print_summary, resolve_queue
from regimeforge.adapters.cli.progress import fmt_bytes
from regimeforge.domain.states import ItemStatus, QueueStatus

queue_app = typer.Typer(
    help="Training queues: create, start, pause, resume, cancel, list, status.",
    no_args_is_help=True,
)

QueueArg = Annotated[
    str, typer.Argument(help="Queue uuid, a unique prefix of it, or its name.", metavar="QUEUE")
]
GridArg = Annotated[Path, typer.Argument(help="The grid file (YAML).", metavar="GRID.yaml")]
MaxParallelOption = Annotated[
    int | None,
    typer.Option(
        "--max-parallel",
        min=1,
        help="Models trained at once (more than 1 trains in child processes).",
        show_default=False,
    ),
]
ExecutorOption = Annotated[
    str | None,
    typer.Option(
        "--executor", help="Executor plugin (default: the executor setting).", show_default=False
    ),
]
NameOption = Annotated[
    str | None, typer.Option("--name", help="Queue name (default: the grid's name).")
]


def register(app: typer.Typer) -> None:
    """Add ``run``, ``recover`` and the ``queue`` group to ``app``."""
    app.command("run")(run)
    app.command("recover")(recover)
    app.add_typer(queue_app, name="queue")


def _foreground(
    ws: Any,
    queue: Any,
    *,
    checkpoint: str | None = None,
    max_parallel: int | None = None,
    executor: str | None = None,
) -> int:
    outcome, tally = drive(
        ws, queue, checkpoint=checkpoint, max_parallel=max_parallel, executor=executor
    )
    print_summary(ws, queue, outcome, tally)
    return outcome.exit_status


def _auto_resume(ws: Any, skip: str | None = None, **options: Any) -> int:
    """With ``auto_resume_on_crash``: resume crashed queues first; the worst exit status."""
    if not ws.settings.auto_resume_on_crash:
        return 0
    from regimeforge.adapters.outer_loop import crashed_queues

    status = 0
    for crashed in crashed_queues(ws):
        if crashed.queue.queue_uuid == skip:
            continue
        err_console.print(
            f"auto_resume_on_crash: resuming crashed queue {crashed.queue.name} ({crashed.reason})",
            markup=False,
        )
        status = max(status, _foreground(ws, crashed.queue, **options))
    return status


def run(
    grid_file: GridArg,
    max_parallel: MaxParallelOption = None,
    name: NameOption = None,
    executor: ExecutorOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a queue for a grid file and work through it now, with live progress.

    Configs already trained on the same data are skipped. Ctrl-C pauses the queue with a
    checkpoint (exit status 130); `regimeforge queue resume QUEUE` goes on from there.
    """
    from regimeforge.adapters.outer_loop import create_queue_from_grid_file

    with open_ws(workspace, require_init=True) as ws:
        queue = create_queue_from_grid_file(ws, grid_file, name=name)
        earlier = _auto_resume(ws, max_parallel=max_parallel, executor=executor)
        status = _foreground(ws, queue, max_parallel=max_parallel, executor=executor)
    raise typer.Exit(max(status, earlier))


def recover(
    max_parallel: MaxParallelOption = None,
    executor: ExecutorOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Resume every queue whose coordinator died (its process is gone on this host, or its
    heartbeat is older than detect_crash_after_minutes elsewhere).

    Items the dead coordinator held go back to pending; completed configs are never trained
    again. Afterwards, model files the dead coordinator wrote but never recorded are removed.
    """
    from regimeforge.adapters.crash_leftovers import remove_orphan_files
    from regimeforge.adapters.outer_loop import crashed_queues

    started = time.time()
    with open_ws(workspace, require_init=True) as ws:
        crashed = crashed_queues(ws)
        if not crashed:
            console.print("No crashed queues: nothing to recover.")
            raise typer.Exit(0)
        for found in crashed:
            console.print(
                f"crashed: queue {found.queue.name} ({found.queue.queue_uuid}), "
                f"{found.queue.done_count} of {found.queue.total_configs} done: {found.reason}",
                markup=False,
            )
        status = 0
        for found in crashed:
            outcome = _foreground(ws, found.queue, max_parallel=max_parallel, executor=executor)
            status = max(status, outcome)
        files, size = remove_orphan_files(ws, written_before=started)
        if files:
            console.print(f"removed {files} model file(s) no run names ({fmt_bytes(size)})")
    raise typer.Exit(status)


@queue_app.command("create")
def create(grid_file: GridArg, name: NameOption = None, workspace: WorkspaceOption = None) -> None:
    """Create a queue for a grid file (not started); prints its uuid on stdout."""
    from regimeforge.adapters.outer_loop import create_queue_from_grid_file

    with open_ws(workspace, require_init=True) as ws:
        queue = create_queue_from_grid_file(ws, grid_file, name=name)
    invalid = f" ({queue.failed_count} invalid, recorded as failed)" if queue.failed_count else ""
    err_console.print(
        f"created queue {queue.name}: {fmt_int(queue.total_configs)} configurations{invalid}; "
        f"start it with `regimeforge queue start {queue.queue_uuid}`",
        markup=False,
    )
    console.print(queue.queue_uuid, markup=False)


@queue_app.command("start")
def start(
    queue: QueueArg,
    max_parallel: MaxParallelOption = None,
    executor: ExecutorOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Work through a created (or paused) queue in the foreground, with live progress."""
    _resume(queue, None, max_parallel, executor, workspace)


@queue_app.command("resume")
def resume(
    queue: QueueArg,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Cross-check this checkpoint file; a corrupt one is refused with a warning and "
            "the database state is used.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    max_parallel: MaxParallelOption = None,
    executor: ExecutorOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Go on with a paused, failed or crashed queue; completed configs are never trained again.

    The database is the source of truth: a checkpoint file given with --checkpoint is validated
    against it and refused (with a warning) when it is corrupt, truncated, of another version or
    of another queue.
    """
    _resume(queue, checkpoint, max_parallel, executor, workspace)


def _resume(
    ref: str,
    checkpoint: Path | None,
    max_parallel: int | None,
    executor: str | None,
    workspace: Path | None,
) -> None:
    with open_ws(workspace, require_init=True) as ws:
        queue = resolve_queue(ws, ref)
        options: dict[str, Any] = {"max_parallel": max_parallel, "executor": executor}
        earlier = _auto_resume(ws, skip=queue.queue_uuid, **options)
        if queue.status in (QueueStatus.COMPLETED, QueueStatus.CANCELLED):
            console.print(f"Queue {queue.name} is {queue.status.value}: nothing to do.")
            raise typer.Exit(earlier)
        chosen = str(checkpoint.resolve()) if checkpoint is not None else None
        status = _foreground(ws, queue, checkpoint=chosen, **options)
    raise typer.Exit(max(status, earlier))


@queue_app.command("pause")
def pause(queue: QueueArg, workspace: WorkspaceOption = None) -> None:
    """Ask a running queue to pause: its coordinator finishes the models in training, writes
    a checkpoint and pauses (works from another terminal)."""
    from regimeforge.domain.usecases.queue_control import request_pause

    with open_ws(workspace, require_init=True) as ws:
        found = resolve_queue(ws, queue)
        if found.status is QueueStatus.PAUSED:
            console.print(f"Queue {found.name} is already paused.")
            return
        request_pause(ws.uow(), found.queue_uuid, ws.clock.now())
        console.print(
            f"Pause requested for queue {found.name} ({found.queue_uuid}): it pauses after the "
            "model in training, with a checkpoint."
        )
        _warn_if_crashed(ws, found.queue_uuid)


@queue_app.command("cancel")
def cancel(queue: QueueArg, workspace: WorkspaceOption = None) -> None:
    """Cancel a queue: stop now, keep completed work, cancel pending items, delete checkpoints
    (works from another terminal)."""
    from regimeforge.adapters.checkpoints import JsonCheckpointStore
    from regimeforge.domain.usecases.queue_control import request_cancel

    with open_ws(workspace, require_init=True) as ws:
        found = resolve_queue(ws, queue)
        store = JsonCheckpointStore(ws.settings.checkpoints_dir)
        done = request_cancel(ws.uow(), found.queue_uuid, ws.clock.now(), store)
        if done.status is QueueStatus.CANCELLED:
            console.print(f"Queue {found.name} cancelled; completed work is kept.")
            return
        console.print(
            f"Cancel requested for queue {found.name} ({found.queue_uuid}): its coordinator "
            "stops now; completed work is kept."
        )
        _warn_if_crashed(ws, found.queue_uuid)


def _warn_if_crashed(ws: Any, queue_uuid: str) -> None:
    from regimeforge.adapters.outer_loop import crashed_queues

    for crashed in crashed_queues(ws):
        if crashed.queue.queue_uuid == queue_uuid:
            err_console.print(
                f"warning: no coordinator is running this queue ({crashed.reason}); "
                "`regimeforge recover` resumes it",
                markup=False,
            )


@queue_app.command("list")
def list_queues(workspace: WorkspaceOption = None) -> None:
    """Every queue of the workspace, newest first."""
    from regimeforge.adapters.outer_loop import crashed_queues

    with open_ws(workspace, require_init=True) as ws:
        with ws.uow() as uow:
            queues = uow.queues.list()
        dead = {c.queue.queue_uuid for c in crashed_queues(ws)} if queues else set()
    if not queues:
        console.print("No queues yet: `regimeforge run GRID.yaml` or `regimeforge queue create`.")
        return
    table = Table(title="Queues", title_justify="left")
    for column in ("queue", "name", "status", "done", "completed", "failed", "skipped", "updated"):
        numeric = column in ("done", "completed", "failed", "skipped")
        table.add_column(column, justify="right" if numeric else "left")
    for q in queues:
        status = q.status.value + (" (crashed)" if q.queue_uuid in dead else "")
        updated = q.updated_at.strftime("%Y-%m-%d %H:%M:%S") if q.updated_at else ""
        table.add_row(
            q.queue_uuid,
            q.name,
            status,
            f"{fmt_int(q.done_count)}/{fmt_int(q.total_configs)}",
            fmt_int(q.completed_count),
            fmt_int(q.failed_count),
            fmt_int(q.skipped_count),
            updated,
        )
    console.print(table)


@queue_app.command("status")
def status(queue: QueueArg, workspace: WorkspaceOption = None) -> None:
    """One queue: status, counts per item status, coordinator, checkpoint, failures."""
    from regimeforge.adapters.checkpoints import JsonCheckpointStore
    from regimeforge.adapters.outer_loop import crashed_queues
    from regimeforge.domain.usecases.queue_control import queue_status

    with open_ws(workspace, require_init=True) as ws:
        view = queue_status(ws.uow(), resolve_queue(ws, queue).queue_uuid)
        q = view.queue
        crashed = [c.reason for c in crashed_queues(ws) if c.queue.queue_uuid == q.queue_uuid]
        latest = JsonCheckpointStore(ws.settings.checkpoints_dir).latest(q.queue_uuid)
    table = Table(title=f"Queue {q.name}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    state = q.status.value + (f" (crashed: {crashed[0]})" if crashed else "")
    flags = [f for f, on in (("pause", q.pause_requested), ("cancel", q.cancel_requested)) if on]
    rows = [
        ("uuid", q.queue_uuid),
        ("status", state + (f"; {' and '.join(flags)} requested" if flags else "")),
        ("message", q.message or ""),
        ("progress", f"{fmt_int(q.done_count)} of {fmt_int(q.total_configs)} done"),
        ("items", ", ".join(f"{s.value} {fmt_int(view.counts.get(s, 0))}" for s in ItemStatus)),
        ("coordinator", f"{q.coordinator_host}:{q.coordinator_pid}" if q.coordinator_host else ""),
        ("heartbeat", _when(q.heartbeat_at)),
        ("created", _when(q.created_at)),
        ("started", _when(q.started_at)),
        ("finished", _when(q.completed_at)),
        ("latest checkpoint", latest or ""),
    ]
    for what, value in rows:
        if value:
            table.add_row(what, value)
    console.print(table)
    for index, error in view.failures:
        console.print(f"  failed #{index}: {error}", markup=False, soft_wrap=True)
    if q.status in (QueueStatus.PAUSED, QueueStatus.FAILED) or crashed:
        verb = "recover" if crashed else f"queue resume {q.queue_uuid}"
        console.print(f"Next: `regimeforge {verb}`", markup=False)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if moment else ""


@queue_app.command("retry-failed")
def retry_failed(queue: QueueArg, workspace: WorkspaceOption = None) -> None:
    """Put a queue's failed items back to pending (the queue is left paused, to be resumed)."""
    from regimeforge.domain.usecases.queue_control import retry_failed as retry

    with open_ws(workspace, require_init=True) as ws:
        found = resolve_queue(ws, queue)
        n = retry(ws.uow(), found.queue_uuid, ws.clock.now())
    if not n:
        console.print(f"Queue {found.name} has no failed items.")
        return
    console.print(
        f"{n} failed item(s) of queue {found.name} re-queued; run them with "
        f"`regimeforge queue resume {found.queue_uuid}`",
        markup=False,
    )
