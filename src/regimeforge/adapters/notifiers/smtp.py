"""``SmtpNotifier``: one e-mail per event, through an SMTP server (``smtplib``).

Settings (``notifications.email``): ``host``, ``port`` (25), ``sender``, ``to`` (a list or one
address), ``username``/``password`` (optional, after STARTTLS when ``starttls``), ``timeout``
seconds (10), ``subject_prefix`` ("[RegimeForge]"). The body is the event as text and JSON.
"""

from __future__ import annotations

import json
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from regimeforge.adapters.notifiers.messages import event_name, event_payload, event_text
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.domain.events import Event


class SmtpNotifier:
    """Sends events as e-mails."""

    name = "email"

    def __init__(self, config: Mapping[str, Any]) -> None:
        to = config.get("to") or config.get("recipients") or []
        self.recipients = [to] if isinstance(to, str) else [str(a) for a in to]
        self.host = str(config.get("host", "localhost"))
        self.port = int(config.get("port", 25))
        self.sender = str(config.get("sender", config.get("from", "regimeforge@localhost")))
        self.username = config.get("username")
        self.password = config.get("password")
        self.starttls = bool(config.get("starttls", False))
        self.timeout = float(config.get("timeout", 10))
        self.prefix = str(config.get("subject_prefix", "[RegimeForge]"))
        if not self.recipients:
            raise ConfigError(
                [Problem("notifications.email.to", "no recipient", "list at least one address")]
            )

    def message(self, event: Event) -> EmailMessage:
        """The e-mail for ``event``."""
        mail = EmailMessage()
        mail["Subject"] = f"{self.prefix} {event_name(event).replace('_', ' ')}"
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        body = json.dumps(event_payload(event), indent=2)
        mail.set_content(f"{event_text(event)}\n\n{body}\n")
        return mail

    def notify(self, event: Event) -> None:
        """Send one e-mail (OSError / smtplib errors propagate to the dispatcher, which logs)."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            if self.starttls:
                server.starttls()
            if self.username:
                server.login(str(self.username), str(self.password or ""))
            server.send_message(self.message(event))
