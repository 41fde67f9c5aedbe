"""``LocalProcessExecutor``: each task in its own child process, up to ``max_parallel`` at once.

One process per task (not a long-lived pool) is what makes the per-model timeout real: a task
past its deadline is killed (SIGTERM, then SIGKILL) and reported as ``ModelTimeoutError``, and a
child that dies (out of memory, segfault) is reported as ``WorkerCrashedError``; neither takes the
coordinator or other tasks down. Children start with the ``forkserver`` method on Linux (a clean
server process forks them quickly, without the coordinator's threads or connections) and
``spawn`` elsewhere. Children ignore SIGINT: on Ctrl-C the coordinator pauses the queue and
kills them itself. Results and errors travel back through a pipe, pickled.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import pickle
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

import attrs

from regimeforge.domain.errors import ModelTimeoutError, RegimeForgeError


class WorkerCrashedError(RegimeForgeError):
    """A worker process exited without a result (killed, out of memory, crashed)."""


class RemoteError(RegimeForgeError):
    """An exception from a worker that could not be pickled back (its type and message)."""


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        message: tuple[bool, Any] = (True, fn(*args))
    except BaseException as exc:
        message = (False, exc)
    try:
        conn.send(message)
    except Exception as exc:  # the result or error does not pickle
        what = message[1]
        text = f"{type(what).__name__}: {what}" if not message[0] else f"unpicklable result {exc}"
        conn.send((False, RemoteError(text)))
    finally:
        conn.close()


@attrs.define
class _Task:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    process: Any = None
    conn: Connection | None = None
    deadline: float | None = None


def default_context() -> str:
    """``forkserver`` on Linux, ``spawn`` elsewhere."""
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


class LocalProcessExecutor:
    """The Executor port over child processes, with a per-task timeout (seconds or None)."""

    in_process = False

    def __init__(
        self,
        max_parallel: int = 1,
        *,
        timeout_seconds: float | None = None,
        context: str | None = None,
        preload: Iterable[str] = ("regimeforge.adapters.worker",),
    ) -> None:
        self.max_parallel = max(1, int(max_parallel))
        self.timeout = float(timeout_seconds) if timeout_seconds else None
        self._ctx: Any = multiprocessing.get_context(context or default_context())
        if self._ctx.get_start_method() == "forkserver":
            # Heavy imports happen once in the server, not in every child.
            self._ctx.set_forkserver_preload(list(preload))
        self._tasks: dict[int, _Task] = {}
        self._ids = itertools.count()

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Queue a task (started as soon as a slot is free)."""
        handle = next(self._ids)
        self._tasks[handle] = _Task(fn, args)
        self._start_waiting()
        return handle

    def _start_waiting(self) -> None:
        running = sum(1 for t in self._tasks.values() if t.process is not None)
        for task in self._tasks.values():
            if running >= self.max_parallel:
                return
            if task.process is None:
                receive, send = self._ctx.Pipe(duplex=False)
                process = self._ctx.Process(target=_child, args=(send, task.fn, task.args))
                process.daemon = True
                process.start()
                send.close()  # the child holds the only writer: EOF tells us it is gone
                task.process, task.conn = process, receive
                task.deadline = time.monotonic() + self.timeout if self.timeout else None
                running += 1

    def as_completed(
        self, handles: Iterable[int], timeout: float | None = None
    ) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Yield (handle, result, error) as tasks finish; stop after ``timeout`` s of nothing."""
        wanted = {h for h in handles if h in self._tasks}
        give_up = time.monotonic() + timeout if timeout is not None else None
        while wanted:
            self._start_waiting()
            now = time.monotonic()
            for handle in sorted(wanted):
                task = self._tasks[handle]
                if task.deadline is not None and now >= task.deadline:
                    self._kill(task)
                    del self._tasks[handle]
                    wanted.discard(handle)
                    error = ModelTimeoutError(
                        f"training took longer than per_model_timeout_seconds ({self.timeout:g} s)"
                    )
                    yield handle, None, error
                    give_up = time.monotonic() + timeout if timeout is not None else None
            running: dict[Any, int] = {
                self._tasks[h].conn: h for h in wanted if self._tasks[h].conn is not None
            }
            if not running:  # every slot is taken by tasks the caller did not ask about
                if give_up is not None and time.monotonic() >= give_up:
                    return
                time.sleep(0.05)
                continue
            limits = [t for t in (give_up, *(self._tasks[h].deadline for h in wanted)) if t]
            wait_for = max(0.0, min(limits) - time.monotonic()) if limits else None
            for conn in wait(list(running), timeout=wait_for):
                handle = running[conn]
                task = self._tasks.pop(handle)
                wanted.discard(handle)
                yield handle, *self._receive(task)
                give_up = time.monotonic() + timeout if timeout is not None else None
            if give_up is not None and time.monotonic() >= give_up:
                return

    def _receive(self, task: _Task) -> tuple[Any, BaseException | None]:
        assert task.conn is not None and task.process is not None
        try:
            ok, value = task.conn.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            task.process.join(5)
            code = task.process.exitcode
            return None, WorkerCrashedError(f"worker process exited with code {code} and no result")
        finally:
            task.conn.close()
        task.process.join(5)
        if ok:
            return value, None
        if isinstance(value, BaseException) and not isinstance(value, Exception):
            value = RemoteError(f"{type(value).__name__} in the worker")
        return None, value

    def _kill(self, task: _Task) -> None:
        if task.process is None:
            return
        task.process.terminate()
        task.process.join(2)
        if task.process.is_alive():
            task.process.kill()
            task.process.join(2)
        if task.conn is not None:
            with contextlib.suppress(OSError):
                task.conn.close()

    def cancel(self, handles: Iterable[int]) -> None:
        """Kill running tasks and drop waiting ones."""
        for handle in list(handles):
            task = self._tasks.pop(handle, None)
            if task is not None:
                self._kill(task)

    def shutdown(self) -> None:
        """Kill every task."""
        self.cancel(list(self._tasks))
