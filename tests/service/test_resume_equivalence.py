"""Resume equivalence: interrupting anywhere and resuming ends in the uninterrupted state.

Hypothesis chooses where to stop (which item, and at which moment: a pause request, Ctrl-C
before the task is submitted, Ctrl-C during training, Ctrl-C right after a commit, or a hard
crash that leaves the database as it was, followed by a coordinator in a new process), possibly
twice. The final state is compared on what the database means, not on random uuids: completed
run hashes, backtests, regime bests, history facts, kept files, failed items.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_rig import PID, Rig
from fake_tasks import make_configs
from regimeforge.domain.events import Event, RunCompleted, RunStarted
from regimeforge.domain.states import QueueStatus, RunStatus

N = 6
FAILING = 3  # this item always fails: failed items must come out the same too
KINDS = ("pause", "ctrl-c-before-submit", "ctrl-c-training", "ctrl-c-after-commit", "crash")


class Crash(BaseException):
    """The coordinator's process dies: nothing of the session's cleanup runs."""


def state(rig: Rig) -> dict[str, Any]:
    """The meaning of the database and the artifact store, free of uuids."""
    runs = rig.tables["runs"]
    backtests = rig.tables["backtests"]
    completed = [r for r in runs.values() if r.status is RunStatus.COMPLETED]
    hash_of_run = {r.run_uuid: r.config_hash for r in runs.values()}
    hash_of_bt = {b.backtest_uuid: b.inference_hash for b in backtests.values()}

    def bt(b: str) -> tuple[str, str]:
        return (hash_of_run[backtests[b].run_uuid], hash_of_bt[b])

    queue = rig.tables["queues"][rig.queue.queue_uuid]
    return {
        "completed": sorted(r.config_hash for r in completed),
        "backtests": sorted(
            (hash_of_run[b.run_uuid], b.inference_hash, b.backtest_metrics["sharpe"])
            for b in backtests.values()
        ),
        "bests": {
            regime: [(e.rank, *bt(e.backtest_uuid), e.performance_score) for e in entries]
            for regime, entries in sorted(rig.tables["bests"].items())
        },
        "history": sorted(
            (c.regime_name, c.change, c.rank, hash_of_run[c.run_uuid], c.previous_score)
            for c in rig.tables["history"].values()
        ),
        "kept": sorted((r.config_hash, r.best_regimes) for r in completed if r.is_model_kept),
        "files": sorted(rig.store.sha256(name) for name in rig.store.files),
        "failed": sorted((i.index, i.error) for i in rig.items() if i.error),
        "queue": (queue.status, queue.completed_count, queue.failed_count, queue.skipped_count),
        "running_runs": [r for r in runs.values() if r.status is RunStatus.RUNNING],
    }


def new_rig() -> Rig:
    rig = Rig(configs=make_configs(N), top_n=2)
    rig.factory.behaviours[FAILING] = "raise"
    rig.factory.sticky = True
    return rig


def interrupt_once(rig: Rig, index: int, kind: str) -> None:
    """Arrange for the next session to stop at item ``index`` in the way ``kind`` says."""
    fired = []

    def hook(event: Event) -> None:
        if fired:
            return
        if kind == "pause" and isinstance(event, RunStarted) and event.index == index:
            fired.append(1)
            from regimeforge.domain.usecases.queue_control import request_pause

            request_pause(rig.db.uow(), rig.queue.queue_uuid, rig.clock.now())
        elif kind in ("ctrl-c-before-submit", "crash") and isinstance(event, RunStarted):
            if event.index == index:
                fired.append(1)
                raise KeyboardInterrupt if kind != "crash" else Crash
        elif (
            kind == "ctrl-c-after-commit"
            and isinstance(event, RunCompleted)
            and event.config_hash == rig.configs[index].config_hash
        ):
            fired.append(1)
            raise KeyboardInterrupt

    rig.hooks[:] = [hook]
    if kind == "ctrl-c-training" and index != FAILING:
        rig.factory.sticky = False
        rig.factory.behaviours = {index: "interrupt", FAILING: "raise"}


def run_with_stops(stops: list[tuple[int, str]]) -> Rig:
    rig = new_rig()
    pid = PID
    for index, kind in stops:
        interrupt_once(rig, index, kind)
        try:
            rig.run(pid=pid)
        except KeyboardInterrupt:
            pass
        except Crash:
            pid += 1  # the next coordinator is a new process; the old one is gone
        rig.factory.behaviours = {FAILING: "raise"}
        rig.factory.sticky = True
    rig.hooks.clear()
    for _ in range(3):  # a pause or crash may leave work; resume until the queue is done
        if rig.run(pid=pid).status is QueueStatus.COMPLETED:
            break
    return rig


BASELINE = state(run_with_stops([]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, N - 1), st.sampled_from(KINDS)), min_size=1, max_size=2))
def test_interrupting_anywhere_and_resuming_ends_in_the_same_state(
    stops: list[tuple[int, str]],
) -> None:
    final = state(run_with_stops(stops))
    assert final == BASELINE


def test_the_baseline_is_a_real_workload() -> None:
    assert BASELINE["queue"] == (QueueStatus.COMPLETED, N - 1, 1, 0)
    assert len(BASELINE["backtests"]) == 4 * (N - 1)
    assert BASELINE["bests"] and BASELINE["history"] and BASELINE["files"]
    assert BASELINE["running_runs"] == []
