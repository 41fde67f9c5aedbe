"""Top-level task functions for the executor tests (children import them by name)."""

from __future__ import annotations

import os
import time


def square(x: int) -> int:
    """x * x, after a short nap so tasks overlap."""
    time.sleep(0.05)
    return x * x


def pid_of_worker() -> int:
    """The id of the process that ran the task."""
    return os.getpid()


def sleep_forever(marker: str) -> None:
    """Write our pid to ``marker``, then hang (the timeout must kill us)."""
    with open(marker, "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(600)


def fail(message: str) -> None:
    """Raise a ValueError."""
    raise ValueError(message)


def die(code: int) -> None:
    """Exit the process abruptly, without a result."""
    os._exit(code)


class Unpicklable(Exception):
    """An exception carrying a lock (cannot be pickled back)."""

    def __init__(self) -> None:
        import threading

        super().__init__("carries a lock")
        self.lock = threading.Lock()


def raise_unpicklable() -> None:
    """Raise an exception that cannot travel back through the pipe."""
    raise Unpicklable
