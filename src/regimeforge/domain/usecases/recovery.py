"""Crash detection and recovery (DESIGN §14).

A running queue records the host and process id of its coordinator and a heartbeat; each claimed
item records its claimer (``host:pid:token``) and a heartbeat. On the same host a coordinator
whose process is gone is dead at once; elsewhere, when its heartbeat is older than
``detect_crash_after_minutes``. Items claimed by a dead claimer go back to pending (their
running run is cancelled), so resuming never loses an item and never trains one twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.ports import UnitOfWork
from regimeforge.domain.states import ItemStatus, QueueStatus
from regimeforge.domain.usecases.items import release_items


@attrs.frozen
class Liveness:
    """How to tell a dead coordinator: this host's name, a pid check and the heartbeat limit."""

    host: str
    pid_alive: Callable[[int], bool]
    stale_after: timedelta

    def dead(
        self, host: str | None, pid: int | None, heartbeat: datetime | None, now: datetime
    ) -> str:
        """Why the owner is dead ("" when it is alive or cannot be judged dead)."""
        if host == self.host and pid is not None:
            return "" if self.pid_alive(pid) else f"process {pid} on {host} is gone"
        if heartbeat is None:
            return "no heartbeat was ever written"
        age = now - heartbeat
        if age > self.stale_after:
            return f"last heartbeat {int(age.total_seconds() // 60)} min ago (host {host})"
        return ""


def worker_id(host: str, pid: int, token: str) -> str:
    """The ``claimed_by`` value of a coordinator: ``host:pid:token``."""
    return f"{host}:{pid}:{token}"


def parse_worker_id(claimed_by: str | None) -> tuple[str | None, int | None]:
    """(host, pid) of a ``claimed_by`` value; (None, None) when it is not in that form."""
    if not claimed_by:
        return None, None
    host, _, rest = claimed_by.rpartition(":")
    host, _, pid = host.rpartition(":")
    return (host, int(pid)) if host and pid.isdigit() and rest else (None, None)


@attrs.frozen
class CrashedQueue:
    """A queue marked running whose coordinator is dead, and why we think so."""

    queue: TrainingQueue
    reason: str


def find_crashed_queues(
    uow: UnitOfWork, now: datetime, *, liveness: Liveness
) -> list[CrashedQueue]:
    """Running queues whose coordinator is dead (see the module docstring)."""
    with uow:
        queues = uow.queues.list()
    crashed = []
    for queue in queues:
        if queue.status is not QueueStatus.RUNNING:
            continue
        reason = liveness.dead(
            queue.coordinator_host, queue.coordinator_pid, queue.heartbeat_at, now
        )
        if reason:
            crashed.append(CrashedQueue(queue, reason))
    return crashed


def stale_claims(items: Sequence[QueueItem], now: datetime, liveness: Liveness) -> list[QueueItem]:
    """Running items whose claimer is dead."""
    stale = []
    for item in items:
        host, pid = parse_worker_id(item.claimed_by)
        if item.status is ItemStatus.RUNNING and liveness.dead(host, pid, item.heartbeat_at, now):
            stale.append(item)
    return stale


def release_stale_claims(
    uow_factory: Callable[[], UnitOfWork],
    queue_uuid: str,
    now: datetime,
    *,
    liveness: Liveness | None = None,
) -> list[int]:
    """Items of dead claimers back to pending (all running items when ``liveness`` is None).

    Returns the indexes released.
    """
    with uow_factory() as uow:
        running = uow.queues.items(queue_uuid, ItemStatus.RUNNING)
    stale = running if liveness is None else stale_claims(running, now, liveness)
    if not stale:
        return []
    return release_items(uow_factory(), queue_uuid, [item.index for item in stale], at=now)


def queues_to_resume(crashed: Sequence[CrashedQueue], auto_resume_on_crash: bool) -> list[str]:
    """Queues a starting coordinator resumes by itself (only with ``auto_resume_on_crash``)."""
    return [c.queue.queue_uuid for c in crashed] if auto_resume_on_crash else []
