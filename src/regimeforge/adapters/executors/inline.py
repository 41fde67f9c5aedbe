"""``InlineExecutor``: runs each task in the coordinator's own thread (the default).

Tasks run lazily, one at a time, when ``as_completed`` is iterated, so a debugger or a traceback
sees the training code directly, and in-process callbacks (cancel between inner-loop batches,
"inference j of n") work. A per-model timeout cannot be enforced here (nothing can interrupt the
thread safely); use the ``process`` executor for that.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class InlineExecutor:
    """The Executor port, in this thread. ``max_parallel`` is always 1."""

    in_process = True

    def __init__(self) -> None:
        self._tasks: dict[int, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        self._ids = itertools.count()

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Queue a task; it runs when ``as_completed`` reaches it."""
        handle = next(self._ids)
        self._tasks[handle] = (fn, args)
        return handle

    def as_completed(
        self, handles: Iterable[int], timeout: float | None = None
    ) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Run the tasks in submission order; exceptions become the error of the result.

        ``KeyboardInterrupt`` and other BaseExceptions propagate, like Ctrl-C should.
        """
        for handle in sorted(handles):
            task = self._tasks.pop(handle, None)
            if task is None:
                continue
            fn, args = task
            try:
                result, error = fn(*args), None
            except Exception as exc:
                result, error = None, exc
            yield handle, result, error

    def cancel(self, handles: Iterable[int]) -> None:
        """Forget tasks that have not run."""
        for handle in handles:
            self._tasks.pop(handle, None)

    def shutdown(self) -> None:
        """Forget every task that has not run."""
        self._tasks.clear()
