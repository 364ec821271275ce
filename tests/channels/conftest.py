"""A real SMTP server (aiosmtpd) on localhost for the channel tests, with or without a login."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

#: The one login the ``smtp_login_server`` fixture accepts.
LOGIN, PASSWORD = "shop-login", "the-right-password"


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message and refuses chosen recipients
    (or, with ``mail_reply``, the sender); ``logins`` counts the connections that
    tried to log in (a client may try two mechanisms on one)."""

    messages: list[Any] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)  # recipient -> RCPT reply
    data_reply: str = "250 Message accepted for delivery"
    mail_reply: str = ""  # a MAIL FROM reply refusing the sender, e.g. "553 …"
    mail_attempts: int = 0
    login_peers: set[Any] = field(default_factory=set)
    data_drip: int = 0  # continuation lines sent, 0.1 s apart, before the DATA reply
    hung_up: bool = False  # the client hung up while the reply dripped

    @property
    def logins(self) -> int:
        return len(self.login_peers)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: Any) -> str:
        self.mail_attempts += 1
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        self.login_peers.add(session.peer)
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == LOGIN and auth_data.password.decode() == PASSWORD)
        return AuthResult(success=ok, handled=False)  # False: the server answers 535

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        reply = self.replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for _ in range(self.data_drip):  # a reply dripped line by line ("250-…")
            try:
                await server.push("250-still working")
            except (ConnectionError, OSError):
                self.hung_up = True
                return self.data_reply
            await asyncio.sleep(0.1)
            if server.transport is None or server.transport.is_closing():
                self.hung_up = True
                return self.data_reply
        if self.data_reply.startswith("250"):
            self.messages.append(envelope)
        return self.data_reply


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    """(recorder, port) of an SMTP server running on 127.0.0.1 for one test."""
    recorder = Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


@pytest.fixture
def smtp_login_server() -> Iterator[tuple[Recorder, int]]:
    """(recorder, port) of an SMTP server that wants the login ``LOGIN``/``PASSWORD``
    (plain AUTH without TLS, on 127.0.0.1 only) and answers 535 to any other."""
    recorder = Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            authenticator=recorder.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()
