"""A real SMTP server for the tests (pytest plugin: ``pytest_plugins = ["tests.smtp"]``).

The ``smtp_server`` fixture runs aiosmtpd on 127.0.0.1 at a free port and
collects every message it receives, parsed as :class:`email.message.EmailMessage`.
``stop()`` and ``start()`` take the server down and bring it back on the same
port, so that a test can play "the SMTP server is down, then back".
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it for a bound socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _Collector:
    """aiosmtpd handler: keeps each message and its envelope recipients."""

    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.server._received(message, list(envelope.rcpt_tos), envelope.mail_from)
        return "250 Message accepted for delivery"


class SMTPServer:
    """A running SMTP server: ``host``, ``port``, ``messages`` (EmailMessage list),
    ``envelopes`` (``(mail_from, rcpt_tos)`` per message)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._condition = threading.Condition()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (again) on the same host and port; a no-op when running."""
        if self._controller is not None:
            return
        controller = Controller(_Collector(self), hostname=self.host, port=self.port, ready_timeout=5)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._condition:
            self.messages.clear()
            self.envelopes.clear()

    def wait_for(self, count: int, timeout: float = 5) -> list[EmailMessage]:
        """Wait until at least ``count`` messages have arrived; return them all.

        Raises AssertionError after ``timeout`` seconds, naming how many arrived.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} message(s) at the SMTP server, got {len(self.messages)} in {timeout}s"
                    )
                self._condition.wait(remaining)
            return list(self.messages)

    def _received(self, message: EmailMessage, rcpt_tos: list[str], mail_from: str) -> None:
        with self._condition:
            self.messages.append(message)
            self.envelopes.append((mail_from, rcpt_tos))
            self._condition.notify_all()


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1 at a free port, stopped after the test."""
    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
