"""A queue's progress on the terminal: a rich live display, or one plain line per event.

``progress_observer(console)`` returns ``LiveProgress`` when ``console`` is a terminal and
``PlainProgress`` otherwise (scripts and tests read those lines). Both observe the domain events
(docs/queues.md) and keep a ``Tally`` that the summary at the end reads. Use them as context
managers (the live display starts and stops with the ``with`` block).

The live display shows "model 42 of 200", the current config, "inference 15 of 135", kept /
deleted / failed / skipped counts, elapsed time and ETA; regime improvements, failures and
warnings are printed above it as they happen.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from regimeforge.domain import events as ev


def fmt_duration(seconds: float | None) -> str:
    """``3725.2`` -> ``1:02:05``; ``None`` -> ``?``."""
    if seconds is None:
        return "?"
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def fmt_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KB`` (powers of 1024)."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024 or unit == "GB":
            return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def config_text(config: Mapping[str, Any]) -> str:
    """``ridge · EUR/USD · 1h · horizon 3`` (what identifies a model config at a glance)."""
    parts = [
        str(config.get("model_type", "?")),
        str(config.get("symbol", "?")),
        str(config.get("base_timeframe", "?")),
        f"horizon {config.get('horizon', '?')}",
    ]
    if config.get("encoder") not in (None, "none"):
        parts.insert(1, f"encoder {config['encoder']}")
    return " · ".join(parts)


def delta_text(previous: float | None, delta: float | None, percent: float | None) -> str:
    """``+0.1000, +14.0%`` (percent only when the old score was positive) or ``new``."""
    if previous is None or delta is None:
        return "new"
    return f"{delta:+.4f}" + (f", {percent:+.3g}%" if percent is not None else "")


def improvement_text(
    score: float, previous: float | None, delta: float | None, percent: float | None
) -> str:
    """``0.8123 (+0.1000, +14.0%)`` or ``0.8123 (new)``."""
    return f"{score:.4f} ({delta_text(previous, delta, percent)})"


@attrs.define
class Tally:
    """What the observer has seen of one session (read by the summary)."""

    queue_uuid: str = ""
    name: str = ""
    total: int = 0
    done: int = 0
    kept: int = 0
    deleted: int = 0
    trained: int = 0
    failed: int = 0
    skipped: int = 0
    current: int | None = None
    config: str = ""
    inference: tuple[int, int] = (0, 0)
    elapsed: float = 0.0
    eta: float | None = None
    seen_at: float = attrs.field(factory=time.monotonic)
    checkpoint: str | None = None
    improvements: list[ev.RegimeImproved] = attrs.field(factory=list)
    index_of: dict[str, int] = attrs.field(factory=dict)
    backtests: dict[str, int] = attrs.field(factory=dict)
    began: dict[str, float] = attrs.field(factory=dict)

    def update(self, event: ev.Event) -> None:
        """Fold one event into the tally."""
        if isinstance(event, ev.QueueStarted):
            self.queue_uuid, self.name = event.queue_uuid, event.name
            self.total, self.done = event.total, event.done
        elif isinstance(event, ev.RunStarted):
            self.current, self.total = event.index + 1, event.total
            self.index_of[event.run_uuid] = event.index + 1
            self.began[event.run_uuid] = time.monotonic()
            self.config, self.inference = config_text(event.config), (0, 0)
        elif isinstance(event, ev.InferenceProgress):
            self.inference = (event.done, event.total)
            self.backtests[event.run_uuid] = event.total
        elif isinstance(event, ev.RunCompleted):
            self.trained += 1
        elif isinstance(event, ev.RunFailed):
            self.failed += 1
        elif isinstance(event, ev.RunSkipped):
            self.skipped += 1
        elif isinstance(event, ev.RegimeImproved):
            self.improvements.append(event)
        elif isinstance(event, ev.Progress):
            self.done, self.total, self.kept, self.deleted = (
                event.done,
                event.total,
                event.kept,
                event.deleted,
            )
            self.elapsed, self.eta, self.seen_at = (
                event.elapsed_seconds,
                event.eta_seconds,
                time.monotonic(),
            )
        elif isinstance(event, ev.CheckpointSaved | ev.QueuePaused):
            path = event.path if isinstance(event, ev.CheckpointSaved) else event.checkpoint_path
            self.checkpoint = path or self.checkpoint

    def wall(self, run_uuid: str) -> float | None:
        """Seconds from a run's start to now (training, inner loop and recording)."""
        began = self.began.get(run_uuid)
        return None if began is None else time.monotonic() - began

    def model(self, run_uuid: str) -> str:
        """``model 3 of 12`` for a run of this session."""
        index = self.index_of.get(run_uuid)
        return f"model {index} of {self.total}" if index else "model"


def event_line(event: ev.Event, tally: Tally) -> tuple[str, bool] | None:
    """One line for an event (after ``tally.update``) and whether it is a warning (stderr)."""
    if isinstance(event, ev.QueueStarted):
        verb = "resuming" if event.resumed or event.done else "starting"
        return (
            f"{verb} queue {event.name} ({event.queue_uuid}): {event.total} configurations, "
            f"{event.done} done"
        ), False
    if isinstance(event, ev.RunStarted):
        return f"model {event.index + 1} of {event.total}: {config_text(event.config)}", False
    if isinstance(event, ev.RunCompleted):
        n = tally.backtests.get(event.run_uuid)
        where = f" (best in {', '.join(event.best_regimes)})" if event.best_regimes else ""
        fate = f"model kept{where}" if event.kept else "model deleted (no regime improved)"
        wall = tally.wall(event.run_uuid)
        took = f" in {wall:.1f} s" if wall is not None else ""
        runs = f"{n} inference backtests, " if n else ""
        return (
            f"{tally.model(event.run_uuid)} done{took} (training {event.duration_seconds:.1f} s): "
            f"{runs}{fate}"
        ), False
    if isinstance(event, ev.RunFailed):
        return f"{tally.model(event.run_uuid)} failed: {event.error}", True
    if isinstance(event, ev.RunSkipped):
        return (
            f"skipped config {event.config_hash[:12]}: already trained on the same data "
            f"(run {event.existing_run_uuid})"
        ), False
    if isinstance(event, ev.RegimeImproved):
        was = improvement_text(event.score, event.previous_score, event.delta, event.percent)
        return f"  regime {event.regime_name} improved: rank {event.rank}, score {was}", False
    if isinstance(event, ev.Progress):
        return (
            f"progress: {event.done} of {event.total} done, kept {event.kept}, deleted "
            f"{event.deleted}, elapsed {fmt_duration(event.elapsed_seconds)}, ETA "
            f"{fmt_duration(event.eta_seconds)}"
        ), False
    return _queue_line(event)


def _queue_line(event: ev.Event) -> tuple[str, bool] | None:
    if isinstance(event, ev.CheckpointSaved):
        return f"checkpoint written: {event.path}", False
    if isinstance(event, ev.CheckpointRejected):
        return (
            f"warning: checkpoint refused: {event.reason}; using the database state instead"
        ), True
    if isinstance(event, ev.DiskSpaceWarning):
        return f"warning: {event.message}", True
    if isinstance(event, ev.ArtifactDeleteFailed):
        return (
            f"warning: could not delete {event.path} ({event.error}); `regimeforge models "
            "cleanup` will retry"
        ), True
    if isinstance(event, ev.ClaimsReleased):
        return (
            f"released {len(event.indexes)} item(s) held by a dead coordinator: they go "
            "back to pending"
        ), False
    if isinstance(event, ev.QueuePaused):
        at = f", checkpoint {event.checkpoint_path}" if event.checkpoint_path else ""
        return f"queue paused ({event.reason}){at}", False
    if isinstance(event, ev.QueueCompleted):
        return "queue completed", False
    if isinstance(event, ev.QueueCancelled):
        return "queue cancelled; completed work is kept", False
    if isinstance(event, ev.QueueFailed):
        return f"queue failed: {event.error}", True
    return None


class PlainProgress:
    """One plain line per event (no inner-loop ticks): for pipes, files and tests."""

    def __init__(self, console: Console, err_console: Console) -> None:
        self.console, self.err_console = console, err_console
        self.tally = Tally()

    def __call__(self, event: ev.Event) -> None:
        self.tally.update(event)
        line = event_line(event, self.tally)
        if line is not None:
            (self.err_console if line[1] else self.console).print(
                line[0], markup=False, highlight=False, soft_wrap=True
            )

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


#: Events printed above the live display (the rest only update it).
_LOUD = (
    ev.QueueStarted,
    ev.RegimeImproved,
    ev.RunFailed,
    ev.CheckpointRejected,
    ev.DiskSpaceWarning,
    ev.ArtifactDeleteFailed,
    ev.ClaimsReleased,
    ev.QueuePaused,
    ev.QueueCompleted,
    ev.QueueCancelled,
    ev.QueueFailed,
)


class LiveProgress(PlainProgress):
    """A rich live display on a terminal; improvements and warnings scroll above it."""

    def __init__(self, console: Console, err_console: Console) -> None:
        super().__init__(console, err_console)
        self.live = Live(self, console=console, refresh_per_second=4, transient=False)

    def __call__(self, event: ev.Event) -> None:
        self.tally.update(event)
        if isinstance(event, ev.RunCompleted | ev.RunSkipped):
            return
        line = event_line(event, self.tally) if isinstance(event, _LOUD) else None
        if line is not None:
            style = "yellow" if line[1] else ("green" if "improved" in line[0] else None)
            self.live.console.print(line[0], markup=False, style=style, soft_wrap=True)

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def __rich__(self) -> RenderableType:
        t = self.tally
        grid = Table.grid(padding=(0, 1))
        for _ in range(3):
            grid.add_column()
        model = f"model {t.current} of {t.total}" if t.current else f"{t.total} models"
        grid.add_row("queue", "", f"{t.name} ({t.queue_uuid[:8]})" if t.name else "starting")
        grid.add_row(
            "models",
            ProgressBar(total=max(t.total, 1), completed=t.done, width=30),
            f"{t.done} of {t.total} done · {model}",
        )
        grid.add_row("current", "", t.config or "-")
        done, total = t.inference
        grid.add_row(
            "inference",
            ProgressBar(total=max(total, 1), completed=done, width=30),
            f"{done} of {total or '?'}",
        )
        grid.add_row(
            "results",
            "",
            f"kept {t.kept} · deleted {t.deleted} · failed {t.failed} · skipped {t.skipped}",
        )
        since = time.monotonic() - t.seen_at
        eta = None if t.eta is None else max(0.0, t.eta - since)
        grid.add_row(
            "time", "", f"elapsed {fmt_duration(t.elapsed + since)} · ETA {fmt_duration(eta)}"
        )
        return Group(grid)


def progress_observer(console: Console, err_console: Console) -> PlainProgress:
    """The live display on a terminal, plain lines otherwise."""
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveProgress(console, err_console)
    return PlainProgress(console, err_console)
