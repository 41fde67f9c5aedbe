"""``QueueRunner``: the outer loop's coordinator (one per queue and process).

The coordinator alone writes the database and decides regime bests; workers (behind the Executor
port) only train and backtest, writing the model file to the shared artifact store. Items are
claimed in the database, so coordinators sharing one PostgreSQL database never take the same one.

One session: start (queue running, stale claims released) -> loop { read the pause/cancel flags;
fill up to ``max_parallel`` slots (claim, skip on dedup, start a run, submit its task); wait up to
``poll_seconds`` for one result and record it; heartbeat } -> completed, paused (on request,
after too many consecutive failures, on low disk; with a checkpoint) or cancelled. Ctrl-C
(KeyboardInterrupt) puts the interrupted items back to pending, pauses with a checkpoint and
re-raises (exit status 130).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from regimeforge.domain.entities import QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.errors import CancelledError, RegimeForgeError
from regimeforge.domain.events import (
    Event,
    Progress,
    QueueFailed,
    RunFailed,
    RunSkipped,
    RunStarted,
)
from regimeforge.domain.ids import new_id
from regimeforge.domain.ports import (
    ArtifactStore,
    CheckpointStore,
    Clock,
    DiskProbe,
    Executor,
    UnitOfWork,
)
from regimeforge.domain.states import ItemStatus, QueueStatus
from regimeforge.domain.usecases import items as item_tx
from regimeforge.domain.usecases.queue_session import InFlight, Prepared, QueueSession, describe
from regimeforge.domain.usecases.record import record_evaluation
from regimeforge.domain.usecases.runner_support import (
    QueueOutcome,
    RunnerSettings,
    is_disk_full,
)
from regimeforge.domain.usecases.tasks import TaskFactory, TaskRequest, WorkerResult


class QueueRunner:
    """Works through a queue with an executor; see the module docstring.

    ``events`` receives every domain event (it must not raise; adapters isolate observers).
    ``pid_alive`` tells whether a process on this host lives (for taking over crashed claims).
    """

    def __init__(  # noqa: PLR0917 - the constructor is the dependency list
        self,
        uow_factory: Callable[[], UnitOfWork],
        executor: Executor,
        artifact_store: ArtifactStore,
        checkpoint_store: CheckpointStore,
        clock: Clock,
        events: Callable[[Event], None],
        settings: RunnerSettings,
        task_factory: TaskFactory,
        *,
        disk: DiskProbe | None = None,
        pid_alive: Callable[[int], bool] = lambda pid: True,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self.uow_factory = uow_factory
        self.executor = executor
        self.artifacts = artifact_store
        self.checkpoints = checkpoint_store
        self.clock = clock
        self.events = events
        self.settings = settings
        self.tasks = task_factory
        self.disk = disk
        self.pid_alive = pid_alive
        self.ids = ids

    def run(self, queue_uuid: str, *, resume_from_checkpoint: str | None = None) -> QueueOutcome:
        """Run (or resume) a queue until it completes, pauses or is cancelled."""
        session = _Loop(self, queue_uuid)
        return session.run(resume_from_checkpoint)


class _Loop(QueueSession):
    """The claim/submit/record loop of one session (state lives in ``QueueSession``)."""

    def run(self, checkpoint_path: str | None) -> QueueOutcome:
        queue = self.start()
        if queue.status is not QueueStatus.RUNNING:
            return self.outcome(queue, "nothing to do", f"queue is {queue.status.value}")
        try:
            self.cross_check(checkpoint_path)
            self.warn_disk()
            self.loop()
            if self.stop == "cancel":
                return self.cancel()
            return self.finish()
        except KeyboardInterrupt:
            self.interrupt()
            raise
        except Exception as exc:
            self.fail(exc)
            self.emit(QueueFailed(self.queue_uuid, describe(exc)))
            raise

    def loop(self) -> None:
        while True:
            self.poll_flags()
            if self.stop == "cancel":
                return
            if self.stop is None:
                self.fill()
            if not self.inflight:
                return
            for handle, result, error in self.r.executor.as_completed(
                list(self.inflight), timeout=self.r.settings.poll_seconds
            ):
                self.complete(self.inflight.pop(handle), result, error)
                break
            self.beat()

    def fill(self) -> None:
        while self.stop is None and len(self.inflight) < self.r.settings.max_parallel:
            if self.deferred:
                if self.deferred[0].key in {f.key for f in self.inflight.values()}:
                    return  # its twin is training: wait, then it is skipped as a duplicate
                self.launch(self.deferred.pop(0))
                continue
            if self.low_disk():
                return
            with self.r.uow_factory() as uow:
                item = uow.queues.claim_next(self.queue_uuid, self.worker, self.now())
                uow.commit()
            if item is None:
                return
            self.claimed.add(item.index)
            prepared = self.prepare(item)
            if prepared is None:
                continue
            if prepared.key in {f.key for f in self.inflight.values()}:
                self.deferred.append(prepared)
                return
            self.launch(prepared)

    def prepare(self, item: QueueItem) -> Prepared | None:
        try:
            config = self.r.tasks.config_for(self.queue, item)
            return Prepared(item, config, self.r.tasks.data_fingerprint(self.queue, config))
        except Exception as exc:  # bad grid point, unreadable data: this item fails, not the queue
            self.failed(item, None, exc, item.config_hash)
            return None

    def launch(self, prepared: Prepared) -> None:
        outcome = item_tx.start_or_skip(
            self.r.uow_factory(),
            item=prepared.item,
            config=prepared.config,
            fingerprint=prepared.fingerprint,
            run_uuid=self.r.ids(),
            at=self.now(),
            created_by=self.r.settings.created_by,
            package_version=self.r.settings.package_version,
        )
        if isinstance(outcome, item_tx.Skipped):
            self.claimed.discard(prepared.item.index)
            self.finished.add(outcome.item)
            self.stats.skipped += 1
            self.emit(RunSkipped(self.queue_uuid, prepared.key[0], outcome.existing_run_uuid))
            self.progress(outcome.queue)
            return
        run, item = outcome.run, outcome.item
        config = prepared.config.to_dict()
        self.emit(RunStarted(self.queue_uuid, run.run_uuid, item.index, self.total, config))
        try:
            fn, args = self.r.tasks.task(
                TaskRequest(
                    run_uuid=run.run_uuid,
                    config=prepared.config,
                    queue=self.queue,
                    item=item,
                    regimes=self.regimes,
                    should_stop=self.should_stop,
                    progress=self.inner_progress,
                )
            )
            handle = self.r.executor.submit(fn, *args)
        except Exception as exc:  # a task that cannot be built or submitted fails its item
            self.failed(item, run, exc, run.config_hash)
            return
        self.inflight[handle] = InFlight(run, item, prepared.key)

    def complete(self, flight: InFlight, result: Any, error: BaseException | None) -> None:
        if error is None:
            try:
                recorded = record_evaluation(
                    self.r.uow_factory(),
                    run=flight.run,
                    item=flight.item,
                    result=_check_result(result),
                    policy=self.r.settings.policy,
                    artifacts=self.r.artifacts,
                    at=self.now(),
                )
            except Exception as exc:  # recording failed: the run fails, the queue goes on
                error = exc
            else:
                self.claimed.discard(flight.item.index)
                if recorded.item is not None:
                    self.finished.add(recorded.item)
                self.stats.trained += 1
                self.stats.model_bytes.append(result.artifact.size_bytes)
                self.stats.kept += int(recorded.kept)
                self.stats.deleted += len(recorded.deleted_runs)
                self.stats.freed_bytes += recorded.freed_bytes
                for event in recorded.events:
                    self.emit(event)
                self.after_model(recorded.queue)
                return
        if isinstance(error, CancelledError):
            self.release([flight.item.index], to=ItemStatus.CANCELLED)
            self.stop = "cancel"
            return
        if is_disk_full(error):
            self.release([flight.item.index])
            self.pause_for("disk", f"the disk is full: {error}")
            return
        self.failed(flight.item, flight.run, error, flight.run.config_hash)

    def failed(
        self, item: QueueItem, run: TrainingRun | None, error: BaseException, config_hash: str
    ) -> None:
        message = describe(error)
        failure = item_tx.record_failure(
            self.r.uow_factory(), item=item, run=run, error=message, at=self.now()
        )
        queue = failure.queue
        self.claimed.discard(item.index)
        self.finished.add(failure.item)
        self.stats.failed += 1
        self.emit(RunFailed(self.queue_uuid, run.run_uuid if run else "", config_hash, message))
        limit = self.r.settings.max_consecutive_failures
        if limit and queue.consecutive_failures >= limit and self.stop is None:
            self.pause_for(
                "failures",
                f"{queue.consecutive_failures} consecutive failures (max_consecutive_failures "
                f"{limit}); last: {message}",
            )
        self.after_model(queue)

    def after_model(self, queue: TrainingQueue | None) -> None:
        self.since_checkpoint += 1
        if self.since_checkpoint >= max(1, self.r.settings.auto_checkpoint_interval):
            self.checkpoint()
        self.progress(queue)

    def progress(self, queue: TrainingQueue | None) -> None:
        """Progress from the counters the last transaction wrote (read them if not given)."""
        if queue is None:
            with self.r.uow_factory() as uow:
                queue = uow.queues.get(self.queue_uuid)
        now = self.r.clock.monotonic()
        remaining = max(0, queue.total_configs - queue.done_count)
        self.emit(
            Progress(
                self.queue_uuid,
                queue.done_count,
                queue.total_configs,
                self.stats.kept,
                self.stats.deleted,
                now - self.stats.started,
                self.stats.eta(now, remaining),
            )
        )


def _check_result(result: Any) -> WorkerResult:
    if not isinstance(result, WorkerResult):
        raise RegimeForgeError(f"a worker returned {type(result).__name__}, not a WorkerResult")
    return result
