"""``regimeforge checkpoints list|show|validate``: the queue checkpoint files (docs/queues.md).

A checkpoint is named by its path, or by its file name (or a unique prefix of it) in the
workspace's ``checkpoints_dir``. ``validate`` exits with status 2 and the reason when a file is
corrupt, truncated, changed after it was written, or of another checkpoint version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regimeforge.adapters.cli.common import WorkspaceOption, console, fmt_int, open_ws
from regimeforge.domain.errors import CheckpointError, ConfigError, Problem

checkpoints_app = typer.Typer(
    help="Queue checkpoint files: list, show, validate.", no_args_is_help=True
)

CheckpointArg = Annotated[
    str,
    typer.Argument(
        help="A checkpoint file, or its name (or a unique prefix) in checkpoints_dir.",
        metavar="FILE|ID",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``checkpoints`` group to ``app``."""
    app.add_typer(checkpoints_app, name="checkpoints")


def _store(ws: Any) -> Any:
    from regimeforge.adapters.checkpoints import JsonCheckpointStore

    return JsonCheckpointStore(ws.settings.checkpoints_dir)


def resolve_checkpoint(ws: Any, ref: str) -> Path:
    """A path that exists, else a file name (with or without .json) or unique name prefix in
    ``checkpoints_dir``; ConfigError naming the candidates otherwise."""
    given = Path(ref).expanduser()
    if given.is_file():
        return given.resolve()
    folder = Path(ws.settings.checkpoints_dir)
    names = sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []
    exact = [n for n in names if n in (ref, f"{ref}.json")]
    matches = exact or [n for n in names if n.startswith(ref)]
    if len(matches) == 1:
        return folder / matches[0]
    if matches:
        problem = Problem(
            "FILE|ID",
            f"{ref!r} matches {len(matches)} checkpoints ({', '.join(matches[:3])}"
            + (", ...)" if len(matches) > 3 else ")"),
            "give more of the name, or `regimeforge checkpoints list`",
        )
    else:
        problem = Problem(
            "FILE|ID",
            f"no checkpoint file {ref!r} (nor one of that name in {folder})",
            "see `regimeforge checkpoints list`",
        )
    raise ConfigError([problem])


def _load(ws: Any, path: Path) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = _store(ws).load(str(path))
    except CheckpointError as exc:
        reason = str(exc).replace("; the database state will be used instead", "")
        raise ConfigError([Problem("", f"invalid checkpoint: {reason}")]) from None
    return payload


@checkpoints_app.command("list")
def list_checkpoints(
    queue: Annotated[
        str | None,
        typer.Option("--queue", help="Only this queue's (uuid, unique prefix or name)."),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Checkpoint files, newest first, with what each holds and whether it is valid."""
    with open_ws(workspace) as ws:
        queue_uuid = None
        if queue is not None:
            from regimeforge.adapters.cli.foreground import resolve_queue

            queue_uuid = resolve_queue(ws, queue).queue_uuid
        paths = _store(ws).list(queue_uuid)
        if not paths:
            console.print(f"No checkpoints in {ws.settings.checkpoints_dir}.")
            return
        table = Table(title=f"Checkpoints in {ws.settings.checkpoints_dir}", title_justify="left")
        for column in ("file", "queue", "created", "done", "completed", "failed", "valid"):
            table.add_column(column, no_wrap=column in ("file", "queue"))
        for path in paths:
            table.add_row(Path(path).name, *_row(ws, Path(path)))
    console.print(table)


def _row(ws: Any, path: Path) -> tuple[str, ...]:
    try:
        payload = _store(ws).load(str(path))
    except CheckpointError as exc:
        return ("", "", "", "", "", f"no: {exc}")
    return (
        payload["queue_uuid"][:12],
        payload["created_at"][:19].replace("T", " "),
        f"{fmt_int(payload['current_index'])}/{fmt_int(payload['total_configs'])}",
        fmt_int(len(payload["completed_runs"])),
        fmt_int(len(payload["failed_runs"])),
        "yes",
    )


@checkpoints_app.command("show")
def show(
    checkpoint: CheckpointArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the file's JSON.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """What a checkpoint holds: queue, progress, failures, regime bests, statistics."""
    with open_ws(workspace) as ws:
        path = resolve_checkpoint(ws, checkpoint)
        payload = _load(ws, path)
    if as_json:
        console.print_json(json.dumps(payload))
        return
    table = Table(title=f"Checkpoint {path.name}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    grid_path = payload["config_grid"].get("path") or ""
    rows = [
        ("file", str(path)),
        ("queue", payload["queue_uuid"]),
        ("version", str(payload["checkpoint_version"])),
        ("created", payload["created_at"]),
        ("grid", str(grid_path)),
        ("done", f"{fmt_int(payload['current_index'])} of {fmt_int(payload['total_configs'])}"),
        ("completed or skipped", fmt_int(len(payload["completed_runs"]))),
        ("failed", fmt_int(len(payload["failed_runs"]))),
        ("checksum", f"{payload['checksum']} (verified)"),
    ]
    rows += [(f"statistics: {k}", str(v)) for k, v in sorted(payload["statistics"].items())]
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)
    for failed in payload["failed_runs"][:20]:
        console.print(f"  failed #{failed.get('index')}: {failed.get('error')}", markup=False)
    bests = Table(title="Regime bests at the checkpoint", title_justify="left")
    for column in ("regime", "rank", "score", "run"):
        bests.add_column(column)
    for regime, entries in sorted(payload["regime_bests"].items()):
        for entry in entries:
            score = f"{entry['performance_score']:.4f}"
            bests.add_row(regime, str(entry["rank"]), score, str(entry["run_uuid"]))
    console.print(bests if bests.row_count else "No regime bests at the checkpoint.")


@checkpoints_app.command("validate")
def validate(
    checkpoint: CheckpointArg,
    workspace: WorkspaceOption = None,
) -> None:
    """Check a checkpoint file (JSON, fields, version, checksum); exit status 2 with the reason
    when it is invalid."""
    with open_ws(workspace) as ws:
        path = resolve_checkpoint(ws, checkpoint)
        payload = _load(ws, path)
    console.print(
        f"{path}: a valid checkpoint of queue {payload['queue_uuid']} "
        f"({fmt_int(payload['current_index'])} of {fmt_int(payload['total_configs'])} done)",
        markup=False,
        soft_wrap=True,
    )
