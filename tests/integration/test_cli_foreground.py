"""The CLI's queue plumbing in process: naming a queue, the progress lines and live display,
and the removal of model files a dead coordinator left behind."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from rich.console import Console

from fake_tasks import ListGrid, make_configs
from regimeforge.adapters.cli.foreground import outcome_line, resolve_queue
from regimeforge.adapters.cli.progress import LiveProgress, PlainProgress, progress_observer
from regimeforge.adapters.crash_leftovers import remove_orphan_files
from regimeforge.domain import events as ev
from regimeforge.domain.errors import ConfigError
from regimeforge.domain.states import QueueStatus
from regimeforge.domain.usecases.queue_control import create_queue
from regimeforge.domain.usecases.runner_support import QueueOutcome


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Any]:
    from regimeforge.bootstrap import init_workspace

    workspace = init_workspace(tmp_path / "ws", load_entry_points=False)
    yield workspace
    workspace.close()


def _queue(ws: Any, uuid: str, name: str) -> Any:
    return create_queue(
        ws.uow(),
        name=name,
        config_grid={"grid": "test"},
        grid=ListGrid(make_configs(1)),
        inference_grid={},
        at=ws.clock.now(),
        ids=lambda: uuid,
    )


def test_a_queue_is_named_by_uuid_unique_prefix_or_name(ws: Any) -> None:
    _queue(ws, "abc111" + "0" * 26, "first")
    _queue(ws, "abc222" + "0" * 26, "second")
    assert resolve_queue(ws, "abc111" + "0" * 26).name == "first"
    assert resolve_queue(ws, "abc2").name == "second"
    assert resolve_queue(ws, "first").queue_uuid.startswith("abc111")
    with pytest.raises(ConfigError, match="'abc' matches 2 queues"):
        resolve_queue(ws, "abc")
    with pytest.raises(ConfigError, match="no queue with uuid, uuid prefix or name 'ffff'"):
        resolve_queue(ws, "ffff")


EVENTS: list[ev.Event] = [
    ev.QueueStarted("q1", "demo", 2, 0, False),
    ev.RunStarted("q1", "r1", 0, 2, {"model_type": "rf", "symbol": "EUR/USD",
                                     "base_timeframe": "4h", "horizon": 5, "encoder": "pca"}),
    ev.InferenceProgress("r1", 135, 135),
    ev.RunCompleted("q1", "r1", "h1", True, ("calm_ranging",), 0.25),
    ev.RegimeImproved("calm_ranging", "r1", "b1", 1, 1.5, 1.0, 0.5, 50.0),
    ev.Progress("q1", 1, 2, 1, 0, 3.0, 3.0),
    ev.RunStarted("q1", "r2", 1, 2, {"model_type": "ridge", "symbol": "EUR/USD",
                                     "base_timeframe": "1h", "horizon": 3}),
    ev.RunFailed("q1", "r2", "h2", "ValueError: boom"),
    ev.CheckpointRejected("q1", "/x.json", "/x.json: checksum mismatch"),
    ev.QueuePaused("q1", "interrupted", "/ck.json"),
]  # fmt: skip


def _consoles() -> tuple[Console, io.StringIO, Console, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(file=out, width=200), out, Console(file=err, width=200), err


def test_plain_progress_prints_one_line_per_event() -> None:
    console, out, err_console, err = _consoles()
    progress = progress_observer(console, err_console)
    assert type(progress) is PlainProgress
    with progress:
        for event in EVENTS:
            progress(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == "starting queue demo (q1): 2 configurations, 0 done"
    assert lines[1] == "model 1 of 2: rf · encoder pca · EUR/USD · 4h · horizon 5"
    assert lines[2].startswith("model 1 of 2 done in ") and lines[2].endswith(
        "(training 0.2 s): 135 inference backtests, model kept (best in calm_ranging)"
    )
    assert lines[3] == "  regime calm_ranging improved: rank 1, score 1.5000 (+0.5000, +50%)"
    assert lines[4].startswith("progress: 1 of 2 done, kept 1, deleted 0, elapsed 0:00:03")
    assert lines[-1] == "queue paused (interrupted), checkpoint /ck.json"
    assert err.getvalue().splitlines() == [
        "model 2 of 2 failed: ValueError: boom",
        "warning: checkpoint refused: /x.json: checksum mismatch; using the database state instead",
    ]
    tally = progress.tally
    assert (tally.trained, tally.failed, tally.kept, tally.checkpoint) == (1, 1, 1, "/ck.json")


def test_the_live_display_renders_and_prints_improvements_above_it() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system=None)
    progress = progress_observer(console, console)
    assert isinstance(progress, LiveProgress)
    with progress:
        for event in EVENTS[:5]:
            progress(event)
        progress.live.refresh()
        text = out.getvalue()
        assert "model 1 of 2" in text and "inference" in text and "135 of 135" in text
        assert "rf · encoder pca · EUR/USD · 4h · horizon 5" in text
        assert "regime calm_ranging improved" in text
        for event in EVENTS[5:]:
            progress(event)
    text = out.getvalue()
    assert "kept 1 · deleted 0 · failed 1 · skipped 0" in text
    assert "ETA" in text and "checkpoint refused" in text


def test_outcome_lines_say_what_to_do_next() -> None:
    base = QueueOutcome("u1", QueueStatus.COMPLETED, "completed", "", 3, 1, 0, 4)
    assert outcome_line(base, "g").startswith("Queue g completed: 4 of 4 done (3 completed, 1")
    assert "queue retry-failed u1" in outcome_line(base, "g")
    paused = attrs.evolve(base, status=QueueStatus.PAUSED, reason="failures", message="5 in a row")
    assert "retry-failed u1` and `regimeforge queue resume u1`" in outcome_line(paused, "g")


def test_orphan_model_files_are_removed_only_when_safe(ws: Any) -> None:
    root = Path(ws.settings.artifacts_dir)
    (root / "ab").mkdir(parents=True)
    orphan = root / "ab" / ("ab" + "1" * 30 + ".model")
    temp = root / "ab" / ("ab" + "2" * 30 + ".model.tmp-" + "3" * 32)
    other = root / "ab" / "notes.txt"  # not one of the store's names: never touched
    for path in (orphan, temp, other):
        path.write_bytes(b"x" * 10)
    queue = _queue(ws, "q" * 32, "busy")

    fresh = remove_orphan_files(ws, written_before=time.time() - 3600)
    assert fresh == (0, 0) and orphan.exists()  # written after the cut-off

    with ws.uow() as uow:  # a running queue: some coordinator may be about to record a file
        uow.queues.update(
            queue.to(QueueStatus.RUNNING, ws.clock.now(), coordinator_pid=os.getpid())
        )
        uow.commit()
    assert remove_orphan_files(ws, written_before=time.time() + 1) == (0, 0)

    with ws.uow() as uow:
        running = uow.queues.get(queue.queue_uuid)
        uow.queues.update(running.to(QueueStatus.PAUSED, ws.clock.now()))
        uow.commit()
    assert remove_orphan_files(ws, written_before=time.time() + 1) == (2, 20)
    assert not orphan.exists() and not temp.exists() and other.exists()
