"""Picklable fake worker tasks for the coordinator integration tests (children import them)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from fake_tasks import CATALOG, FakeTaskFactory, fake_result
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.usecases.tasks import TaskRequest, WorkerResult


def traced_task(config: dict, artifacts_dir: str, fingerprint: str, trace_dir: str) -> WorkerResult:
    """The fake worker, in any process, leaving a trace file per training (who trained what)."""
    from regimeforge.adapters.artifacts import FilesystemArtifactStore

    result = fake_result(config, FilesystemArtifactStore(artifacts_dir), fingerprint)
    chash = ModelConfig.from_mapping(config, CATALOG).config_hash
    Path(trace_dir, f"{chash}-{os.getpid()}-{threading.get_ident()}").touch()
    return result


class TracedFactory(FakeTaskFactory):
    """Tasks that run anywhere (picklable arguments) and leave traces in ``trace_dir``."""

    def __init__(self, configs: list, artifacts_dir: Path, trace_dir: Path) -> None:
        super().__init__(configs, None)  # type: ignore[arg-type]
        self.artifacts_dir, self.trace_dir = str(artifacts_dir), str(trace_dir)

    def task(self, request: TaskRequest) -> Any:
        fp = self.data_fingerprint(request.queue, request.config)
        return traced_task, (request.config.to_dict(), self.artifacts_dir, fp, self.trace_dir)


def traces(trace_dir: Path) -> list[tuple[str, str]]:
    """(config hash, pid) of every training traced so far."""
    return [tuple(p.name.split("-")[:2]) for p in Path(trace_dir).iterdir()]  # type: ignore[misc]
