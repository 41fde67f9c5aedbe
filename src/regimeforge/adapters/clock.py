"""``SystemClock``: the real time, behind the domain's Clock port."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SystemClock:
    """The system clock: aware UTC wall time and a monotonic counter for durations."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin (never goes backwards)."""
        return time.monotonic()
