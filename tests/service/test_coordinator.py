"""The coordinator against fakes: dedup, failures, pauses, cancel, Ctrl-C, disk, checkpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coordinator_rig import AT, HOST, Rig
from fake_tasks import FakeTaskFactory, make_configs
from fakes import FakeDiskProbe
from regimeforge.domain.events import (
    CheckpointRejected,
    CheckpointSaved,
    ClaimsReleased,
    InferenceProgress,
    Progress,
    QueueCancelled,
    QueueCompleted,
    QueuePaused,
    QueueStarted,
    RunCompleted,
    RunFailed,
    RunSkipped,
    RunStarted,
)
from regimeforge.domain.states import ItemStatus, QueueStatus, RunStatus
from regimeforge.domain.usecases.items import record_failure
from regimeforge.domain.usecases.queue_control import request_cancel, request_pause, retry_failed
from regimeforge.domain.usecases.runner_support import MB


def test_a_queue_runs_to_completion_with_events_for_everything() -> None:
    rig = Rig(4)
    outcome = rig.run()
    assert (outcome.status, outcome.reason, outcome.exit_status) == (
        QueueStatus.COMPLETED,
        "completed",
        0,
    )
    assert (outcome.completed, outcome.failed, outcome.skipped) == (4, 0, 0)
    assert [i.status for i in rig.items()] == [ItemStatus.COMPLETED] * 4
    assert len(rig.completed_hashes()) == 4 and len(rig.tables["backtests"]) == 16
    assert len(rig.of(QueueStarted)) == 1 and len(rig.of(QueueCompleted)) == 1
    assert [e.index for e in rig.of(RunStarted)] == [0, 1, 2, 3]
    assert len(rig.of(RunCompleted)) == 4 and len(rig.of(InferenceProgress)) == 4
    assert [e.done for e in rig.of(Progress)] == [1, 2, 3, 4]
    assert rig.of(Progress)[-1].eta_seconds == 0
    queue = rig.tables["queues"][rig.queue.queue_uuid]
    assert queue.current_index == 4 and queue.heartbeat_at is not None
    assert (queue.coordinator_host, queue.coordinator_pid) == (HOST, 4242)
    # Every kept file belongs to a run that holds a rank; nothing else is on disk.
    kept = {r.model_file_path for r in rig.tables["runs"].values() if r.is_model_kept}
    assert set(rig.store.files) == kept


def test_a_config_completed_before_with_the_same_data_is_skipped() -> None:
    first = Rig(3)
    first.run()
    second = Rig(configs=first.configs, db=first.db, store=first.store)
    outcome = second.run()
    assert (outcome.completed, outcome.skipped) == (0, 3)
    assert second.factory.trained == []
    assert [e.existing_run_uuid for e in second.of(RunSkipped)] == [
        i.run_uuid for i in first.items()
    ]
    assert [i.status for i in second.items()] == [ItemStatus.SKIPPED] * 3


def test_twins_in_one_queue_train_once_even_in_parallel() -> None:
    configs = make_configs(2)
    rig = Rig(configs=[configs[0], configs[1], configs[0]], max_parallel=3)
    outcome = rig.run()
    assert (outcome.completed, outcome.skipped) == (2, 1)
    assert sorted(rig.factory.trained) == [0, 1]


def test_failures_and_timeouts_are_recorded_and_the_queue_goes_on() -> None:
    rig = Rig(5)
    rig.factory.behaviours.update({1: "raise", 3: "timeout"})
    outcome = rig.run()
    assert (outcome.status, outcome.completed, outcome.failed) == (QueueStatus.COMPLETED, 3, 2)
    failed = {e.config_hash: e.error for e in rig.of(RunFailed)}
    assert failed == {
        rig.configs[1].config_hash: "RuntimeError: the model diverged",
        rig.configs[3].config_hash: "ModelTimeoutError: training took longer than 3600 s",
    }
    items = rig.items()
    assert [i.status for i in items] == [ItemStatus.COMPLETED, ItemStatus.FAILED] * 2 + [
        ItemStatus.COMPLETED
    ]
    assert items[1].error == "RuntimeError: the model diverged"
    run = rig.tables["runs"][items[3].run_uuid]
    assert run.status is RunStatus.FAILED and "3600" in (run.error_message or "")


def test_bad_data_fails_the_item_without_a_run() -> None:
    rig = Rig(3)
    rig.factory.bad_data.add(1)
    outcome = rig.run()
    assert (outcome.completed, outcome.failed) == (2, 1)
    assert rig.items()[1].run_uuid is None and "no bars" in (rig.items()[1].error or "")


def test_consecutive_failures_pause_the_queue_and_retry_failed_requeues_them() -> None:
    rig = Rig(5, max_consecutive_failures=2)
    rig.factory.behaviours.update({0: "raise", 1: "raise"})
    outcome = rig.run()
    assert (outcome.status, outcome.reason, outcome.exit_status) == (
        QueueStatus.PAUSED,
        "failures",
        1,
    )
    assert "2 consecutive failures" in outcome.message and "diverged" in outcome.message
    assert outcome.checkpoint_path in rig.checkpoints.texts
    assert [i.status for i in rig.items()][2:] == [ItemStatus.PENDING] * 3
    assert rig.of(QueuePaused)[-1].reason == "failures"
    assert retry_failed(rig.db.uow(), rig.queue.queue_uuid, AT) == 2
    outcome = rig.run()
    assert (outcome.status, outcome.completed, outcome.failed) == (QueueStatus.COMPLETED, 5, 0)


def test_a_success_resets_the_failure_streak() -> None:
    rig = Rig(5, max_consecutive_failures=2)
    rig.factory.behaviours.update({0: "raise", 2: "raise", 4: "raise"})
    outcome = rig.run()
    assert (outcome.status, outcome.failed) == (QueueStatus.COMPLETED, 3)


def test_low_disk_before_a_model_pauses_with_how_much_is_needed() -> None:
    disk = FakeDiskProbe(free=10**12)
    rig = Rig(4, disk=disk, disk_reserve_bytes=500 * MB, artifacts_path="/ws/artifacts")
    rig.hooks.append(
        lambda e: setattr(disk, "free", 200 * MB) if isinstance(e, RunCompleted) else None
    )
    outcome = rig.run()
    assert (outcome.status, outcome.reason, outcome.exit_status) == (QueueStatus.PAUSED, "disk", 1)
    assert outcome.completed == 1
    assert "200 MB free" in outcome.message and "needs 500 MB" in outcome.message
    assert "300 MB more" in outcome.message and "/ws/artifacts" in outcome.message
    assert outcome.checkpoint_path is not None
    assert rig.tables["queues"][rig.queue.queue_uuid].message == outcome.message
    disk.free = 10**12
    rig.hooks.clear()
    assert rig.run().status is QueueStatus.COMPLETED


def test_a_full_disk_while_writing_a_model_pauses_and_keeps_the_item() -> None:
    rig = Rig(3)
    rig.factory.behaviours[1] = "disk"
    outcome = rig.run()
    assert (outcome.status, outcome.reason) == (QueueStatus.PAUSED, "disk")
    assert "disk is full" in outcome.message
    assert rig.items()[1].status is ItemStatus.PENDING
    assert rig.run().completed == 3


def test_the_disk_estimate_warns_before_the_start() -> None:
    first = Rig(2)
    first.run()  # model sizes are now known
    disk = FakeDiskProbe(free=10**12)
    second = Rig(configs=make_configs(3, symbol="GOOG"), db=first.db, store=first.store, disk=disk)
    disk.free = 100 * MB  # below the reserve alone
    second.run()
    from regimeforge.domain.events import DiskSpaceWarning

    warning = second.of(DiskSpaceWarning)
    assert warning and warning[0].free_bytes == 100 * MB and warning[0].needed_bytes > 500 * MB


def test_pause_from_another_terminal_finishes_the_current_model() -> None:
    rig = Rig(4)

    def pause_on_second(event: object) -> None:
        if isinstance(event, RunStarted) and event.index == 1:
            request_pause(rig.db.uow(), rig.queue.queue_uuid, AT)

    rig.hooks.append(pause_on_second)
    outcome = rig.run()
    assert (outcome.status, outcome.reason, outcome.exit_status) == (
        QueueStatus.PAUSED,
        "requested",
        0,
    )
    assert [i.status for i in rig.items()] == [ItemStatus.COMPLETED] * 2 + [ItemStatus.PENDING] * 2
    queue = rig.tables["queues"][rig.queue.queue_uuid]
    assert not queue.pause_requested and queue.status is QueueStatus.PAUSED
    assert rig.of(CheckpointSaved)[-1].path == outcome.checkpoint_path
    rig.hooks.clear()
    outcome = rig.run()
    assert outcome.status is QueueStatus.COMPLETED and outcome.completed == 4
    assert rig.of(QueueStarted)[-1].resumed


def test_cancel_stops_now_keeps_completed_work_and_deletes_checkpoints() -> None:
    rig = Rig(4, auto_checkpoint_interval=1)

    def cancel_on_second(event: object) -> None:
        if isinstance(event, RunStarted) and event.index == 1:
            request_cancel(rig.db.uow(), rig.queue.queue_uuid, AT)

    rig.hooks.append(cancel_on_second)
    outcome = rig.run()
    assert (outcome.status, outcome.reason) == (QueueStatus.CANCELLED, "cancelled")
    items = rig.items()
    assert items[0].status is ItemStatus.COMPLETED
    assert [i.status for i in items[1:]] == [ItemStatus.CANCELLED] * 3
    # The model being trained noticed the flag between inner-loop batches.
    assert [r.status for r in rig.tables["runs"].values()].count(RunStatus.CANCELLED) == 1
    assert rig.checkpoints.texts == {} and len(rig.of(QueueCancelled)) == 1
    assert len(rig.completed_hashes()) == 1


def test_cancel_of_a_paused_queue_is_immediate() -> None:
    rig = Rig(3)
    rig.hooks.append(
        lambda e: (
            request_pause(rig.db.uow(), rig.queue.queue_uuid, AT)
            if isinstance(e, RunStarted)
            else None
        )
    )
    rig.run()
    queue = request_cancel(rig.db.uow(), rig.queue.queue_uuid, AT, rig.checkpoints)
    assert queue.status is QueueStatus.CANCELLED and rig.checkpoints.texts == {}
    assert rig.run().reason == "nothing to do"


def test_ctrl_c_pauses_with_a_checkpoint_and_reraises() -> None:
    rig = Rig(4)
    rig.factory.behaviours[2] = "interrupt"
    with pytest.raises(KeyboardInterrupt):
        rig.run()
    queue = rig.tables["queues"][rig.queue.queue_uuid]
    assert queue.status is QueueStatus.PAUSED and queue.message == "interrupted by the user"
    paused = rig.of(QueuePaused)[-1]
    assert paused.reason == "interrupted" and paused.checkpoint_path in rig.checkpoints.texts
    items = rig.items()
    assert [i.status for i in items] == [ItemStatus.COMPLETED] * 2 + [ItemStatus.PENDING] * 2
    assert items[2].claimed_by is None
    outcome = rig.run()
    assert outcome.status is QueueStatus.COMPLETED
    assert len(rig.completed_hashes()) == len(set(rig.completed_hashes())) == 4


def test_checkpoints_are_written_every_interval() -> None:
    rig = Rig(5, auto_checkpoint_interval=2)
    rig.run()
    assert [e.current_index for e in rig.of(CheckpointSaved)] == [2, 4]
    latest = rig.checkpoints.load(rig.checkpoints.latest(rig.queue.queue_uuid))
    assert latest["current_index"] == 4 and len(latest["completed_runs"]) == 4


def test_a_checkpoint_lists_items_another_coordinator_finished_meanwhile() -> None:
    # The session keeps the finished items between checkpoints; when the queue's counters say
    # that someone else finished an item too, it reads the list again.
    rig = Rig(9, auto_checkpoint_interval=2)  # 8 of its own: the last checkpoint has all
    other = []

    def other_coordinator_fails_one(event: object) -> None:
        if isinstance(event, CheckpointSaved) and not other:
            with rig.db.uow() as uow:
                item = uow.queues.claim_next(rig.queue.queue_uuid, "elsewhere:1:x", AT)
                uow.commit()
            assert item is not None
            other.append(item.index)
            record_failure(rig.db.uow(), item=item, run=None, error="E: elsewhere", at=AT)

    rig.hooks.append(other_coordinator_fails_one)
    outcome = rig.run()
    assert outcome.status is QueueStatus.COMPLETED and outcome.failed == 1
    latest = rig.checkpoints.load(rig.checkpoints.latest(rig.queue.queue_uuid))
    assert [f["index"] for f in latest["failed_runs"]] == other
    assert latest["failed_runs"][0]["error"] == "E: elsewhere"
    assert sorted(c["index"] for c in latest["completed_runs"]) == sorted(set(range(9)) - {*other})


def test_only_the_newest_checkpoints_of_a_queue_are_kept() -> None:
    rig = Rig(7, auto_checkpoint_interval=1, checkpoints_kept_per_queue=3)
    rig.run()
    assert len(rig.of(CheckpointSaved)) == 7
    kept = rig.checkpoints.list(rig.queue.queue_uuid)
    assert kept == [e.path for e in rig.of(CheckpointSaved)][-3:][::-1]
    assert len(rig.checkpoints.load(kept[0])["completed_runs"]) == 7


def test_a_corrupt_checkpoint_is_refused_and_the_database_state_used() -> None:
    rig = Rig(3)
    rig.checkpoints.texts["mem://x/bad.json"] = '{"queue_uuid": "x", "checkpoint_'
    outcome = rig.run(resume_from_checkpoint="mem://x/bad.json")
    assert outcome.status is QueueStatus.COMPLETED
    rejected = rig.of(CheckpointRejected)
    assert len(rejected) == 1 and rejected[0].path == "mem://x/bad.json"


def test_a_crashed_coordinator_is_taken_over_and_its_claims_released() -> None:
    rig = Rig(3)
    with rig.db.uow() as uow:
        queue = uow.queues.get(rig.queue.queue_uuid)
        uow.queues.update(
            queue.to(
                QueueStatus.RUNNING, AT, coordinator_host=HOST, coordinator_pid=999, heartbeat_at=AT
            )
        )
        uow.queues.claim_next(queue.queue_uuid, f"{HOST}:999:dead", AT)
        uow.commit()
    outcome = rig.run()
    assert outcome.status is QueueStatus.COMPLETED and outcome.completed == 3
    assert rig.of(ClaimsReleased)[0].indexes == (0,)
    assert rig.items()[0].attempts == 2


def test_a_live_coordinator_elsewhere_keeps_its_claims() -> None:
    rig = Rig(3)
    recent = AT + timedelta(days=3650)  # far in the future: never stale for the fake clock
    with rig.db.uow() as uow:
        queue = uow.queues.get(rig.queue.queue_uuid)
        uow.queues.update(
            queue.to(
                QueueStatus.RUNNING,
                AT,
                coordinator_host="other",
                coordinator_pid=7,
                heartbeat_at=recent,
            )
        )
        uow.queues.claim_next(queue.queue_uuid, "other:7:live", recent)
        uow.commit()
    outcome = rig.run()
    assert (outcome.reason, outcome.completed) == ("shared", 2)
    assert rig.items()[0].status is ItemStatus.RUNNING
    assert rig.tables["queues"][rig.queue.queue_uuid].coordinator_host == "other"


def test_a_pause_puts_a_waiting_twin_back_to_pending() -> None:
    configs = make_configs(1)
    rig = Rig(configs=[configs[0], configs[0]], max_parallel=2)
    rig.hooks.append(
        lambda e: (
            request_pause(rig.db.uow(), rig.queue.queue_uuid, AT)
            if isinstance(e, RunStarted)
            else None
        )
    )
    outcome = rig.run()
    assert outcome.status is QueueStatus.PAUSED
    assert [i.status for i in rig.items()] == [ItemStatus.COMPLETED, ItemStatus.PENDING]
    assert rig.items()[1].claimed_by is None
    rig.hooks.clear()
    outcome = rig.run()
    assert (outcome.status, outcome.completed, outcome.skipped) == (QueueStatus.COMPLETED, 1, 1)


def test_an_unexpected_error_resolving_a_config_fails_only_that_item() -> None:
    class BrokenGrid(FakeTaskFactory):
        def config_for(self, queue, item):
            if item.index == 1:
                raise KeyError("grid point 1")
            return super().config_for(queue, item)

    rig = Rig(3)
    rig.factory = BrokenGrid(rig.configs, rig.store)
    outcome = rig.run()
    assert (outcome.status, outcome.completed, outcome.failed) == (QueueStatus.COMPLETED, 2, 1)
    assert rig.items()[1].error == "KeyError: 'grid point 1'"
