"""Model files a dead coordinator left behind, removed by ``regimeforge recover``.

A coordinator killed between a worker writing a model file and the commit that records it (or
in the middle of a write) leaves a file no run names: the database never heard of it, so
resuming cannot delete it. ``remove_orphan_files`` removes such files, and unfinished temporary
writes, after the crashed queues were resumed.

It is careful because a file not yet recorded may belong to a coordinator that is alive: it
does nothing while any queue of the database is running, and it only touches files last
modified before ``written_before`` (the start of the ``recover`` command), under
``artifacts_dir``, with the artifact store's own names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from regimeforge.domain.ports import RunFilter
from regimeforge.domain.states import QueueStatus

_SHARD = re.compile(r"[0-9a-f]{2}")


def remove_orphan_files(ws: Any, *, written_before: float) -> tuple[int, int]:
    """Delete model files no kept run names (see the module docstring); (files, bytes)."""
    with ws.uow() as uow:
        if any(q.status is QueueStatus.RUNNING for q in uow.queues.list()):
            return 0, 0
        kept = RunFilter(kept=True)
        named = {r.model_file_path for r in uow.runs.list(kept, limit=max(1, uow.runs.count(kept)))}
    root = Path(ws.settings.artifacts_dir)
    files = removed = 0
    for folder in root.iterdir() if root.is_dir() else ():
        if not (folder.is_dir() and _SHARD.fullmatch(folder.name)):
            continue
        ours = re.compile(folder.name + r"[0-9a-f]{30}(\.[a-z0-9]{1,16})?(\.tmp-[0-9a-f]+)?")
        for path in folder.iterdir():
            if not ours.fullmatch(path.name) or f"{folder.name}/{path.name}" in named:
                continue
            stat = path.lstat()
            if path.is_file() and stat.st_mtime < written_before:
                path.unlink(missing_ok=True)
                files, removed = files + 1, removed + stat.st_size
    return files, removed
