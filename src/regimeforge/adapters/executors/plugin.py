"""Built-in executors plugin: ``inline`` (the default) and ``process`` (local child processes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regimeforge.domain.ports import Executor
from regimeforge.plugins.descriptors import ExecutorDescriptor
from regimeforge.plugins.hookspecs import hookimpl


def inline_executor(max_parallel: int, settings: Mapping[str, Any]) -> Executor:
    """The inline executor (``max_parallel`` is ignored: one task at a time, in this thread)."""
    from regimeforge.adapters.executors.inline import InlineExecutor

    return InlineExecutor()


def process_executor(max_parallel: int, settings: Mapping[str, Any]) -> Executor:
    """Child processes, ``max_parallel`` at once, killed after ``per_model_timeout_seconds``."""
    from regimeforge.adapters.executors.process import LocalProcessExecutor

    return LocalProcessExecutor(
        max_parallel, timeout_seconds=settings.get("per_model_timeout_seconds")
    )


@hookimpl
def register_executors() -> list[ExecutorDescriptor]:
    """The inline and local-process executors."""
    return [
        ExecutorDescriptor(
            name="inline",
            factory=inline_executor,
            description="One model at a time in the coordinator's thread (debuggable; no timeout)",
        ),
        ExecutorDescriptor(
            name="process",
            factory=process_executor,
            description="Each model in a child process, max_parallel at once, with a timeout",
        ),
    ]
