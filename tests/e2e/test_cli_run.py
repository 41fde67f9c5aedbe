"""``regimeforge run``: a grid end to end, and interrupted every way a user can (pause or cancel
from another process, Ctrl-C, SIGTERM, kill -9 of the process group followed by ``recover``).

Every interrupted workspace must end where an uninterrupted run of the same grid in another
workspace ends: the same completed config hashes, each run recorded with all its 135 backtests,
no run left running, no config trained twice, no model file that no kept run names.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from cli_helpers import assert_bad_input, rf, tree
from queue_helpers import (
    assert_consistent,
    completed,
    completed_hashes,
    init,
    one,
    queue_uuid,
    sql,
    start,
    wait_until,
    write_grid,
)

pytestmark = pytest.mark.slow

CONFIGS = 30  # ridge on 2,000 synthetic bars: long enough to interrupt in the middle


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("grids")
    return write_grid(folder, "e2e", [2, 3, 4, 5, 6], [0.01, 0.1, 0.3, 1.0, 3.0, 10.0])


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh workspace, copied by ``fresh`` (``init`` once, not once per test)."""
    return init(tmp_path_factory.mktemp("blank") / "ws")


def fresh(blank: Path, folder: Path) -> Path:
    """A copy of the blank workspace in ``folder``/ws."""
    return Path(shutil.copytree(blank, folder / "ws"))


@pytest.fixture(scope="module")
def reference(blank: Path, grid: Path, tmp_path_factory: pytest.TempPathFactory):
    """An uninterrupted run of the grid: (workspace, its CompletedProcess)."""
    ws = fresh(blank, tmp_path_factory.mktemp("ref"))
    return ws, rf("run", grid, "--workspace", ws)


def test_run_records_every_config_with_its_backtests_and_a_summary(reference) -> None:
    ws, result = reference
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"model 1 of {CONFIGS}: ridge · EUR/USD · 1h · horizon 2" in out
    assert "135 inference backtests" in out and "progress: 1 of 30 done" in out
    assert "ETA" in out and "regime" in out and "improved: rank 1" in out
    assert f"Queue e2e completed: {CONFIGS} of {CONFIGS} done ({CONFIGS} completed" in out
    assert "Summary" in out and "Regime bests (sharpe)" in out
    assert completed(ws) == CONFIGS
    assert one(ws, "select count(*) from inference_backtests") == CONFIGS * 135
    assert one(ws, "select status from training_queue") == "completed"
    assert_consistent(ws)


def test_a_second_run_of_the_same_grid_skips_everything(reference, grid: Path) -> None:
    ws, _ = reference
    before = completed_hashes(ws)
    result = rf("run", grid, "-w", ws)
    assert result.returncode == 0, result.stderr
    assert f"0 completed, 0 failed, {CONFIGS} skipped" in result.stdout
    assert completed_hashes(ws) == before


def test_a_bad_grid_exits_2_and_writes_nothing(tmp_path: Path, blank: Path, grid: Path) -> None:
    ws = fresh(blank, tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(grid.read_text().replace("horizon: [2, 3, 4, 5, 6]", "horizon: [0]"))
    before = tree(tmp_path)
    result = rf("run", bad, "-w", ws)
    line = assert_bad_input(result)
    assert "bad.yaml" in line and "horizon" in result.stderr
    assert tree(tmp_path) == before
    assert one(ws, "select count(*) from training_queue") == 0


def test_run_needs_a_workspace(tmp_path: Path, grid: Path) -> None:
    line = assert_bad_input(rf("run", grid, "-w", tmp_path / "nowhere"))
    assert "regimeforge init" in line
    assert not (tmp_path / "nowhere").exists()


def _interrupted_run(ws: Path, grid: Path, new_session: bool = False):
    proc = start("run", grid, "-w", ws, new_session=new_session)
    assert wait_until(lambda: completed(ws) >= 1, proc), proc.communicate()
    return proc


def test_pause_from_another_process_then_resume(
    tmp_path: Path, blank: Path, grid: Path, reference
) -> None:
    ws = fresh(blank, tmp_path)
    proc = _interrupted_run(ws, grid)
    uuid = queue_uuid(ws)
    paused = rf("queue", "pause", uuid[:8], "-w", ws)
    assert paused.returncode == 0, paused.stderr
    assert "Pause requested" in paused.stdout
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Queue e2e paused: paused on request" in out
    assert one(ws, "select status from training_queue") == "paused"
    assert 1 <= completed(ws) < CONFIGS
    assert list((ws / "checkpoints").glob(f"{uuid}-*.json"))
    assert_consistent(ws)

    resumed = rf("queue", "resume", uuid[:8], "-w", ws)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Queue e2e completed: {CONFIGS} of {CONFIGS} done" in resumed.stdout
    assert completed_hashes(ws) == completed_hashes(reference[0])
    assert_consistent(ws)


def test_cancel_from_another_process_keeps_completed_work(
    tmp_path: Path, blank: Path, grid: Path
) -> None:
    ws = fresh(blank, tmp_path)
    proc = _interrupted_run(ws, grid)
    uuid = queue_uuid(ws)
    cancelled = rf("queue", "cancel", uuid, "-w", ws)
    assert cancelled.returncode == 0, cancelled.stderr
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "cancelled" in out
    assert one(ws, "select status from training_queue") == "cancelled"
    done = completed(ws)
    assert 1 <= done < CONFIGS
    statuses = dict(sql(ws, "select status, count(*) from training_queue_items group by 1"))
    assert statuses.get("completed") == done and not statuses.get("pending")
    assert not list((ws / "checkpoints").glob(f"{uuid}-*.json"))
    assert_consistent(ws)
    again = rf("queue", "resume", uuid, "-w", ws)
    assert again.returncode == 0 and "nothing to do" in again.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_pauses_with_a_checkpoint_and_exits_130(
    tmp_path: Path, blank: Path, grid: Path, reference, sig: signal.Signals
) -> None:
    ws = fresh(blank, tmp_path)
    proc = _interrupted_run(ws, grid)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, (out, err)
    assert "interrupted: queue e2e paused" in err and "queue resume" in err
    uuid = queue_uuid(ws)
    assert sql(ws, "select status, message from training_queue") == [
        ("paused", "interrupted by the user")
    ]
    checkpoints = sorted((ws / "checkpoints").glob(f"{uuid}-*.json"))
    assert checkpoints
    assert_consistent(ws)

    # A damaged checkpoint is refused with a warning; the database state is used.
    bad = tmp_path / "bad.json"
    text = checkpoints[-1].read_text()
    if sig == signal.SIGINT:
        bad.write_text(text[: len(text) // 2])  # truncated
        reason = "not valid JSON"
    else:
        payload = json.loads(text)
        payload["checkpoint_version"] = 99
        bad.write_text(json.dumps(payload))
        reason = "version 99 is not supported"
    resumed = rf("queue", "resume", uuid, "--checkpoint", bad, "-w", ws)
    assert resumed.returncode == 0, resumed.stderr
    assert "warning: checkpoint refused" in resumed.stderr and reason in resumed.stderr
    assert "using the database state instead" in resumed.stderr
    assert completed_hashes(ws) == completed_hashes(reference[0])
    assert_consistent(ws)


def test_kill_9_mid_grid_then_recover(tmp_path: Path, blank: Path, grid: Path, reference) -> None:
    ws = fresh(blank, tmp_path)
    proc = _interrupted_run(ws, grid, new_session=True)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    before = dict(
        sql(ws, "select run_uuid, config_hash from training_runs where status = 'completed'")
    )
    assert 1 <= len(before) < CONFIGS
    assert one(ws, "select status from training_queue") == "running"  # its coordinator is dead
    listed = rf("queue", "list", "-w", ws)
    assert "running (crashed)" in listed.stdout

    recovered = rf("recover", "-w", ws)
    assert recovered.returncode == 0, recovered.stderr
    assert "crashed: queue e2e" in recovered.stdout and "is gone" in recovered.stdout
    assert f"Queue e2e completed: {CONFIGS} of {CONFIGS} done" in recovered.stdout
    assert completed_hashes(ws) == completed_hashes(reference[0])
    after = dict(
        sql(ws, "select run_uuid, config_hash from training_runs where status = 'completed'")
    )
    assert before.items() <= after.items()  # what was done before the kill was not redone
    assert_consistent(ws)

    nothing = rf("recover", "-w", ws)
    assert nothing.returncode == 0 and "nothing to recover" in nothing.stdout
