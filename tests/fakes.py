"""Hand-written fakes of the ports (no ``Mock`` of our own ports), shared by service tests.

Storage fakes live in ``fake_storage``, data and model fakes in ``fake_models``; both are
re-exported here so that tests import every fake from one place. The fakes below record what
happened (files written, checkpoints saved, tasks submitted and cancelled).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from fake_models import FakeDataSource, FakeFeatureBuilder, FakeModel, FakeTrainer
from fake_storage import FakeDatabase, FakeUnitOfWork
from regimeforge.domain.errors import ArtifactIntegrityError, CheckpointError
from regimeforge.domain.ports import ArtifactInfo
from regimeforge.domain.usecases.checkpoints import CheckpointDocument, validate_checkpoint

__all__ = [
    "FakeArtifactStore",
    "FakeCheckpointStore",
    "FakeClock",
    "FakeDataSource",
    "FakeDatabase",
    "FakeDiskProbe",
    "FakeExecutor",
    "FakeFeatureBuilder",
    "FakeModel",
    "FakeTrainer",
    "FakeUnitOfWork",
]


class FakeArtifactStore:
    """Artifacts in a dict; ``fail_delete`` names files whose deletion raises OSError."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fail_delete: set[str] = set()
        self._names = itertools.count(1)

    def put(self, data: bytes, *, suffix: str = ".bin") -> ArtifactInfo:
        name = f"model-{next(self._names):05d}{suffix}"
        self.files[name] = bytes(data)
        return ArtifactInfo(name, len(data), hashlib.sha256(data).hexdigest())

    def open(self, name: str, sha256: str) -> bytes:
        data = self.files[name]
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArtifactIntegrityError(name)
        return data

    def delete(self, name: str) -> int:
        if name in self.fail_delete:
            raise OSError(f"cannot delete {name}")
        return len(self.files.pop(name, b""))

    def exists(self, name: str) -> bool:
        return name in self.files

    def size(self, name: str) -> int:
        return len(self.files[name])

    def sha256(self, name: str) -> str:
        return hashlib.sha256(self.files[name]).hexdigest()

    def list(self) -> list[str]:
        return sorted(self.files)


class FakeCheckpointStore:
    """Checkpoints as JSON text in a dict (so that what is stored really round-trips)."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self._n = itertools.count(1)

    def save(self, checkpoint: CheckpointDocument | dict[str, Any]) -> str:
        if not isinstance(checkpoint, CheckpointDocument):
            checkpoint = CheckpointDocument.of(checkpoint)
        path = f"mem://{checkpoint.queue_uuid}/{next(self._n):04d}.json"
        self.texts[path] = checkpoint.text
        return path

    def keep_latest(self, queue_uuid: str, keep: int) -> int:
        old = self.list(queue_uuid)[max(keep, 1) :]
        for path in old:
            del self.texts[path]
        return len(old)

    def load(self, path: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = json.loads(self.texts[path])
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"{path}: unreadable ({exc})") from None
        validate_checkpoint(payload, source=path)
        return payload

    def latest(self, queue_uuid: str) -> str | None:
        found = self.list(queue_uuid)
        return found[0] if found else None

    def list(self, queue_uuid: str | None = None) -> list[str]:
        return sorted((p for p in self.texts if queue_uuid is None or f"/{queue_uuid}/" in p),
                      reverse=True)  # fmt: skip

    def _created(self, path: str) -> datetime:
        try:
            return datetime.fromisoformat(json.loads(self.texts[path])["created_at"])
        except (ValueError, KeyError):  # unreadable files are judged "new" (kept for a look)
            return datetime.max.replace(tzinfo=UTC)

    def delete_for(self, queue_uuid: str) -> int:
        gone = self.list(queue_uuid)
        for path in gone:
            del self.texts[path]
        return len(gone)

    def prune(self, older_than: datetime) -> int:
        old = [p for p in self.texts if self._created(p) < older_than]
        for path in old:
            del self.texts[path]
        return len(old)


class FakeClock:
    """A clock that moves ``step`` seconds every time it is read."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC), step: float = 1.0):
        self.t = 0.0
        self.start = start
        self.step = step

    def now(self) -> datetime:
        self.t += self.step
        return self.start + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        self.t += self.step
        return self.t


@attrs.define
class FakeDiskProbe:
    """Free bytes as a settable number (or a function of the path)."""

    free: int = 10**12
    asked: list[str] = attrs.field(factory=list)

    def free_bytes(self, path: str) -> int:
        self.asked.append(path)
        return self.free


class FakeExecutor:
    """Runs tasks in this thread, lazily and in submission order, inside ``as_completed``.

    Exceptions become the error of a result (like a pool); ``KeyboardInterrupt`` propagates
    (like Ctrl-C while the coordinator waits). ``submitted`` and ``cancelled`` record calls.
    """

    def __init__(self) -> None:
        self.pending: dict[int, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        self.submitted: list[tuple[Any, ...]] = []
        self.cancelled: list[int] = []
        self._ids = itertools.count()

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        handle = next(self._ids)
        self.pending[handle] = (fn, args)
        self.submitted.append(args)
        return handle

    def as_completed(
        self, handles: Iterable[int], timeout: float | None = None
    ) -> Iterator[tuple[int, Any, BaseException | None]]:
        for handle in sorted(handles):
            fn, args = self.pending.pop(handle)
            try:
                result, error = fn(*args), None
            except Exception as exc:
                result, error = None, exc
            yield handle, result, error

    def cancel(self, handles: Iterable[int]) -> None:
        for handle in handles:
            self.pending.pop(handle, None)
            self.cancelled.append(handle)

    def shutdown(self) -> None:
        self.pending.clear()
