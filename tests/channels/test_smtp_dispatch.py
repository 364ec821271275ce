"""Follow-ups through a real SMTP server that fails as a whole: the queue is kept, the run stops.

A refused login (535), a refused sender or a server out of reach is the
shop's configuration or the server's state, not a bad follow-up: none is
failed, each waits for the plan's retry wait for the channel's consecutive
failures (growing, at most ``max_delay``), no attempt counted, and a shop
that fixes its password gets its whole queue sent. A refused recipient
(550) stays the follow-up's own.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.app import AfterSales
from aftersales.channels.smtp import SmtpChannel, SmtpSettings
from aftersales.cli_support import CliState
from aftersales.followups import repository as repo
from aftersales.followups.backoff import RetryPolicy
from aftersales.followups.cli import group
from aftersales.followups.plans import FollowUpPlan
from aftersales.models import FollowUpStatus

from .conftest import LOGIN, PASSWORD

WRONG = "an-old-password-5f3a"
START = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PLAN = FollowUpPlan(name="ask", channel="smtp", subject="How was it?", body="Dear {buyer.name}",
                    retry=RetryPolicy(max_attempts=2, initial=timedelta(minutes=10),
                                      max_delay=timedelta(minutes=30), jitter=0))


class _App:
    """An app whose only channel is SMTP to ``port``, on a clock the test moves."""

    def __init__(self, url: str, port: int, password: str | None = None,
                 **options: Any) -> None:
        self.now = START
        self.channel = SmtpChannel(_settings(port, password))
        self.app = AfterSales(url, marketplaces=[], carriers=[],
                              channels=[self.channel], timezone="Asia/Shanghai",
                              clock=lambda: self.now, migrate=False, **options)
        self.app.store.create_all()
        self.app.followups.register(PLAN)

    def schedule(self, n: int, to: str = "buyer{}@example.com") -> list[int]:
        return [self.app.followups.schedule("ask", buyer_id=to.format(i), due_at=self.now, context={
            "buyer": {"name": f"Buyer {i}", "email": to.format(i)}}).id for i in range(n)]

    def rows(self) -> list[Any]:
        return self.app.followups.list(limit=100)


def _settings(port: int, password: str | None) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com", timeout=5,
                        username=LOGIN if password else None, password=password)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    apps: list[_App] = []

    def build(port: int, password: str | None = None, url: str | None = None,
              **options: Any) -> _App:
        apps.append(_App(url or f"sqlite:///{tmp_path}/smtp.db", port, password, **options))
        return apps[-1]

    yield build
    for a in apps:
        a.app.close()


def _kept(rows: list[Any], due: datetime, window: timedelta) -> None:
    """Every row kept (no attempt counted), due from ``due`` on, spread over ``window``."""
    for row in rows:
        assert row.status is FollowUpStatus.SCHEDULED
        assert row.attempts == 0
        assert due <= row.due_at <= due + window
    assert min(r.due_at for r in rows) == due


def test_a_refused_login_keeps_the_queue_backs_off_and_sends_it_once_fixed(
    smtp_login_server: tuple[Any, int], make: Any, db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # It failed every queued follow-up for good, one 535 each: a shop that
    # fixed its password had lost its whole queue.
    server, port = smtp_login_server
    shop = make(port, WRONG, db_url)
    shop.schedule(5)
    with caplog.at_level(logging.DEBUG):
        report = shop.app.followups.dispatch_due()
    assert WRONG not in caplog.text
    assert (report.sent, report.failed, report.retried) == (0, 0, 0)
    assert server.logins == 1  # the run stopped at the first refusal
    assert (report.claimed, report.deferred, report.lost_lease) == (5, 1, 0)
    assert "535" in report.stopped
    assert "channel smtp unavailable" in report.stopped
    assert "\n" not in report.stopped
    assert WRONG not in report.stopped
    assert not report.ok
    _kept(shop.rows(), START + timedelta(minutes=10), timedelta(minutes=10))
    assert all("535" in (r.last_error or "") and WRONG not in (r.last_error or "")
               for r in shop.rows()[:1])
    assert shop.app.followups.dispatch_due().claimed == 0  # nothing is tried before the wait
    # The waits grow with each failure of the channel and stop at max_delay;
    # max_attempts (2) is never reached: no follow-up failed.
    waits = []
    for _ in range(4):
        shop.now = min(r.due_at for r in shop.rows())
        before = shop.now
        assert shop.app.followups.dispatch_due().stopped
        waits.append(min(r.due_at for r in shop.rows()) - before)
    assert waits == [timedelta(minutes=m) for m in (20, 30, 30, 30)]
    _kept(shop.rows(), shop.now + timedelta(minutes=30), timedelta(minutes=30))
    assert server.logins == 5
    # The shop fixes its password: the whole queue goes out, once its spread is due.
    shop.channel.settings = _settings(port, PASSWORD)
    shop.now = max(r.due_at for r in shop.rows())
    report = shop.app.followups.dispatch_due()
    assert (report.sent, report.failed, report.stopped) == (5, 0, "")
    assert len(server.messages) == 5
    # and a later failure starts from the first wait again
    shop.channel.settings = _settings(port, WRONG)
    shop.schedule(1, to="late{}@example.com")
    assert shop.app.followups.dispatch_due().stopped
    assert max(r.due_at for r in shop.rows()) == shop.now + timedelta(minutes=10)


def test_a_refused_sender_keeps_the_queue_a_refused_recipient_fails_alone(
    smtp_server: tuple[Any, int], make: Any
) -> None:
    server, port = smtp_server
    shop = make(port)
    server.replies["nobody0@example.com"] = "550 5.1.1 no such user"
    shop.schedule(2, to="nobody{}@example.com")  # nobody0 is refused, nobody1 is fine
    report = shop.app.followups.dispatch_due()
    assert (report.sent, report.failed, report.stopped) == (1, 1, "")
    assert sorted(r.status.value for r in shop.rows()) == ["failed", "sent"]

    server.mail_reply = "553 5.7.1 sender address rejected"
    shop.schedule(4, to="more{}@example.com")
    report = shop.app.followups.dispatch_due()
    assert (report.sent, report.failed) == (0, 0)
    assert "553" in report.stopped
    assert server.mail_attempts == 2 + 1
    _kept([r for r in shop.rows() if r.status is FollowUpStatus.SCHEDULED],
          START + timedelta(minutes=10), timedelta(minutes=10))
    assert len([r for r in shop.rows() if r.status is FollowUpStatus.SCHEDULED]) == 4


def test_a_server_out_of_reach_keeps_the_queue(make: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        shop = make(port)
        shop.schedule(3)
        report = shop.app.followups.dispatch_due()
    assert (report.sent, report.failed, report.claimed) == (0, 0, 3)
    assert "ConnectionRefusedError" in report.stopped
    _kept(shop.rows(), START + timedelta(minutes=10), timedelta(minutes=10))


def test_the_dispatch_command_exits_1_with_one_line_and_no_secret(
    smtp_login_server: tuple[Any, int], make: Any
) -> None:
    _server, port = smtp_login_server
    shop = make(port, WRONG)
    shop.schedule(3)
    for as_json in (False, True):
        state = CliState(None, as_json)
        state._app = shop.app
        result = CliRunner().invoke(group, ["dispatch"], obj=state)
        assert result.exit_code == 1, result.output
        (line,) = [ln for ln in result.stderr.splitlines() if "dispatch stopped" in ln]
        assert "535" in line
        assert WRONG not in result.output
        assert WRONG not in result.stderr
        if as_json:
            assert json.loads(line)["exit_code"] == 1
        shop.now += timedelta(hours=1)
    _kept(shop.rows(), shop.now - timedelta(hours=1) + timedelta(minutes=20),
          timedelta(minutes=20))


def test_a_new_process_goes_on_growing_the_wait(
    smtp_login_server: tuple[Any, int], make: Any
) -> None:
    # cron starts `followups dispatch` afresh each time: the count of the
    # channel's failures in a row is stored (channel_health), so the wait
    # grows across processes instead of starting over at 10 minutes.
    _server, port = smtp_login_server
    first = make(port, WRONG)
    first.schedule(3)
    assert first.app.followups.dispatch_due().stopped
    _kept(first.rows(), START + timedelta(minutes=10), timedelta(minutes=10))
    assert all("(1 in a row)" in (r.last_error or "") for r in first.rows())
    again = make(port, WRONG)  # the same database, a new app with nothing in memory
    again.now = START + timedelta(minutes=10)
    assert "(2 in a row)" in again.app.followups.dispatch_due().stopped
    _kept(again.rows(), again.now + timedelta(minutes=20), timedelta(minutes=20))


def test_workers_refused_at_the_same_instant_keep_the_whole_queue(
    smtp_login_server: tuple[Any, int], make: Any, db_url: str, at_once: Any
) -> None:
    # Four workers, each holding a batch, all meet the 535 at once: each
    # keeps its row and moves the shared queue in one statement; none may
    # fail a follow-up, lose a row to a lock wait, or deadlock.
    _server, port = smtp_login_server
    workers = [make(port, WRONG, db_url, followups={"batch": 5}) for _ in range(4)]
    workers[0].schedule(40)
    results, errors = at_once([w.app.followups.dispatch_due for w in workers])
    assert errors == []
    assert all(r.failed == 0 for r in results)
    # a worker that found nothing due (the queue already moved) has nothing to report
    assert all(r.stopped for r in results if r.claimed), results
    rows = workers[0].app.followups.list(limit=100)
    assert len(rows) == 40
    assert {(r.status, r.attempts) for r in rows} == {(FollowUpStatus.SCHEDULED, 0)}
    assert all(r.due_at > START for r in rows)
    # one outage, one failure counted, however many workers met it
    with workers[0].app.runtime.unit_of_work() as session:
        assert repo.failing_channels(session) == {"smtp": 1}
    assert min(r.due_at for r in rows) == START + timedelta(minutes=10)


def _set_errors(shop: _App, text: str) -> None:
    from sqlalchemy import update

    from aftersales.store.tables.followups import FollowUpRow

    with shop.app.runtime.unit_of_work() as session:
        session.execute(update(FollowUpRow).values(last_error=text))


def test_the_count_is_stored_not_read_from_the_kept_texts(
    smtp_login_server: tuple[Any, int], make: Any, db_url: str
) -> None:
    # The count was parsed back from the kept follow-ups' last_error: a
    # reworded text started the waits over, and a text claiming a million
    # failures was believed.
    _server, port = smtp_login_server
    first = make(port, WRONG, db_url)
    first.schedule(3)
    assert "(1 in a row)" in first.app.followups.dispatch_due().stopped
    _set_errors(first, "the channel was down")  # reworded
    again = make(port, WRONG, db_url)  # a new process
    again.now = START + timedelta(minutes=10)
    assert "(2 in a row)" in again.app.followups.dispatch_due().stopped
    _kept(again.rows(), again.now + timedelta(minutes=20), timedelta(minutes=20))
    _set_errors(again, "channel smtp unavailable (999999 in a row), follow-ups kept until x: y")
    third = make(port, WRONG, db_url)
    third.now = again.now + timedelta(minutes=20)
    assert "(3 in a row)" in third.app.followups.dispatch_due().stopped


def test_a_channel_back_gets_its_queue_spread_not_all_at_once(
    smtp_login_server: tuple[Any, int], make: Any, db_url: str
) -> None:
    # The whole kept queue was due at one instant: the first run after the
    # server came back sent it all at once (a burst against the SMTP server
    # or a marketplace's message limits). Each follow-up now has one of 64
    # slots across the wait, by its id; every one is sent, once.
    server, port = smtp_login_server
    shop = make(port, WRONG, db_url)
    ids = shop.schedule(128)
    assert shop.app.followups.dispatch_due(limit=1000).stopped
    retry_at = START + timedelta(minutes=10)
    rows = shop.app.followups.list(limit=1000)
    _kept(rows, retry_at, timedelta(minutes=10))
    assert len({r.due_at for r in rows}) == 64
    shop.channel.settings = _settings(port, PASSWORD)
    shop.now = retry_at
    first = shop.app.followups.dispatch_due(limit=1000)
    assert 1 <= first.sent <= 4  # the first slot (and the row that was in hand)
    assert len(server.messages) == first.sent
    sent = first.sent
    for _ in range(16):  # a tick every 40 s sends one slice each
        shop.now += timedelta(seconds=40)
        report = shop.app.followups.dispatch_due(limit=1000)
        assert (report.failed, report.stopped) == (0, "")
        assert report.sent <= 128 // 64 * 5
        sent += report.sent
    assert sent == len(server.messages) == 128
    recipients = sorted(r for m in server.messages for r in m.rcpt_tos)
    assert recipients == sorted(f"buyer{i}@example.com" for i in range(128))
    assert {r.status for r in shop.app.followups.list(limit=1000)} == {FollowUpStatus.SENT}
    assert len(ids) == 128


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_server_closing_its_service_keeps_the_queue(
    smtp_server: tuple[Any, int], make: Any, stage: str
) -> None:
    # 421 is the server saying it is shutting its service down (RFC 5321
    # 4.2.3, "may be a reply to any command"), not a word on the message:
    # every follow-up of the queue met it in turn, one attempt each, and
    # after max_attempts (2) the whole queue had failed.
    server, port = smtp_server
    shop = make(port)
    shop.schedule(3)
    if stage == "data":
        server.data_reply = "421 4.3.2 service shutting down"
    else:
        server.replies.update({f"buyer{i}@example.com": "421 4.3.2 service shutting down"
                               for i in range(3)})
    for _ in range(3):
        report = shop.app.followups.dispatch_due()
        assert (report.failed, report.retried) == (0, 0)
        assert "421" in report.stopped
        shop.now = max(r.due_at for r in shop.rows())
    assert {(r.status, r.attempts) for r in shop.rows()} == {(FollowUpStatus.SCHEDULED, 0)}
    server.data_reply = "250 Message accepted for delivery"
    server.replies.clear()
    assert shop.app.followups.dispatch_due().sent == 3
    assert len(server.messages) == 3


def test_two_scheduled_workers_at_the_same_instant_send_each_follow_up_once(
    smtp_server: tuple[Any, int], db_url: str
) -> None:
    # Two processes, each running the library's followups tick under the
    # real APScheduler, start at the same wall-clock instant against one
    # database and one SMTP server: each follow-up reaches the server once.
    import subprocess
    import sys
    import time

    server, port = smtp_server
    now = datetime.now(UTC)
    app = AfterSales(db_url, marketplaces=[], carriers=[], channels=["outbox"],
                     migrate=False, timezone="UTC")
    try:
        app.store.create_all()
        app.followups.register(PLAN)
        total = 30
        for i in range(total):
            app.followups.schedule("ask", buyer_id=f"b{i}", due_at=now, context={
                "buyer": {"name": f"Buyer {i}", "email": f"buyer{i}@example.com"}})
        worker = str(Path(__file__).with_name("smtp_sched_worker.py"))
        go_at = time.time() + 3
        procs = [subprocess.Popen([sys.executable, worker, db_url, str(port), str(go_at), "4"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-2000:]
            assert out.rstrip().endswith("done"), out
            assert "errors=[]" in out, out
            outs.append(out)
        sent = [int(o.split("sent=")[1].split()[0]) for o in outs]
        assert sum(sent) == total, outs
        recipients = sorted(r for m in server.messages for r in m.rcpt_tos)
        assert recipients == sorted(f"buyer{i}@example.com" for i in range(total))
        rows = app.followups.list(limit=100)
        assert {(r.status, r.attempts) for r in rows} == {(FollowUpStatus.SENT, 1)}
    finally:
        app.close()
