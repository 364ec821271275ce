"""The ``smtp`` channel: follow-ups by e-mail through any SMTP server.

Each message gets a ``Message-ID`` derived from its idempotency key, so a
message sent twice after a crash carries the same id and mail clients and
archives can fold the copies; the channel itself cannot see what the server
delivered before a dropped connection.

Failures are classified by the SMTP reply code: a 4xx reply, a timeout or a
dropped connection is a :class:`~aftersales.errors.TransientError` (try
again later); a 5xx reply or an address that is not an e-mail address is a
:class:`~aftersales.errors.RemoteRejectedError`. Server replies often echo
the recipient, so they are redacted before they reach an error message.

Failures that are the channel's, not the message's, say so: a server that
cannot be reached or refuses the connection, STARTTLS or the sender, or
answers 421 (closing its service) to any command, is a
:class:`~aftersales.errors.ChannelUnavailableError`, and a refused login
(535) an :class:`~aftersales.errors.AuthenticationError`. Their texts hold
the reply code and the exception's type only, never the server's words
(which may echo the login) nor the settings.

A subject is often filled from buyer data (a name), so a line break in it
would start a header of the buyer's choosing (``Bcc:``): such a subject,
and text that cannot be encoded (lone surrogates), is refused with a
:class:`~aftersales.errors.ValidationError` naming the field before any
connection is made. Neither is retryable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import smtplib
import socket
import ssl
import time
import unicodedata
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError

from aftersales.envnames import unknown_variable
from aftersales.errors import (
    AuthenticationError,
    ChannelUnavailableError,
    ConfigurationError,
    RemoteRejectedError,
    TransientError,
    ValidationError,
)
from aftersales.http_deadline import Watch, watch
from aftersales.interfaces import ChannelBase
from aftersales.models import Message, Receipt
from aftersales.redact import redact_text

__all__ = ["SmtpChannel", "SmtpSettings"]


class SmtpSettings(BaseModel):
    """Where and how to reach the SMTP server.

    From the environment (:meth:`from_env`): ``AFTERSALES_SMTP_HOST``,
    ``_PORT``, ``_SENDER``, ``_USERNAME``, ``_PASSWORD``, ``_STARTTLS``
    (``1``/``0``), ``_SSL``, ``_TIMEOUT`` and ``_DEADLINE``.

    ``timeout`` bounds each wait for the server; ``deadline`` the whole
    send, connection to reply, however the server paces its bytes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="localhost", description="the SMTP server")
    port: int = Field(default=25, ge=1, le=65535, description="the SMTP server's port")
    sender: str = Field(default="no-reply@localhost", description="the From address")
    username: str | None = Field(default=None, description="the SMTP login")
    password: SecretStr | None = Field(default=None, description="the SMTP password")
    starttls: bool = Field(default=False, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(default=False, description="connect over TLS from the start")
    timeout: float = Field(default=10.0, gt=0, description="seconds to wait for the server")
    deadline: float = Field(default=120.0, gt=0, le=3600,
                            description="seconds one whole send may take (keep it under the "
                                        "follow-ups lease)")

    @classmethod
    def from_env(cls) -> SmtpSettings:
        """Settings from ``AFTERSALES_SMTP_*`` variables, defaults for the rest.

        Raises:
            ConfigurationError: a variable no setting reads (a misspelt
                password variable would leave the password unset without a
                word), named with the closest known one, by the
                app settings' own words; or a bad value, naming the
                variable and never the value (it may be the password).
        """
        prefix = "AFTERSALES_SMTP_"
        mine = {k: v for k, v in os.environ.items() if k.upper().startswith(prefix)}
        known = [prefix + field.upper() for field in cls.model_fields]
        for name in sorted(mine):
            if name.upper() not in known:
                raise unknown_variable(name, known)
        try:
            return cls.model_validate({k[len(prefix):].lower(): v for k, v in mine.items()})
        except PydanticValidationError as exc:
            names = sorted({prefix + str(e["loc"][0]).upper() for e in exc.errors() if e["loc"]})
            raise ConfigurationError(
                f"smtp: invalid {', '.join(names) or 'settings'} (value not shown)") from None


#: One ``local@domain`` address: no spaces, controls, quotes or list separators,
#: a domain of non-empty dot-separated labels.
_ATOM = r"[^\s\x00-\x1f\x7f<>()\[\].,;:\\\"@]+"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*\Z")


def _is_address(value: str) -> bool:
    return bool(_ADDRESS.match(value)) and value.isprintable()


def _check_text(message: Message) -> None:
    """Refuse a subject that would break the header block, or text that cannot be sent."""
    for name in ("subject", "body"):
        value: str = getattr(message, name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("the text is not valid Unicode (a lone surrogate)",
                                  field=name, payload="smtp message") from None
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") and c != "\t"
           for c in message.subject):
        raise ValidationError("a subject cannot hold a line break or a control character",
                              field="subject", payload="smtp message")


def message_id(idempotency_key: str, sender: str) -> str:
    """The stable ``Message-ID`` of the message with this idempotency key."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


class SmtpChannel(ChannelBase):
    """Sends each message as one e-mail; ``message.to`` is the buyer's address.

    Args:
        settings: the server; read from the environment when omitted.
        name: the channel's name (default ``smtp``).
    """

    name = "smtp"

    def __init__(self, settings: SmtpSettings | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.settings = settings or SmtpSettings.from_env()

    def _build(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message_id(message.idempotency_key, self.settings.sender)
        email["X-Aftersales-Idempotency-Key"] = message.idempotency_key
        email.set_content(message.body)
        for item in message.attachments:
            maintype, _, subtype = item.content_type.partition("/")
            if maintype == "text":
                email.add_attachment(item.content, subtype=subtype or "plain",
                                     filename=item.filename)
            else:
                email.add_attachment(item.content.encode(), maintype=maintype or "application",
                                     subtype=subtype or "octet-stream", filename=item.filename)
        return email

    def _connect(self) -> smtplib.SMTP:
        """A logged-in connection, or the channel's own failure (nothing was sent).

        Raises:
            ChannelUnavailableError: the server cannot be reached, or refuses
                the connection or STARTTLS.
            AuthenticationError: the server refuses the login.
        """
        s = self.settings
        client: smtplib.SMTP | None = None
        end = time.monotonic() + s.deadline
        try:
            if s.ssl:
                client = _WatchedSmtpSsl(end, timeout=s.timeout,
                                         context=ssl.create_default_context())
            else:
                client = _WatchedSmtp(end, timeout=s.timeout)
            client.connect(s.host, s.port)
            if s.starttls and not s.ssl:
                try:
                    client.starttls(context=ssl.create_default_context())
                except smtplib.SMTPNotSupportedError:
                    _close(client)
                    raise ChannelUnavailableError("the SMTP server does not offer STARTTLS",
                                                  adapter=self.name) from None
            if s.username:
                secret = s.password.get_secret_value() if s.password else ""
                client.login(s.username, secret)
            return client
        # ``from None``: the server's words may echo the login.
        except smtplib.SMTPNotSupportedError:
            _close(client)
            raise AuthenticationError("the SMTP server does not offer AUTH (a login is "
                                      "configured)", adapter=self.name) from None
        except smtplib.SMTPAuthenticationError as exc:
            _close(client)
            raise AuthenticationError(
                f"SMTP {exc.smtp_code}: the server refused the login", adapter=self.name,
                code=str(exc.smtp_code)) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(client)
            if _fired(client):
                raise ChannelUnavailableError(
                    f"the SMTP server did not let a connection start within the "
                    f"{s.deadline:g} s deadline", adapter=self.name) from None
            code = getattr(exc, "smtp_code", None)
            raise ChannelUnavailableError(
                f"SMTP connection failed: {type(exc).__name__}"
                + (f" {code}" if isinstance(code, int) else ""), adapter=self.name,
                code=str(code) if isinstance(code, int) else None) from None

    def send(self, message: Message) -> Receipt:
        """Deliver ``message`` to ``message.to`` by e-mail.

        Raises:
            TransientError: a 4xx reply, a timeout or a lost connection.
            RemoteRejectedError: a 5xx reply, or ``to`` is not an e-mail address.
            ChannelUnavailableError: the server cannot be reached, refuses
                the connection, STARTTLS or the sender, or answers 421 (no
                message can go).
            AuthenticationError: the server refuses the login.
            ValidationError: the subject holds a line break or a control
                character, or the subject or body is not valid Unicode.
        """
        if not _is_address(message.to):
            raise RemoteRejectedError("recipient is not an e-mail address", adapter=self.name)
        _check_text(message)
        try:
            email = self._build(message)
        except (ValueError, TypeError, LookupError) as exc:  # an attachment it refuses
            raise ValidationError(f"the message cannot be written as an e-mail: "
                                  f"{type(exc).__name__}", payload="smtp message") from None
        client = self._connect()
        try:
            try:
                refused = client.send_message(email)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
                _unwatch(client)
        # ``from None`` throughout: smtplib's exceptions carry the recipient
        # address, which must not reach a traceback in someone's log.
        except smtplib.SMTPSenderRefused as exc:  # the shop's From address, every message
            raise ChannelUnavailableError(f"SMTP {exc.smtp_code}: the server refused the sender",
                                          adapter=self.name, code=str(exc.smtp_code)) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if _CLOSING in codes:
                raise self._closing() from None
            raise self._error(min(codes) if codes else 550, "recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == _CLOSING:
                raise self._closing() from None
            reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise self._error(exc.smtp_code, reply) from None
        except (smtplib.SMTPException, OSError) as exc:
            if _fired(client):  # what the server did with the message is unknown
                raise TransientError(
                    f"the SMTP server did not answer within the {self.settings.deadline:g} s "
                    "deadline", adapter=self.name) from None
            raise TransientError(
                f"SMTP connection failed: {type(exc).__name__}", adapter=self.name
            ) from None
        if refused:
            codes = [code for code, _ in refused.values()]
            raise self._error(min(codes), "recipient refused")
        return Receipt(
            channel=self.name,
            message_id=str(email["Message-ID"]),
            accepted_at=datetime.now(UTC),
        )

    def _closing(self) -> ChannelUnavailableError:
        return ChannelUnavailableError(
            f"SMTP {_CLOSING}: the server is closing its service", adapter=self.name,
            code=str(_CLOSING))

    def _error(self, code: int, reply: str) -> TransientError | RemoteRejectedError:
        text = redact_text(f"SMTP {code}: {reply}")[:300]
        if 400 <= code < 500:
            return TransientError(text, adapter=self.name, code=str(code))
        return RemoteRejectedError(text, adapter=self.name, code=str(code))


#: "Service not available, closing transmission channel": the server's state,
#: which RFC 5321 (4.2.3) lets it answer to any command, not the message's.
_CLOSING = 421


def _close(client: smtplib.SMTP | None) -> None:
    """Drop a half-open connection without waiting on the server."""
    if client is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.close()
        _unwatch(client)


class _Deadline:
    """A connection whose socket the core's deadline watchdog shuts at ``end``.

    A socket timeout bounds each wait for a byte; a server that keeps
    sending a little (a reply dripped line by line) never trips it. The
    watchdog (:mod:`aftersales.http_deadline`) shuts the socket down at the
    send's deadline, so the blocked read ends and the send fails.
    """

    _end: float
    _watch: Watch | None = None

    def _watched(self, sock: socket.socket) -> socket.socket:
        self._watch = watch(sock, self._end)
        return sock

    def starttls(self, *args: Any, **kwargs: Any) -> Any:
        """STARTTLS, then the TLS socket watched in place of the plain one it replaced."""
        answer = super().starttls(*args, **kwargs)  # type: ignore[misc]
        if self._watch is not None:
            self._watch.cancel()
            self._watched(self.sock)  # type: ignore[attr-defined]
        return answer


class _WatchedSmtp(_Deadline, smtplib.SMTP):
    def __init__(self, end: float, **kwargs: Any) -> None:
        self._end = end
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._watched(super()._get_socket(host, port, timeout))  # type: ignore[misc]


class _WatchedSmtpSsl(_Deadline, smtplib.SMTP_SSL):
    def __init__(self, end: float, **kwargs: Any) -> None:
        self._end = end
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._watched(super()._get_socket(host, port, timeout))  # type: ignore[misc]


def _fired(client: smtplib.SMTP | None) -> bool:
    """True when ``client``'s deadline passed and its socket was shut down."""
    found = getattr(client, "_watch", None)
    return bool(found is not None and found.fired)


def _unwatch(client: smtplib.SMTP) -> None:
    found = getattr(client, "_watch", None)
    if found is not None:
        found.cancel()
