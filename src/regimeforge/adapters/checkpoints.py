"""``JsonCheckpointStore``: checkpoint files under ``checkpoints_dir`` (the CheckpointStore port).

One file per checkpoint, ``<queue_uuid>-<UTC time>.json`` (compact canonical JSON, as the domain's
``CheckpointDocument`` gives it), written atomically (a temporary file
in the same folder, flushed and fsynced, then ``os.replace`` and an fsync of the folder), so a
crash leaves the old file or the new one, never half of one. ``load`` refuses (CheckpointError)
anything unreadable, truncated, of another version or failing its checksum; the caller then
uses the database state. ``keep_latest`` deletes all but a queue's newest files (a long queue
writes one every ``auto_checkpoint_interval`` models), ``prune`` those past an age.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regimeforge.domain.errors import CheckpointError
from regimeforge.domain.usecases.checkpoints import CheckpointDocument, validate_checkpoint

_NAME = re.compile(r"^(?P<queue>.+)-(?P<stamp>\d{8}T\d{6}\d{6}Z)(?:-\d+)?\.json$")
_STAMP = "%Y%m%dT%H%M%S%fZ"


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old content or the new, never a part."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


class JsonCheckpointStore:
    """Checkpoint JSON files in one folder (created on first save)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def save(self, checkpoint: CheckpointDocument | Mapping[str, Any]) -> str:
        """Write a checkpoint (a document, or a payload as canonical JSON); returns its path."""
        if not isinstance(checkpoint, CheckpointDocument):
            checkpoint = CheckpointDocument.of(checkpoint)
        self.folder.mkdir(parents=True, exist_ok=True)
        created = _parse_time(checkpoint.created_at) or datetime.now(UTC)
        base = f"{checkpoint.queue_uuid}-{created.astimezone(UTC).strftime(_STAMP)}"
        path = self.folder / f"{base}.json"
        n = 1
        while path.exists():  # two checkpoints in the same microsecond keep both
            path = self.folder / f"{base}-{n}.json"
            n += 1
        write_atomically(path, checkpoint.text + "\n")
        return str(path)

    def load(self, path: str) -> dict[str, Any]:
        """Read and verify; CheckpointError on corrupt, truncated or wrong-version files."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CheckpointError(f"{path}: no such checkpoint file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{path}: cannot be read ({exc})") from None
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CheckpointError(
                f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} (the file is "
                "truncated or corrupt); the database state will be used instead"
            ) from None
        validate_checkpoint(payload, source=path)
        loaded: dict[str, Any] = payload
        return loaded

    def list(self, queue_uuid: str | None = None) -> list[str]:
        """Checkpoint paths, newest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            match = _NAME.match(path.name)
            if match and queue_uuid in (None, match["queue"]):
                found.append((match["stamp"], path.name, str(path)))
        return [p for *_, p in sorted(found, reverse=True)]

    def latest(self, queue_uuid: str) -> str | None:
        """The newest checkpoint of a queue, if any."""
        found = self.list(queue_uuid)
        return found[0] if found else None

    def delete_for(self, queue_uuid: str) -> int:
        """Delete a queue's checkpoints; returns how many."""
        paths = self.list(queue_uuid)
        for path in paths:
            Path(path).unlink(missing_ok=True)
        return len(paths)

    def keep_latest(self, queue_uuid: str, keep: int) -> int:
        """Delete all but the ``keep`` newest checkpoints of a queue; returns how many went."""
        old = self.list(queue_uuid)[max(keep, 1) :]
        for path in old:
            Path(path).unlink(missing_ok=True)
        return len(old)

    def prune(self, older_than: datetime) -> int:
        """Delete checkpoints (of any queue) written before ``older_than``; returns how many."""
        gone = 0
        for path in self.list():
            match = _NAME.match(Path(path).name)
            stamp = datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC) if match else None
            if stamp is not None and stamp < older_than:
                Path(path).unlink(missing_ok=True)
                gone += 1
        return gone


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
