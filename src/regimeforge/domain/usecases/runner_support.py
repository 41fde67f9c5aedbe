"""The coordinator's settings, its outcome, statistics and the disk arithmetic (pure)."""

from __future__ import annotations

import errno
from datetime import timedelta
from typing import Any

import attrs

from regimeforge.domain.states import QueueStatus
from regimeforge.domain.usecases.record import RecordPolicy

MB = 1024 * 1024


@attrs.frozen
class RunnerSettings:
    """What a ``QueueRunner`` needs from the workspace settings, plus its own identity.

    ``host``/``pid`` identify the coordinator for crash detection; ``heartbeat_seconds`` is how
    often it stamps the queue and its claimed items; ``poll_seconds`` how long it waits for a
    result before looking at the pause/cancel flags again.
    """

    host: str
    pid: int
    max_parallel: int = 1
    auto_checkpoint_interval: int = 10
    max_checkpoint_age_days: int = 30
    checkpoints_kept_per_queue: int = 10
    max_consecutive_failures: int = 5
    disk_reserve_bytes: int = 500 * MB
    artifacts_path: str = "."
    policy: RecordPolicy = attrs.field(factory=RecordPolicy)
    detect_crash_after: timedelta = timedelta(minutes=10)
    heartbeat_seconds: float = 30.0
    poll_seconds: float = 1.0
    created_by: str = ""
    package_version: str = ""


@attrs.frozen
class QueueOutcome:
    """How ``QueueRunner.run`` ended.

    ``reason``: ``completed``, ``cancelled``, ``requested`` (paused on request), ``failures``,
    ``disk`` (paused), ``shared`` (no item left to claim, others still running) or
    ``nothing to do`` (the queue was already final).
    """

    queue_uuid: str
    status: QueueStatus
    reason: str
    message: str
    completed: int
    failed: int
    skipped: int
    total: int
    kept: int = 0
    deleted: int = 0
    freed_bytes: int = 0
    checkpoint_path: str | None = None

    @property
    def exit_status(self) -> int:
        """0 done (or paused/cancelled on request); 1 paused or failed because of failures/disk."""
        return 1 if self.reason in ("failures", "disk", "failed") else 0


@attrs.define
class SessionStats:
    """What one coordinator session did (mutable; copied into checkpoints and events)."""

    started: float
    trained: int = 0
    failed: int = 0
    skipped: int = 0
    kept: int = 0
    deleted: int = 0
    freed_bytes: int = 0
    model_bytes: list[int] = attrs.field(factory=list)

    def average_model_bytes(self, fallback: float | None) -> float | None:
        """Mean size of the model files written so far (this session first, else ``fallback``)."""
        if self.model_bytes:
            return sum(self.model_bytes) / len(self.model_bytes)
        return fallback

    def as_dict(self, now: float) -> dict[str, Any]:
        """Plain data for checkpoints and ``QueueCompleted``."""
        return {
            "trained": self.trained,
            "failed": self.failed,
            "skipped": self.skipped,
            "kept": self.kept,
            "deleted": self.deleted,
            "freed_bytes": self.freed_bytes,
            "elapsed_seconds": round(max(0.0, now - self.started), 3),
        }

    def eta(self, now: float, remaining: int) -> float | None:
        """Seconds left at this session's pace (None before the first trained model)."""
        if self.trained + self.failed == 0:
            return None
        return (now - self.started) / (self.trained + self.failed) * remaining


def low_disk_message(free: int, reserve: int, per_model: float, path: str) -> str:
    """What a paused-for-disk message says: how much is free and how much is needed."""
    needed = reserve + per_model
    return (
        f"low disk space under {path}: {free / MB:.0f} MB free, needs {needed / MB:.0f} MB "
        f"(disk_reserve_mb {reserve / MB:.0f} + about {per_model / MB:.1f} MB for the next "
        f"model), that is {max(0.0, needed - free) / MB:.0f} MB more; free space and resume"
    )


def estimate_needed_bytes(
    remaining: int, per_model: float, *, delete_non_best: bool, slots: int, reserve: int
) -> int:
    """Disk the rest of a queue may need: every file, or only the top-N slots when files go."""
    files = min(remaining, slots) if delete_non_best else remaining
    return int(files * per_model) + reserve


def is_disk_full(error: BaseException) -> bool:
    """Whether a worker failed because the disk is full (the queue pauses, the item is retried)."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
