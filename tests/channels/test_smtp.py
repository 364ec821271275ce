"""The smtp channel against a real SMTP server on localhost."""

from __future__ import annotations

import email
import socket
from email.message import Message as EmailMessage
from typing import Any

import pytest

from aftersales.channels.smtp import SmtpChannel, SmtpSettings, message_id
from aftersales.errors import RemoteRejectedError, TransientError, ValidationError
from aftersales.models import Message

SECRET_ADDRESS = "buyer.private@example.com"


def _channel(port: int) -> SmtpChannel:
    return SmtpChannel(SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com",
                                    timeout=5))


def _message(to: str = SECRET_ADDRESS, key: str = "fu-1") -> Message:
    return Message(to=to, subject="How was order A-1?", body="Did it arrive well? 满意吗？",
                   idempotency_key=key, buyer_id="b1", order_id="A-1")


def _parsed(envelope: Any) -> EmailMessage:
    return email.message_from_bytes(envelope.content)


def test_sends_one_mail_with_stable_message_id(smtp_server: tuple[Any, int]) -> None:
    recorder, port = smtp_server
    receipt = _channel(port).send(_message())
    assert len(recorder.messages) == 1
    envelope = recorder.messages[0]
    assert envelope.mail_from == "shop@example.com"
    assert envelope.rcpt_tos == [SECRET_ADDRESS]
    parsed = _parsed(envelope)
    assert parsed["Subject"] == "How was order A-1?"
    assert parsed["X-Aftersales-Idempotency-Key"] == "fu-1"
    payload = parsed.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "满意吗" in payload.decode("utf-8")
    assert receipt.channel == "smtp"
    assert receipt.message_id == parsed["Message-ID"] == message_id("fu-1", "shop@example.com")


def test_same_key_same_message_id_across_sends(smtp_server: tuple[Any, int]) -> None:
    recorder, port = smtp_server
    channel = _channel(port)
    first = channel.send(_message(key="k"))
    second = channel.send(_message(key="k"))
    third = channel.send(_message(key="other"))
    assert first.message_id == second.message_id != third.message_id
    assert len(recorder.messages) == 3


def test_5xx_recipient_is_rejected_without_leaking_address(smtp_server: tuple[Any, int]) -> None:
    recorder, port = smtp_server
    recorder.replies[SECRET_ADDRESS] = f"550 5.1.1 <{SECRET_ADDRESS}>: mailbox unavailable"
    with pytest.raises(RemoteRejectedError) as info:
        _channel(port).send(_message())
    assert info.value.code == "550"
    assert SECRET_ADDRESS not in str(info.value)
    assert info.value.__cause__ is None
    assert recorder.messages == []


def test_4xx_is_transient(smtp_server: tuple[Any, int]) -> None:
    recorder, port = smtp_server
    recorder.replies[SECRET_ADDRESS] = "451 4.3.0 try again later"
    with pytest.raises(TransientError) as info:
        _channel(port).send(_message())
    assert info.value.retryable
    assert info.value.code == "451"


def test_data_refused_5xx(smtp_server: tuple[Any, int]) -> None:
    recorder, port = smtp_server
    recorder.data_reply = "554 5.6.0 content refused"
    with pytest.raises(RemoteRejectedError, match="554"):
        _channel(port).send(_message())


def test_no_server_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(TransientError, match="connection failed"):
            _channel(port).send(_message())


@pytest.mark.parametrize("to", ["b1", "a@b.com\r\nBcc: x@y.com", "x@y.com, z@w.com", "a@", "@",
                                "@x.com", "a@b..com", "a@x.com.", "a\tb@x.com", "a\x00b@x.com",
                                "a@b@c.com", "a\u2028b@x.com"])
def test_non_email_recipient_is_rejected_before_connecting(to: str) -> None:
    with pytest.raises(RemoteRejectedError, match="not an e-mail address"):
        _channel(1).send(_message(to=to))


@pytest.mark.parametrize("subject", ["Hi Li\r\nBcc: evil@example.net", "Hi\nX-Evil: 1",
                                     "Hi\rthere", "Hi\u2028there"])
def test_line_break_in_subject_is_refused_before_connecting(
    smtp_server: tuple[Any, int], subject: str
) -> None:
    # A subject is filled from buyer data (a name); a line break in it would
    # start a header of the buyer's choosing (a Bcc:). One named error, not
    # a bare ValueError from the email package, and nothing reaches the server.
    recorder, port = smtp_server
    with pytest.raises(ValidationError, match="'subject'") as info:
        _channel(port).send(_message().model_copy(update={"subject": subject}))
    assert not info.value.retryable
    assert "evil" not in str(info.value)
    assert recorder.messages == []


@pytest.mark.parametrize("field", ["subject", "body"])
def test_text_that_is_not_unicode_is_refused_by_field(
    smtp_server: tuple[Any, int], field: str
) -> None:
    recorder, port = smtp_server
    message = _message().model_copy(update={field: "bad \udc80 bytes"})
    with pytest.raises(ValidationError, match=f"'{field}'"):
        _channel(port).send(message)
    assert recorder.messages == []


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_SMTP_HOST", "mail.internal")
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", "2525")
    monkeypatch.setenv("AFTERSALES_SMTP_PASSWORD", "hunter22")
    monkeypatch.setenv("AFTERSALES_SMTP_STARTTLS", "1")
    channel = SmtpChannel()
    assert channel.settings.host == "mail.internal"
    assert channel.settings.port == 2525
    assert channel.settings.starttls is True
    assert "hunter22" not in repr(channel.settings)


def test_dispatch_fails_a_hostile_subject_and_sends_the_rest(
    smtp_server: tuple[Any, int], tmp_path: Any
) -> None:
    # Through the follow-up service: a buyer whose name carries a header
    # (filled into the subject) used to raise a bare ValueError out of
    # dispatch_due, leaving the whole batch leased and re-raising every tick.
    from datetime import UTC, datetime

    from aftersales.app import AfterSales
    from aftersales.followups.plans import FollowUpPlan
    from aftersales.models import FollowUpStatus

    recorder, port = smtp_server
    now = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
    app = AfterSales(f"sqlite:///{tmp_path}/smtp.db", marketplaces=[], carriers=[],
                     channels=[_channel(port)], timezone="Asia/Shanghai", clock=lambda: now,
                     migrate=False)
    try:
        app.store.create_all()
        app.followups.register(FollowUpPlan(name="ask", channel="smtp",
                                            subject="How was it, {buyer.name}?",
                                            body="Dear {buyer.name}"))
        hostile = {"name": "Li\r\nBcc: evil@example.net", "email": SECRET_ADDRESS}
        bad = app.followups.schedule("ask", buyer_id="b1", context={"buyer": hostile},
                                     due_at=now).id
        good = app.followups.schedule("ask", buyer_id="b2", due_at=now, context={
            "buyer": {"name": "Wang", "email": "wang@example.com"}}).id
        report = app.followups.dispatch_due()
        assert (report.claimed, report.sent, report.failed) == (2, 1, 1)
        failed = app.followups.get(bad)
        assert failed.status is FollowUpStatus.FAILED
        assert "field 'subject'" in (failed.last_error or "")
        assert app.followups.get(good).status is FollowUpStatus.SENT
        assert [m.rcpt_tos for m in recorder.messages] == [["wang@example.com"]]
        assert all(b"evil" not in m.content for m in recorder.messages)
    finally:
        app.close()


def test_lost_answer_is_retried_with_the_same_message_id(
    smtp_server: tuple[Any, int], tmp_path: Any
) -> None:
    # The server takes the message, then drops the connection before it
    # answers DATA. The channel cannot know it was delivered: a transient
    # failure, retried along the plan's schedule with the same Message-ID
    # and idempotency key (at least once, keyed, as documented).
    from datetime import UTC, datetime, timedelta

    from aftersales.app import AfterSales
    from aftersales.followups.backoff import RetryPolicy
    from aftersales.followups.plans import FollowUpPlan
    from aftersales.models import FollowUpStatus

    recorder, port = smtp_server
    dropped: list[int] = []

    async def take_then_drop(server: Any, session: Any, envelope: Any) -> str:
        recorder.messages.append(envelope)
        if not dropped:
            dropped.append(1)
            server.transport.close()
        return "250 OK"

    recorder.handle_DATA = take_then_drop  # type: ignore[method-assign]
    clock = [datetime(2024, 6, 3, 2, 0, tzinfo=UTC)]
    app = AfterSales(f"sqlite:///{tmp_path}/lost.db", marketplaces=[], carriers=[],
                     channels=[_channel(port)], timezone="Asia/Shanghai",
                     clock=lambda: clock[0], migrate=False)
    try:
        app.store.create_all()
        app.followups.register(FollowUpPlan(
            name="ask", channel="smtp", subject="How was it?", body="Dear {buyer.name}",
            retry=RetryPolicy(max_attempts=3, initial=timedelta(minutes=10), jitter=0)))
        fid = app.followups.schedule("ask", buyer_id="b1", due_at=clock[0], context={
            "buyer": {"name": "Wang", "email": SECRET_ADDRESS}}).id
        first = app.followups.dispatch_due()
        assert (first.retried, first.sent) == (1, 0)
        assert "SMTPServerDisconnected" in (app.followups.get(fid).last_error or "")
        clock[0] += timedelta(minutes=10)
        assert app.followups.dispatch_due().sent == 1
        assert app.followups.get(fid).status is FollowUpStatus.SENT
        copies = [_parsed(m) for m in recorder.messages]
        assert len(copies) == 2
        assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
        assert copies[0]["X-Aftersales-Idempotency-Key"] == \
            copies[1]["X-Aftersales-Idempotency-Key"]
    finally:
        app.close()


def test_sigkill_between_send_and_record_resends_once_with_the_same_message_id(
    smtp_server: tuple[Any, int], tmp_path: Any
) -> None:
    # A worker process is killed after the server took the message and
    # before the follow-up was recorded sent. Once its lease runs out the
    # next worker sends it again, the same Message-ID and key (at least
    # once, keyed), records it sent, and the buyer's contact log holds the
    # message once, so the frequency cap does not count it twice.
    import signal
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from sqlalchemy import func, select

    from aftersales.app import AfterSales
    from aftersales.followups.plans import FollowUpPlan
    from aftersales.models import FollowUpStatus
    from aftersales.store.tables.followups import ContactLogRow

    recorder, port = smtp_server
    url = f"sqlite:///{tmp_path}/kill.db"
    start = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"], migrate=False,
                     clock=lambda: start, timezone="UTC")
    try:
        app.store.create_all()
        app.followups.register(FollowUpPlan(name="ask", channel="smtp",
                                            subject="How was it?", body="Dear {buyer.name}"))
        fid = app.followups.schedule("ask", buyer_id="b1", due_at=start, context={
            "buyer": {"name": "Wang", "email": SECRET_ADDRESS}}).id
        worker = str(Path(__file__).with_name("smtp_worker.py"))
        victim = subprocess.Popen([sys.executable, worker, url, str(port), start.isoformat(),
                                   "hang"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        assert victim.stdout is not None
        assert victim.stdout.readline().strip() == "sent"
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        assert app.followups.get(fid).status is FollowUpStatus.CLAIMED
        later = (start + timedelta(minutes=6)).isoformat()  # the lease has run out
        after = subprocess.run([sys.executable, worker, url, str(port), later],
                               capture_output=True, text=True, timeout=60, check=False)
        assert after.returncode == 0, after.stderr[-2000:]
        assert "claimed=1 sent=1" in after.stdout
        done = app.followups.get(fid)
        assert (done.status, done.attempts) == (FollowUpStatus.SENT, 2)
        copies = [_parsed(m) for m in recorder.messages]
        assert len(copies) == 2
        assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
        with app.store.session() as s:
            assert s.scalar(select(func.count()).select_from(ContactLogRow)) == 1
    finally:
        app.close()


def test_a_server_without_starttls_or_auth_is_the_channels_failure(
    smtp_server: tuple[Any, int],
) -> None:
    # A configuration the server cannot meet fails the channel (every message
    # would), with words that say which part: STARTTLS was reported as a
    # refused login.
    from aftersales.errors import AuthenticationError, ChannelUnavailableError

    _recorder, port = smtp_server
    tls = SmtpChannel(SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com",
                                   starttls=True, timeout=5))
    with pytest.raises(ChannelUnavailableError, match="STARTTLS"):
        tls.send(_message())
    login = SmtpChannel(SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com",
                                     username="shop", password="pw-123", timeout=5))
    with pytest.raises(AuthenticationError, match="AUTH") as raised:
        login.send(_message())
    assert "pw-123" not in str(raised.value)


def test_a_reply_dripped_past_the_deadline_is_a_lost_answer(
    smtp_server: tuple[Any, int],
) -> None:
    # Each reply line came within the socket timeout, so a server dripping
    # its DATA reply a line at a time held the send (and the worker) for as
    # long as it liked, past the follow-up's lease, when another worker
    # took the row and sent it again. A whole send now has a deadline; what
    # passes it is a lost answer (retried later under the same Message-ID).
    import threading

    recorder, port = smtp_server
    recorder.data_drip = 600  # a minute of "250-still working"
    channel = SmtpChannel(SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com",
                                       timeout=5, deadline=1))
    raised: list[BaseException] = []

    def send() -> None:
        try:
            channel.send(_message())
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the send outlived its deadline"
    (error,) = raised
    assert isinstance(error, TransientError), error
    assert "deadline" in str(error)
    assert SECRET_ADDRESS not in str(error)
    assert recorder.messages == []


def test_a_greeting_dripped_past_the_deadline_is_the_channels_failure() -> None:
    # Nothing was sent yet: a server that never finishes its greeting is
    # the channel's state (the queue is kept), not the message's.
    import threading
    import time

    from aftersales.errors import ChannelUnavailableError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    hung_up = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            try:
                for _ in range(600):  # a minute of "220-" lines
                    conn.sendall(b"220-still starting\r\n")
                    time.sleep(0.1)
            except OSError:
                hung_up.set()

    server = threading.Thread(target=drip, daemon=True)
    server.start()
    channel = SmtpChannel(SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com",
                                       timeout=5, deadline=1))
    try:
        with pytest.raises(ChannelUnavailableError, match="deadline"):
            channel.send(_message())
        assert hung_up.wait(timeout=30)  # the client hung up on the server
    finally:
        listener.close()
