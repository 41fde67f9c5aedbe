"""``WebhookNotifier``: each event POSTed as JSON to a URL (``urllib``, no extra dependency).

Settings (``notifications.webhook``): ``url`` (http or https), ``timeout`` seconds (10),
``headers`` (a mapping, e.g. an authorisation token). Body: ``{"event": name, "data": {...}}``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

from regimeforge.adapters.notifiers.messages import event_payload
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.events import Event


class WebhookNotifier:
    """POSTs events as JSON."""

    name = "webhook"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.url = str(config.get("url", ""))
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(
                [
                    Problem(
                        "notifications.webhook.url",
                        f"{self.url!r} is not an http(s) URL",
                        "e.g. https://hooks.example.com/regimeforge",
                    )
                ]
            )
        self.timeout = float(config.get("timeout", 10))
        self.headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}

    def notify(self, event: Event) -> None:
        """POST the event; an HTTP error status raises (the dispatcher logs it)."""
        body = json.dumps(event_payload(event)).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **self.headers},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()
