"""Grids and queues from Python: load a grid, run it or resume it, stop it with a token.

``run_grid``/``resume`` drive the same coordinator as ``regimeforge run``/``queue resume`` in the
calling thread and return its ``QueueOutcome``. ``on_progress`` receives every domain event
(``regimeforge.domain.events``); an exception it raises is logged and the queue goes on.

**Decision (cancel tokens).** A ``CancelToken`` only sets an in-memory flag, so ``cancel()`` is
safe from any thread, a signal handler or ``on_progress`` itself. The call running the queue
turns it into the queue's flag in the database — the very flag ``regimeforge queue pause`` and
``queue cancel`` set — at once when the token is cancelled from ``on_progress`` (the coordinator's
thread), and from a small watcher thread otherwise. The coordinator reads that flag between
models, and (for ``discard=True``, inline executor) between inner-loop batches. So a stop is
never a lost update, ``queue status`` shows it, and ``resume`` is the normal resume.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from regimeforge.domain.canonical import normalise
from regimeforge.domain.entities import TrainingQueue
from regimeforge.domain.errors import RegimeForgeError
from regimeforge.domain.events import Event, QueueStarted
from regimeforge.domain.gridfile import GridFile
from regimeforge.domain.usecases.runner_support import QueueOutcome

log = logging.getLogger("regimeforge.api")

ProgressCallback = Callable[[Event], None]
GridSource = Path | str | Mapping[str, Any]


class CancelToken:
    """Asks a running ``run_grid``/``resume`` to stop; thread-safe, cheap, one-way.

    ``cancel()``: finish the model in training, then pause the queue with a checkpoint
    (``QueueOutcome.status`` is ``paused``, ``reason`` ``requested``); completed work is kept and
    ``resume`` goes on from there. ``cancel(discard=True)``: stop now (the model in training is
    abandoned) and cancel the queue: its pending items are cancelled and it cannot be resumed.
    A pause may be turned into a discard later, never the other way. A cancelled token stays
    cancelled: give ``resume`` a new one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mode: str | None = None  # None | "pause" | "cancel"
        self._wakers: list[threading.Event] = []

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel`` was called."""
        return self._mode is not None

    @property
    def discard(self) -> bool:
        """Whether ``cancel(discard=True)`` was called."""
        return self._mode == "cancel"

    @property
    def mode(self) -> str | None:
        """``None``, ``"pause"`` or ``"cancel"``."""
        return self._mode

    def cancel(self, *, discard: bool = False) -> None:
        """Ask the queue to stop (see the class docstring); repeated calls are harmless."""
        with self._lock:
            if discard:
                self._mode = "cancel"
            elif self._mode is None:
                self._mode = "pause"
            wakers = list(self._wakers)
        for waker in wakers:
            waker.set()

    def _subscribe(self, waker: threading.Event) -> None:
        with self._lock:
            self._wakers.append(waker)
        if self._mode is not None:
            waker.set()

    def _unsubscribe(self, waker: threading.Event) -> None:
        with self._lock:
            if waker in self._wakers:
                self._wakers.remove(waker)


def load_grid(
    source: GridSource, workspace: Any, *, base_dir: Path | str | None = None
) -> GridFile:
    """Validate a grid file (a path, or its mapping as loaded from YAML) into a ``GridFile``.

    ``len(grid.grid)`` is the number of model configs (counted, not expanded), ``grid.grid[i]``
    the i-th ``ModelConfig``, iterating ``grid.grid`` yields every point (invalid ones with
    their problems); ``grid.inference_grid`` are the inference configs. Relative data paths of a
    mapping are resolved against ``base_dir`` (default: the workspace folder). Every problem of
    the file is reported at once as one ``ConfigError``.
    """
    if isinstance(source, Mapping):
        from regimeforge.domain.gridfile import parse_grid_file

        folder = Path(base_dir) if base_dir is not None else Path(workspace.root)
        defaults = workspace.settings.inference_grid.to_mapping()
        return parse_grid_file(source, folder, workspace.registry.catalog(), defaults=defaults)
    from regimeforge.adapters.gridfiles import load_grid_file

    loaded: GridFile = load_grid_file(
        Path(source), workspace.registry.catalog(), workspace.settings
    )
    return loaded


def create_queue(
    workspace: Any,
    grid: GridSource,
    *,
    name: str | None = None,
    base_dir: Path | str | None = None,
) -> TrainingQueue:
    """A new pending queue for a grid file or mapping (invalid points become failed items)."""
    if not isinstance(grid, Mapping):
        from regimeforge.adapters.outer_loop import create_queue_from_grid_file

        return create_queue_from_grid_file(workspace, grid, name=name)
    from regimeforge.domain.usecases.queue_control import create_queue as create

    grid_file = load_grid(grid, workspace, base_dir=base_dir)
    folder = Path(base_dir) if base_dir is not None else Path(workspace.root)
    raw = normalise(dict(grid))
    effective = raw.get("inference_grid") or workspace.settings.inference_grid.to_mapping()
    return create(
        workspace.uow(),
        name=name or grid_file.name,
        config_grid={"file": raw, "base_dir": str(folder.resolve()), "path": None},
        grid=grid_file.grid,
        inference_grid=effective,
        at=workspace.clock.now(),
        max_parallel=workspace.settings.max_parallel,
    )


def run_grid(
    workspace: Any,
    grid: GridSource,
    *,
    name: str | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_parallel: int | None = None,
    executor: str | None = None,
) -> QueueOutcome:
    """Create a queue for ``grid`` and work through it in this thread (``regimeforge run``).

    Configs already trained on the same data are skipped. ``executor`` names an executor
    plugin (default: the ``executor`` setting; ``process`` with ``max_parallel`` workers trains
    in child processes). Returns how the session ended; ``outcome.queue_uuid`` is what
    ``resume`` takes. Ctrl-C pauses the queue with a checkpoint and re-raises.
    """
    queue = create_queue(workspace, grid, name=name)
    return _drive(workspace, queue.queue_uuid, None, on_progress, cancel, max_parallel, executor)


def resume(
    workspace: Any,
    queue: str,
    *,
    checkpoint: str | Path | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_parallel: int | None = None,
    executor: str | None = None,
) -> QueueOutcome:
    """Go on with a paused, failed, crashed or pending queue (by uuid or name).

    The database is the source of truth; a ``checkpoint`` file is validated against it and, if
    corrupt or of another queue, refused with a ``CheckpointRejected`` event. Completed configs
    are never trained again. A completed or cancelled queue returns at once with reason
    ``nothing to do``.
    """
    chosen = str(checkpoint) if checkpoint is not None else None
    return _drive(workspace, queue, chosen, on_progress, cancel, max_parallel, executor)


def _drive(  # noqa: PLR0917 - the private twin of run_grid/resume
    workspace: Any,
    queue: str,
    checkpoint: str | None,
    on_progress: ProgressCallback | None,
    cancel: CancelToken | None,
    max_parallel: int | None,
    executor: str | None,
) -> QueueOutcome:
    from regimeforge.adapters.outer_loop import executor_of, queue_runner_of, run_queue

    bridge = _TokenBridge(workspace, cancel, on_progress)
    chosen = executor_of(
        workspace.registry, workspace.settings, name=executor, max_parallel=max_parallel
    )
    runner = queue_runner_of(
        workspace, observers=[bridge], executor=chosen, max_parallel=max_parallel
    )
    bridge.start()
    try:
        return run_queue(workspace, runner, queue, checkpoint=checkpoint)
    finally:
        bridge.stop()
        runner.executor.shutdown()


class _TokenBridge:
    """The observer of one session: calls ``on_progress`` and forwards the token to the queue.

    The queue's uuid is known (and the queue running) from ``QueueStarted`` on; a token
    cancelled before that is forwarded then. Each mode is written once.
    """

    def __init__(
        self, workspace: Any, token: CancelToken | None, on_progress: ProgressCallback | None
    ) -> None:
        self.workspace = workspace
        self.token = token
        self.on_progress = on_progress
        self.queue_uuid: str | None = None
        self.forwarded: str | None = None
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.done = False
        self.thread: threading.Thread | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, QueueStarted):
            self.queue_uuid = event.queue_uuid
        try:
            if self.on_progress is not None:
                self.on_progress(event)
        finally:
            self.forward()

    def start(self) -> None:
        if self.token is None:
            return
        self.token._subscribe(self.wake)
        self.thread = threading.Thread(target=self._watch, name="regimeforge-cancel", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.token is None or self.thread is None:
            return
        self.done = True
        self.token._unsubscribe(self.wake)
        self.wake.set()
        self.thread.join()

    def _watch(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            if self.done:
                return
            try:
                self.forward()
            except Exception:  # a broken database must not kill the thread silently
                log.exception("cancel token: could not flag queue %s", self.queue_uuid)

    def forward(self) -> None:
        """Write the token's request to the queue row (once per mode; never raises)."""
        mode = self.token.mode if self.token is not None else None
        if mode is None or self.queue_uuid is None:
            return
        with self.lock:
            if self.forwarded in (mode, "cancel"):
                return
            from regimeforge.domain.usecases.queue_control import request_cancel, request_pause

            ws = self.workspace
            try:
                if mode == "cancel":
                    request_cancel(ws.uow(), self.queue_uuid, ws.clock.now())
                else:
                    request_pause(ws.uow(), self.queue_uuid, ws.clock.now())
            except RegimeForgeError as exc:  # the queue already ended: nothing to stop
                log.info("cancel token not forwarded to queue %s: %s", self.queue_uuid, exc)
            self.forwarded = mode
