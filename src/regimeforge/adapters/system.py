"""The host: free disk space (the DiskProbe port), whether a process lives, this host's name."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path


class ShutilDiskProbe:
    """Free bytes of the file system holding a folder (``shutil.disk_usage``).

    A folder that does not exist yet is measured at its nearest existing parent, so a new
    workspace's ``artifacts/`` can be checked before the first model is written.
    """

    def free_bytes(self, path: str) -> int:
        """Bytes available to this process on the file system of ``path``."""
        where = Path(path).resolve()
        while not where.exists() and where != where.parent:
            where = where.parent
        return int(shutil.disk_usage(where).free)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (signal 0 probes without touching it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is just not ours
        return True
    except OSError:
        return False
    return True


def hostname() -> str:
    """This host's name, as recorded on queues and claims for crash detection."""
    return socket.gethostname() or "localhost"
