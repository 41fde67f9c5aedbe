"""Built-in notifiers plugin: ``log``, ``email`` (SMTP) and ``webhook`` (JSON POST).

The names are the channel keys of the ``notifications`` settings block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regimeforge.domain.ports import Notifier
from regimeforge.plugins.descriptors import NotifierDescriptor
from regimeforge.plugins.hookspecs import hookimpl


def _log(config: Mapping[str, Any]) -> Notifier:
    from regimeforge.adapters.notifiers.log import LogNotifier

    return LogNotifier(config)


def _email(config: Mapping[str, Any]) -> Notifier:
    from regimeforge.adapters.notifiers.smtp import SmtpNotifier

    return SmtpNotifier(config)


def _webhook(config: Mapping[str, Any]) -> Notifier:
    from regimeforge.adapters.notifiers.webhook import WebhookNotifier

    return WebhookNotifier(config)


@hookimpl
def register_notifiers() -> list[NotifierDescriptor]:
    """The log, e-mail and webhook notifiers."""
    return [
        NotifierDescriptor("log", _log, "Log lines on the regimeforge.events logger"),
        NotifierDescriptor("email", _email, "One e-mail per event through an SMTP server"),
        NotifierDescriptor("webhook", _webhook, "Each event POSTed as JSON to a URL"),
    ]
