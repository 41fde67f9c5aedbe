"""``LogNotifier``: events as log lines on the ``regimeforge.events`` logger."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from regimeforge.adapters.notifiers.messages import event_text
from regimeforge.domain.events import Event


class LogNotifier:
    """Logs each event it is given at ``level`` (settings ``notifications.log.level``)."""

    name = "log"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        config = config or {}
        level = config.get("level", "INFO")
        self.level = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
        if not isinstance(self.level, int):
            self.level = logging.INFO
        self.logger = logging.getLogger(str(config.get("logger", "regimeforge.events")))

    def notify(self, event: Event) -> None:
        """Write one line for ``event``."""
        self.logger.log(self.level, "%s", event_text(event))
