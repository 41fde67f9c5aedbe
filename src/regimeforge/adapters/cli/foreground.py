"""Running a queue in the foreground for ``run``, ``queue start|resume``, ``recover`` and ``demo``.

``drive`` wires the workspace's runner with the progress display, turns SIGINT and SIGTERM into
the coordinator's Ctrl-C path (the model in flight is abandoned, the queue pauses with a
checkpoint, model files left unrecorded removed, exit status 130), and prints the session's
summary. ``resolve_queue`` accepts a
queue's uuid, a unique prefix of it, or its name.

**Decision (signals).** The first SIGINT or SIGTERM raises ``KeyboardInterrupt`` in the
coordinator; a second one while the queue is pausing is ignored (the pause takes a moment: items
released, a checkpoint written), and a third quits at once with status 130, leaving the queue to
``regimeforge recover``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import typer
from rich import box
from rich.table import Table

from regimeforge.adapters.cli.common import console, err_console, fmt_int, print_error
from regimeforge.adapters.cli.progress import (
    Tally,
    fmt_bytes,
    fmt_duration,
    progress_observer,
)
from regimeforge.domain.entities import TrainingQueue
from regimeforge.domain.errors import ConfigError, NotFoundError, Problem
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.states import QueueStatus, RunStatus
from regimeforge.domain.usecases.runner_support import QueueOutcome

INTERRUPTED = 130


def resolve_queue(ws: Any, ref: str) -> TrainingQueue:
    """The queue whose uuid is ``ref``, whose uuid starts with it, or (newest) named ``ref``."""
    with ws.uow() as uow:
        try:
            queue: TrainingQueue = uow.queues.get(ref)
            return queue
        except NotFoundError:
            queues: list[TrainingQueue] = uow.queues.list()
    matches = [q for q in queues if q.queue_uuid.startswith(ref.strip().lower())] if ref else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(q.queue_uuid[:12] for q in matches[:5])
        problem = Problem(
            "QUEUE",
            f"{ref!r} matches {len(matches)} queues ({shown})",
            "give more characters of the uuid",
        )
    else:
        problem = Problem(
            "QUEUE",
            f"no queue with uuid, uuid prefix or name {ref!r}",
            "see `regimeforge queue list`",
        )
    raise ConfigError([problem])


def executor_name(ws: Any, name: str | None, max_parallel: int | None) -> str:
    """``--executor``, else ``process`` when ``--max-parallel`` > 1 asks for parallel models
    with the one-at-a-time inline executor, else the ``executor`` setting."""
    if name:
        return name
    chosen = str(ws.settings.executor)
    if chosen == "inline" and (max_parallel or 1) > 1:
        return "process"
    return chosen


@contextlib.contextmanager
def interrupts() -> Iterator[list[int]]:
    """SIGINT and SIGTERM raise KeyboardInterrupt once (see the module docstring)."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    fired: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        fired.append(signum)
        if len(fired) == 1:
            raise KeyboardInterrupt
        if len(fired) == 2:
            err_console.print("pausing the queue; press Ctrl-C again to quit at once")
            return
        os._exit(INTERRUPTED)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield fired
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _ShownElsewhere(logging.Filter):
    """Drops the dispatcher's warnings that the progress display already prints."""

    PREFIXES = ("artifact_delete_failed:", "checkpoint_rejected:", "disk_space_warning:")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "regimeforge.events"
            and str(record.getMessage()).startswith(self.PREFIXES)
        )


@contextlib.contextmanager
def cli_logging() -> Iterator[None]:
    """Warnings of RegimeForge's loggers on stderr as ``warning: ...`` while a queue runs."""
    logger = logging.getLogger("regimeforge")
    handler = logging.StreamHandler(err_console.file)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.addFilter(_ShownElsewhere())
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def drive(
    ws: Any,
    queue: TrainingQueue,
    *,
    checkpoint: str | None = None,
    max_parallel: int | None = None,
    executor: str | None = None,
) -> tuple[QueueOutcome, Tally]:
    """Run or resume ``queue`` in the foreground with progress; Ctrl-C exits with status 130.

    An error the loop cannot go past (the queue is marked failed) exits with status 1.
    """
    from regimeforge.adapters.outer_loop import executor_of, queue_runner_of, run_queue

    chosen = executor_of(
        ws.registry,
        ws.settings,
        name=executor_name(ws, executor, max_parallel),
        max_parallel=max_parallel,
    )
    progress = progress_observer(console, err_console)
    runner = queue_runner_of(ws, observers=[progress], executor=chosen, max_parallel=max_parallel)
    try:
        with cli_logging(), interrupts(), progress:
            outcome = run_queue(ws, runner, queue.queue_uuid, checkpoint=checkpoint)
    except KeyboardInterrupt:
        where = f" with checkpoint {progress.tally.checkpoint}" if progress.tally.checkpoint else ""
        print_error(
            f"interrupted: queue {queue.name} paused{where}; resume it with "
            f"`regimeforge queue resume {queue.queue_uuid}`"
        )
        raise typer.Exit(INTERRUPTED) from None
    except Exception as exc:
        print_error(
            f"queue {queue.name} failed: {type(exc).__name__}: {str(exc).rstrip('. ')}. "
            "Completed work is kept; "
            f"fix the cause and run `regimeforge queue resume {queue.queue_uuid}`"
        )
        raise typer.Exit(1) from None
    finally:
        runner.executor.shutdown()
    return outcome, progress.tally


def outcome_line(outcome: QueueOutcome, name: str) -> str:
    """What became of the queue, and what to do next."""
    counts = (
        f"{outcome.completed + outcome.failed + outcome.skipped} of {outcome.total} done "
        f"({outcome.completed} completed, {outcome.failed} failed, {outcome.skipped} skipped)"
    )
    uuid = outcome.queue_uuid
    if outcome.status is QueueStatus.COMPLETED and outcome.reason == "completed":
        retry = ""
        if outcome.failed:
            retry = f"; `regimeforge queue retry-failed {uuid}` re-queues the failed ones"
        return f"Queue {name} completed: {counts}{retry}"
    if outcome.status is QueueStatus.PAUSED:
        hint = f"`regimeforge queue resume {uuid}`"
        if outcome.reason == "failures":
            hint = f"fix the cause, then `regimeforge queue retry-failed {uuid}` and {hint}"
        return f"Queue {name} paused: {outcome.message}. {counts}. Resume with {hint}"
    if outcome.reason == "shared":
        return f"Queue {name}: nothing left to claim here ({outcome.message}). {counts}"
    return f"Queue {name} is {outcome.status.value}: {outcome.message}. {counts}"


def summary_table(outcome: QueueOutcome, tally: Tally) -> Table:
    """This session's figures (trained, kept, deleted, freed) and the queue's totals."""
    table = Table(title="Summary", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("configurations", fmt_int(outcome.total)),
        ("completed", fmt_int(outcome.completed)),
        ("failed", fmt_int(outcome.failed)),
        ("skipped (already trained)", fmt_int(outcome.skipped)),
        ("trained in this session", fmt_int(tally.trained)),
        ("models kept when recorded", fmt_int(outcome.kept)),
        ("model files deleted", fmt_int(outcome.deleted)),
        ("bytes freed", fmt_bytes(outcome.freed_bytes)),
        ("regime improvements", fmt_int(len(tally.improvements))),
        ("elapsed", fmt_duration(tally.elapsed)),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table


def regime_best_table(ws: Any) -> Table | None:
    """Every regime's top-N: rank, model type, config, score, improvement when it entered."""
    with ws.uow() as uow:
        tops = uow.bests.all()
        rows = []
        for regime in sorted(tops):
            entered = {
                c.backtest_uuid: c
                for c in reversed(uow.bests.history(regime, limit=1000))
                if c.change == "entered"
            }
            for best in sorted(tops[regime], key=lambda b: b.rank):
                run = uow.runs.get(best.run_uuid)
                change = entered.get(best.backtest_uuid)
                improvement = "" if change is None else short_improvement(change)
                rows.append((regime, best, run, improvement))
    if not rows:
        return None
    table = Table(
        title=f"Regime bests ({ws.settings.primary_metric})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        caption="improvement: on the score a best displaced when it entered its rank",
        caption_justify="left",
    )
    for column in ("regime", "rank", "model", "config", "score", "improvement", "run"):
        table.add_column(
            column,
            justify="right" if column in ("rank", "score") else "left",
            no_wrap=True,
        )
    for regime, best, run, improvement in rows:
        config = run.config
        table.add_row(
            regime,
            str(best.rank),
            str(config.model_type),
            f"{config.symbol} {config.base_timeframe} h{config.horizon}",
            f"{best.performance_score:.4f}",
            improvement,
            best.run_uuid[:8],
        )
    return table


def short_improvement(change: Any) -> str:
    """How a best improved on the score it displaced: ``+14.2%`` (when the old score was
    positive), else ``+0.1000``; ``new`` for a rank that was empty."""
    if change.previous_score is None or change.delta is None:
        return "new"
    return f"{change.percent:+.3g}%" if change.percent is not None else f"{change.delta:+.4f}"


def storage_table(ws: Any, queue_uuid: str | None = None) -> Table:
    """Model files of the completed runs (of one queue, or all): kept / trained, bytes kept,
    bytes freed (files of models that were not, or are no longer, among a regime's best)."""
    with ws.uow() as uow:
        done = RunFilter(status=RunStatus.COMPLETED, queue_uuid=queue_uuid)
        runs = uow.runs.list(done, limit=max(uow.runs.count(done), 1))
    kept = [r for r in runs if r.is_model_kept]
    kept_bytes = sum(r.model_file_size_bytes or 0 for r in kept)
    freed = sum(r.model_file_size_bytes or 0 for r in runs if not r.is_model_kept)
    share = f" ({len(kept) / len(runs):.0%})" if runs else ""
    table = Table(title="Storage", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("models kept / trained", f"{len(kept)} / {len(runs)}{share}")
    table.add_row("bytes kept", fmt_bytes(kept_bytes))
    table.add_row("bytes freed", fmt_bytes(freed))
    table.add_row("artifacts folder", str(ws.settings.artifacts_dir))
    return table


def print_summary(ws: Any, queue: TrainingQueue, outcome: QueueOutcome, tally: Tally) -> None:
    """The outcome line, this session's figures and the regime bests."""
    console.print(outcome_line(outcome, queue.name), markup=False, soft_wrap=True)
    if outcome.reason == "nothing to do":
        return
    console.print(summary_table(outcome, tally))
    bests = regime_best_table(ws)
    console.print(bests if bests is not None else "No regime bests yet.")
