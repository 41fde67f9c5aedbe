"""Fan domain events out to observers (CLI, lifecycle hooks, notifiers), isolating failures.

``EventDispatcher`` is the ``events`` callable a ``QueueRunner`` takes: every observer sees every
event, and an observer that raises is logged and skipped, never stopping the queue.
``NotifierObserver`` passes the events named in ``notifications.events`` (``"all"`` for every
one) to the enabled channels; ``build_notifiers`` makes those channels from the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from regimeforge.adapters.notifiers.messages import event_name, event_text
from regimeforge.domain.errors import PluginError
from regimeforge.domain.events import (
    ArtifactDeleteFailed,
    CheckpointRejected,
    DiskSpaceWarning,
    Event,
)
from regimeforge.domain.ports import Notifier

log = logging.getLogger("regimeforge.events")

#: Events that always deserve a warning in the log, whatever the notification settings say.
WARNINGS: tuple[type[Event], ...] = (ArtifactDeleteFailed, CheckpointRejected, DiskSpaceWarning)

Observer = Callable[[Event], None]


class EventDispatcher:
    """Calls every observer with every event; errors are logged, never raised."""

    def __init__(self, observers: Iterable[Observer] = ()) -> None:
        self.observers: list[Observer] = list(observers)

    def add(self, observer: Observer) -> None:
        """Add an observer (called after the ones before it)."""
        self.observers.append(observer)

    def __call__(self, event: Event) -> None:
        if isinstance(event, WARNINGS):
            log.warning("%s", event_text(event))
        for observer in self.observers:
            try:
                observer(event)
            except Exception:
                log.exception("an observer failed on %s (the queue goes on)", event_name(event))


class NotifierObserver:
    """Sends the chosen events to every notifier; one failing channel does not stop the others."""

    def __init__(self, notifiers: Sequence[Notifier], events: Iterable[str]) -> None:
        self.notifiers = list(notifiers)
        names = {str(e) for e in events}
        self.everything = bool(names & {"all", "*"})
        self.events = names

    def wants(self, event: Event) -> bool:
        """Whether ``event`` is one of the configured events."""
        return self.everything or event_name(event) in self.events

    def __call__(self, event: Event) -> None:
        if not self.wants(event):
            return
        for notifier in self.notifiers:
            try:
                notifier.notify(event)
            except Exception as exc:
                log.warning("notifier %s failed on %s: %s", notifier.name, event_name(event), exc)


def build_notifiers(
    descriptors: Mapping[str, Any], notifications: Mapping[str, Any]
) -> NotifierObserver:
    """The enabled channels of the ``notifications`` settings, made by their plugins.

    ``descriptors`` is the plugin registry's ``notifiers`` dict; a channel that is enabled but
    has no notifier plugin of that name is a PluginError naming the known ones.
    """
    notifiers = []
    for channel, block in notifications.items():
        if channel == "events" or not isinstance(block, Mapping) or not block.get("enabled"):
            continue
        if channel not in descriptors:
            known = ", ".join(sorted(descriptors)) or "none"
            raise PluginError(
                f"notifications.{channel}: no notifier named {channel!r}; known: {known}"
            )
        notifiers.append(descriptors[channel].factory(block))
    return NotifierObserver(notifiers, notifications.get("events", ()))
