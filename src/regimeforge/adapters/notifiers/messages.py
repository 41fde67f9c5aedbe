"""How events read in notifications: a snake_case name, one line of text, a JSON body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from regimeforge.domain.events import Event


def event_name(event: Event) -> str:
    """``QueueCompleted`` -> ``queue_completed`` (the names of ``notifications.events``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def event_payload(event: Event) -> dict[str, Any]:
    """JSON-ready body: ``{"event": name, "data": {field: value}}``."""
    fields = {f.name: _plain(getattr(event, f.name)) for f in attrs.fields(type(event))}
    return {"event": event_name(event), "data": fields}


def event_text(event: Event) -> str:
    """One readable line: the event name and its fields (long mappings abbreviated)."""
    parts = []
    for f in attrs.fields(type(event)):
        value = getattr(event, f.name)
        if isinstance(value, float):
            text = f"{value:.4g}"
        elif isinstance(value, Mapping):
            text = "{...}" if len(value) > 4 else str(_plain(value))
        else:
            text = str(value)
        parts.append(f"{f.name}={text}")
    return f"{event_name(event)}: " + ", ".join(parts)
