"""The state of one coordinator session and its queue-level steps.

Start and takeover, heartbeats, the pause/cancel flags, checkpoints, disk checks, and the ways a
session ends (completed, paused, cancelled, interrupted, failed). The claim/submit/record loop
is ``coordinator._Loop``, which extends this class.
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.errors import CheckpointError
from regimeforge.domain.events import (
    CheckpointRejected,
    CheckpointSaved,
    ClaimsReleased,
    DiskSpaceWarning,
    Event,
    QueueCancelled,
    QueueCompleted,
    QueuePaused,
    QueueStarted,
)
from regimeforge.domain.ports import RunFilter
from regimeforge.domain.regimes import RegimeDefinition
from regimeforge.domain.states import ItemStatus, QueueStatus, RunStatus
from regimeforge.domain.usecases import items as item_tx
from regimeforge.domain.usecases.checkpoints import FinishedLog, validate_checkpoint
from regimeforge.domain.usecases.items import recount_queue
from regimeforge.domain.usecases.queue_control import cancel_now
from regimeforge.domain.usecases.recovery import Liveness, release_stale_claims, worker_id
from regimeforge.domain.usecases.runner_support import (
    QueueOutcome,
    SessionStats,
    estimate_needed_bytes,
    low_disk_message,
)

if TYPE_CHECKING:
    from regimeforge.domain.usecases.coordinator import QueueRunner


@attrs.define
class InFlight:
    """A submitted task: its run, its claimed item and its dedup key."""

    run: TrainingRun
    item: QueueItem
    key: tuple[str, str]


@attrs.frozen
class Prepared:
    """A claimed item with its config resolved and its data fingerprinted."""

    item: QueueItem
    config: ModelConfig
    fingerprint: str

    @property
    def key(self) -> tuple[str, str]:
        """The dedup key (config hash, data fingerprint)."""
        return (self.config.config_hash, self.fingerprint)


def describe(error: BaseException) -> str:
    """One line for a run's ``error_message``: the error's class and message."""
    text = str(error).strip() or repr(error)
    return f"{type(error).__name__}: {text}"


class QueueSession:
    """Mutable state of one ``QueueRunner.run`` call and its queue-level steps."""

    def __init__(self, runner: QueueRunner, queue_uuid: str) -> None:
        self.r = runner
        self.queue_uuid = queue_uuid
        s = runner.settings
        self.worker = worker_id(s.host, s.pid, runner.ids()[:8])
        self.liveness = Liveness(s.host, runner.pid_alive, s.detect_crash_after)
        self.inflight: dict[Any, InFlight] = {}
        self.deferred: list[Prepared] = []
        #: Indexes this session claimed and has not finished: released on Ctrl-C or errors.
        self.claimed: set[int] = set()
        self.stop: str | None = None  # None | pause | failures | disk | cancel
        self.message = ""
        self.stats = SessionStats(started=runner.clock.monotonic())
        self.since_checkpoint = 0
        #: The finished items' checkpoint entries, read once and then kept up to date.
        self.finished = FinishedLog()
        self.last_beat = -math.inf
        self.last_look = -math.inf
        self.queue: TrainingQueue
        self.regimes: list[RegimeDefinition] = []
        self.model_bytes_seen: float | None = None

    # --- small helpers ---------------------------------------------------------------------

    def now(self) -> datetime:
        return self.r.clock.now()

    @property
    def total(self) -> int:
        return self.queue.total_configs

    def emit(self, event: Event) -> None:
        # An observer must never stop the queue (the adapters' dispatcher logs its errors).
        with contextlib.suppress(Exception):
            self.r.events(event)

    def outcome(
        self, queue: TrainingQueue, reason: str, message: str, path: str | None = None
    ) -> QueueOutcome:
        return QueueOutcome(
            queue.queue_uuid,
            queue.status,
            reason,
            message,
            queue.completed_count,
            queue.failed_count,
            queue.skipped_count,
            queue.total_configs,
            self.stats.kept,
            self.stats.deleted,
            self.stats.freed_bytes,
            path,
        )

    # --- start ----------------------------------------------------------------------------

    def start(self) -> TrainingQueue:
        """Queue -> running with this coordinator; dead claims released; QueueStarted."""
        s, at = self.r.settings, self.now()
        with self.r.uow_factory() as uow:
            queue = uow.queues.get(self.queue_uuid)
            self.queue, self.queue_uuid = queue, queue.queue_uuid  # a name given: now the uuid
            if queue.status in (QueueStatus.COMPLETED, QueueStatus.CANCELLED):
                return queue
            mine: dict[str, Any] = {
                "coordinator_host": s.host,
                "coordinator_pid": s.pid,
                "heartbeat_at": at,
            }
            if queue.status is QueueStatus.RUNNING:
                owner = (queue.coordinator_host, queue.coordinator_pid, queue.heartbeat_at)
                if self.liveness.dead(*owner, at):  # a crashed coordinator: take over
                    queue = attrs.evolve(queue, **mine, updated_at=at)
            else:
                queue = queue.to(
                    QueueStatus.RUNNING,
                    at,
                    **mine,
                    cancel_requested=False,
                    consecutive_failures=0,
                    message=None,
                )
            uow.queues.update(queue)
            self.regimes = uow.regimes.list(active_only=True)
            sizes = [
                r.model_file_size_bytes
                for r in uow.runs.list(RunFilter(status=RunStatus.COMPLETED), limit=100)
                if r.model_file_size_bytes
            ]
            uow.commit()
        self.queue = queue
        self.model_bytes_seen = sum(sizes) / len(sizes) if sizes else None
        released = release_stale_claims(
            self.r.uow_factory, self.queue_uuid, at, liveness=self.liveness
        )
        if released:
            self.emit(ClaimsReleased(self.queue_uuid, tuple(released)))
        self.r.checkpoints.prune(at - timedelta(days=s.max_checkpoint_age_days))
        resumed = queue.started_at is not None and queue.started_at != at
        self.emit(QueueStarted(self.queue_uuid, queue.name, self.total, queue.done_count, resumed))
        return queue

    def cross_check(self, path: str | None) -> None:
        """A chosen checkpoint must be valid and of this queue; else the database state is used."""
        if path is None:
            return
        try:
            checkpoint = validate_checkpoint(self.r.checkpoints.load(path), source=path)
            if checkpoint.queue_uuid != self.queue_uuid:
                raise CheckpointError(
                    f"{path}: belongs to queue {checkpoint.queue_uuid}, not {self.queue_uuid}"
                )
        except CheckpointError as exc:
            self.emit(CheckpointRejected(self.queue_uuid, path, str(exc)))

    # --- while running ---------------------------------------------------------------------

    def poll_flags(self) -> None:
        """Read the queue row: a pause or cancel requested from another terminal."""
        with self.r.uow_factory() as uow:
            self.queue = uow.queues.get(self.queue_uuid)
        if self.queue.cancel_requested:
            self.stop = "cancel"
        elif self.queue.pause_requested and self.stop is None:
            self.pause_for("requested", "paused on request")

    def pause_for(self, reason: str, message: str) -> None:
        self.stop = reason
        self.message = message

    def beat(self, force: bool = False) -> None:
        """Stamp the queue and the claimed items (at most every ``heartbeat_seconds``)."""
        mono = self.r.clock.monotonic()
        if not force and mono - self.last_beat < self.r.settings.heartbeat_seconds:
            return
        self.last_beat, at = mono, self.now()
        with self.r.uow_factory() as uow:
            queue = uow.queues.get(self.queue_uuid)
            uow.queues.update(attrs.evolve(queue, heartbeat_at=at))
            for flight in self.inflight.values():
                flight.item = attrs.evolve(flight.item, heartbeat_at=at)
                uow.queues.update_item(flight.item)
            uow.commit()

    def should_stop(self) -> bool:
        """For inline tasks, between inner-loop batches: has a cancel been requested?"""
        mono = self.r.clock.monotonic()
        if self.stop != "cancel" and mono - self.last_look >= self.r.settings.poll_seconds:
            self.last_look = mono
            with self.r.uow_factory() as uow:
                if uow.queues.get(self.queue_uuid).cancel_requested:
                    self.stop = "cancel"
            self.beat()
        return self.stop == "cancel"

    def inner_progress(self, event: Event) -> None:
        self.emit(event)
        self.beat()

    def low_disk(self) -> bool:
        """Pause (stop claiming) when the free space would fall below the reserve."""
        if self.r.disk is None:
            return False
        s = self.r.settings
        free = self.r.disk.free_bytes(s.artifacts_path)
        per_model = self.stats.average_model_bytes(self.model_bytes_seen) or 0.0
        if free >= s.disk_reserve_bytes + per_model:
            return False
        self.pause_for(
            "disk", low_disk_message(free, s.disk_reserve_bytes, per_model, s.artifacts_path)
        )
        return True

    def warn_disk(self) -> None:
        """Before the first item: warn when the rest of the queue may not fit."""
        s = self.r.settings
        per_model = self.model_bytes_seen
        if self.r.disk is None or per_model is None:
            return
        free = self.r.disk.free_bytes(s.artifacts_path)
        slots = len(self.regimes) * s.policy.keep_top_n_per_regime + s.max_parallel
        needed = estimate_needed_bytes(
            self.total - self.queue.done_count,
            per_model,
            delete_non_best=s.policy.delete_non_best_models,
            slots=slots,
            reserve=s.disk_reserve_bytes,
        )
        if needed > free:
            text = (
                f"the rest of queue {self.queue.name} may need {needed / 2**20:.0f} MB "
                f"(about {per_model / 2**20:.1f} MB per model plus the reserve); "
                f"{free / 2**20:.0f} MB are free"
            )
            self.emit(DiskSpaceWarning(self.queue_uuid, free, needed, text))

    def checkpoint(self) -> str | None:
        """Write a checkpoint now (best effort: a failure to write never stops the session)."""
        self.since_checkpoint = 0
        at = self.now()
        try:
            with self.r.uow_factory() as uow:
                queue = uow.queues.get(self.queue_uuid)
                if not self.finished.agrees_with(queue):
                    # The session's first checkpoint, or items finished elsewhere: read the
                    # finished items (only those: the cost follows the work, not the grid).
                    self.finished.reload(
                        item
                        for status in (ItemStatus.COMPLETED, ItemStatus.SKIPPED, ItemStatus.FAILED)
                        for item in uow.queues.items(self.queue_uuid, status)
                    )
                bests = uow.bests.all()
            stats = self.stats.as_dict(self.r.clock.monotonic())
            document = self.finished.document(queue, bests, stats, at)
            path = self.r.checkpoints.save(document)
            kept = self.r.settings.checkpoints_kept_per_queue
            self.r.checkpoints.keep_latest(self.queue_uuid, kept)
        except (OSError, ValueError, CheckpointError):
            return None
        self.emit(CheckpointSaved(self.queue_uuid, path, queue.current_index))
        return path

    # --- endings ---------------------------------------------------------------------------

    def finish(self) -> QueueOutcome:
        """No more work here: completed, paused (with a checkpoint) or left to others."""
        if self.stop is not None:
            return self.pause(self.stop, self.message)
        at = self.now()
        with self.r.uow_factory() as uow:
            queue = uow.queues.get(self.queue_uuid)
            if queue.status is not QueueStatus.RUNNING:  # another coordinator finished it
                return self.outcome(queue, queue.status.value, "finished by another coordinator")
            counts = uow.queues.count_items(self.queue_uuid)
            busy = counts.get(ItemStatus.RUNNING, 0) + counts.get(ItemStatus.PENDING, 0)
            if busy:
                return self.outcome(queue, "shared", f"{busy} item(s) are with other coordinators")
            # The last coordinator leaves counters exactly as the items say.
            queue = recount_queue(uow, self.queue_uuid, at)
            queue = queue.to(QueueStatus.COMPLETED, at, heartbeat_at=at, message=None)
            uow.queues.update(queue)
            uow.commit()
        statistics = self.stats.as_dict(self.r.clock.monotonic())
        self.emit(QueueCompleted(self.queue_uuid, statistics))
        return self.outcome(queue, "completed", f"{queue.done_count} of {self.total} done")

    def pause(self, reason: str, message: str) -> QueueOutcome:
        """Paused with a checkpoint; items still claimed (a deferred twin) go back to pending."""
        self.deferred.clear()
        if self.claimed:
            self.release(sorted(self.claimed))
        at = self.now()
        with self.r.uow_factory() as uow:
            queue = uow.queues.get(self.queue_uuid)
            if queue.status is QueueStatus.RUNNING:
                queue = queue.to(QueueStatus.PAUSED, at, heartbeat_at=at, message=message)
                uow.queues.update(queue)
                uow.commit()
        path = self.checkpoint()
        self.emit(QueuePaused(self.queue_uuid, reason, path))
        return self.outcome(queue, reason, message, path)

    def cancel(self) -> QueueOutcome:
        """Stop now: tasks cancelled, their items and the pending ones cancelled, no checkpoint."""
        self.release_held(to=ItemStatus.CANCELLED)
        at = self.now()
        with self.r.uow_factory() as uow:
            queue = cancel_now(uow, uow.queues.get(self.queue_uuid), at)
            uow.commit()
        self.r.checkpoints.delete_for(self.queue_uuid)
        self.emit(QueueCancelled(self.queue_uuid))
        return self.outcome(queue, "cancelled", "cancelled; completed work is kept")

    def release(self, indexes: list[int], to: ItemStatus = ItemStatus.PENDING) -> None:
        """Claimed items of this session back to ``to`` (running runs cancelled)."""
        item_tx.release_items(self.r.uow_factory(), self.queue_uuid, indexes, at=self.now(), to=to)
        self.claimed.difference_update(indexes)

    def release_held(self, to: ItemStatus = ItemStatus.PENDING) -> None:
        """Drop every task of this session; its claimed items go back to ``to``."""
        self.r.executor.cancel(list(self.inflight))
        self.inflight.clear()
        self.deferred.clear()
        if self.claimed:
            self.release(sorted(self.claimed), to)

    def interrupt(self) -> None:
        """Ctrl-C: interrupted items back to pending, paused with a checkpoint."""
        self.release_held()
        self.pause("interrupted", "interrupted by the user")

    def fail(self, error: BaseException) -> None:
        """An error the loop cannot go past: items released, the queue failed (best effort)."""
        try:
            self.release_held()
            at = self.now()
            with self.r.uow_factory() as uow:
                queue = uow.queues.get(self.queue_uuid)
                if queue.status is QueueStatus.RUNNING:
                    message = f"{type(error).__name__}: {error}"
                    uow.queues.update(queue.to(QueueStatus.FAILED, at, message=message))
                    uow.commit()
            self.checkpoint()
        except Exception:  # the original error is what the caller must see
            return
