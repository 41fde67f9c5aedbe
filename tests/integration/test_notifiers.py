"""Notifiers against real local servers: an aiosmtpd SMTP server and an http.server webhook."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from aiosmtpd.controller import Controller

from regimeforge.adapters.notifiers.dispatch import EventDispatcher, build_notifiers
from regimeforge.adapters.notifiers.log import LogNotifier
from regimeforge.adapters.notifiers.messages import event_name, event_payload
from regimeforge.adapters.notifiers.smtp import SmtpNotifier
from regimeforge.adapters.notifiers.webhook import WebhookNotifier
from regimeforge.domain.errors import ConfigError, PluginError
from regimeforge.domain.events import (
    ArtifactDeleteFailed,
    QueueCompleted,
    RegimeImproved,
    RunStarted,
)
from regimeforge.plugins.manager import get_plugin_manager

IMPROVED = RegimeImproved("calm_ranging", "run1", "bt1", 1, 1.5, 1.0, 0.5, 50.0)
DONE = QueueCompleted("q1", {"trained": 3, "kept": 1})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler protocol
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict, str]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.path, json.loads(body), self.headers.get("X-Token", "")))
        self.send_response(Hook.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received, Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/rf"
    finally:
        server.shutdown()
        server.server_close()


def test_email_reaches_the_smtp_server(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    notifier = SmtpNotifier(
        {"host": "127.0.0.1", "port": port, "sender": "rf@lab", "to": ["quant@lab", "ops@lab"]}
    )
    notifier.notify(IMPROVED)
    assert len(inbox.messages) == 1
    sender, recipients, content = inbox.messages[0]
    assert sender == "rf@lab" and recipients == ["quant@lab", "ops@lab"]
    mail = message_from_bytes(content)
    assert mail["Subject"] == "[RegimeForge] regime improved"
    assert "calm_ranging" in mail.get_payload() and '"percent": 50.0' in mail.get_payload()


def test_email_needs_a_recipient() -> None:
    with pytest.raises(ConfigError, match="no recipient"):
        SmtpNotifier({"host": "127.0.0.1"})


def test_webhook_posts_json(webhook: str) -> None:
    WebhookNotifier({"url": webhook, "headers": {"X-Token": "s3cret"}}).notify(DONE)
    path, body, token = Hook.received[0]
    assert path == "/hooks/rf" and token == "s3cret"
    assert body == {
        "event": "queue_completed",
        "data": {"queue_uuid": "q1", "statistics": {"trained": 3, "kept": 1}},
    }


def test_webhook_refuses_a_non_http_url() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        WebhookNotifier({"url": "file:///etc/passwd"})


def test_settings_choose_channels_and_events(smtp: tuple[Inbox, int], webhook: str) -> None:
    inbox, port = smtp
    registry = get_plugin_manager(entry_points=False)
    observer = build_notifiers(
        registry.notifiers,
        {
            "events": ["queue_completed", "regime_improved"],
            "log": {"enabled": False},
            "email": {"enabled": True, "host": "127.0.0.1", "port": port, "to": "q@lab"},
            "webhook": {"enabled": True, "url": webhook},
        },
    )
    dispatch = EventDispatcher([observer])
    for event in (DONE, RunStarted("q1", "r1", 0, 3, {}), IMPROVED):
        dispatch(event)
    assert [b["event"] for _, b, _ in Hook.received] == ["queue_completed", "regime_improved"]
    assert len(inbox.messages) == 2


def test_a_failing_channel_is_logged_and_the_others_still_run(
    webhook: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = get_plugin_manager(entry_points=False)
    observer = build_notifiers(
        registry.notifiers,
        {
            "events": ["all"],
            "email": {
                "enabled": True,
                "host": "127.0.0.1",
                "port": free_port(),
                "to": "q@lab",
                "timeout": 2,
            },
            "webhook": {"enabled": True, "url": webhook},
        },
    )
    with caplog.at_level(logging.WARNING, logger="regimeforge.events"):
        EventDispatcher([observer])(DONE)
    assert "notifier email failed on queue_completed" in caplog.text
    assert [b["event"] for _, b, _ in Hook.received] == ["queue_completed"]


def test_an_unknown_channel_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match="no notifier named 'pager'"):
        build_notifiers({}, {"pager": {"enabled": True}})


def test_log_notifier_and_dispatcher_warnings(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("observer bug")

    seen = []
    dispatch = EventDispatcher([broken, seen.append])
    with caplog.at_level(logging.INFO, logger="regimeforge.events"):
        LogNotifier({"level": "info"}).notify(IMPROVED)
        dispatch(ArtifactDeleteFailed("run1", "model.bin", "PermissionError: denied"))
    assert "regime_improved: regime_name=calm_ranging" in caplog.text
    assert "artifact_delete_failed" in caplog.text and "observer failed" in caplog.text
    assert len(seen) == 1  # the broken observer did not stop the next one


def test_payloads_name_events_in_snake_case() -> None:
    assert event_name(DONE) == "queue_completed"
    assert event_payload(IMPROVED)["data"]["previous_score"] == 1.0
