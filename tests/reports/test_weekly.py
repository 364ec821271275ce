"""The weekly report: last week's HTML attached to an e-mail (a real local SMTP server)
or an outbox row, once a week, never sent inside a write transaction."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aftersales.errors import TransientError, ValidationError
from aftersales.reports.weekly import last_week
from aftersales.store.tables.core import IdempotencyRow, OutboxRow
from tests.channels.conftest import Recorder

ZONE = "Asia/Shanghai"


def _app(tmp_path: Path, **options: Any) -> Any:
    from aftersales.app import AfterSales
    from aftersales.sandbox import SandboxMarketplace

    shop = SandboxMarketplace(seed=3, orders=60)
    app = AfterSales(f"sqlite:///{tmp_path}/weekly.db", marketplaces=[shop],
                     carriers=[shop.carrier()], clock=lambda: shop.now, timezone=ZONE,
                     migrate=False, **options)
    app.store.create_all()
    app.sync()
    return app


@pytest.fixture
def mailed(tmp_path: Path) -> Iterator[tuple[Any, Recorder]]:
    """An app whose weekly report goes by e-mail to a real SMTP server on localhost."""
    import socket

    from aiosmtpd.controller import Controller

    recorder = Recorder()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    app = _app(tmp_path, channels=["smtp"], smtp={"host": "127.0.0.1", "port": port},
               reports={"weekly_channel": "smtp", "weekly_to": "ops@example.com"})
    try:
        yield app, recorder
    finally:
        app.close()
        controller.stop()


@pytest.fixture(autouse=True)
def never_inside_a_write(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail if a channel sends while this thread holds a write transaction."""
    from aftersales.channels.outbox import OutboxChannel
    from aftersales.channels.smtp import SmtpChannel
    from aftersales.store.guard import write_open

    seen: list[str] = []
    for cls in (SmtpChannel, OutboxChannel):
        original = cls.send

        def send(self: Any, message: Any, _original: Any = original) -> Any:
            if write_open():
                seen.append(type(self).__name__)
            return _original(self, message)

        monkeypatch.setattr(cls, "send", send)
    yield seen
    assert seen == []


def _parsed(recorder: Recorder, i: int) -> Any:
    return email.message_from_bytes(recorder.messages[i].original_content,
                                    policy=email.policy.default)


def test_last_week_is_monday_to_monday_in_the_shops_zone() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(ZONE)
    # Sunday 23:30 UTC is already Monday 07:30 in Shanghai: the week before ended.
    since, until = last_week(datetime(2026, 1, 11, 23, 30, tzinfo=UTC), zone)
    assert (since.isoformat(), until.isoformat()) == ("2026-01-05T00:00:00+08:00",
                                                      "2026-01-12T00:00:00+08:00")
    since, until = last_week(datetime(2026, 1, 11, 15, 30, tzinfo=UTC), zone)
    assert since.isoformat() == "2025-12-29T00:00:00+08:00"


def test_the_report_goes_by_email_with_the_html_attached_once_a_week(
        mailed: tuple[Any, Recorder]) -> None:
    app, recorder = mailed
    first = app.reports.send_weekly()
    assert first.status == "sent"
    assert len(recorder.messages) == 1
    assert recorder.messages[0].rcpt_tos == ["ops@example.com"]
    mail = _parsed(recorder, 0)
    assert first.week in mail["Subject"]
    parts = list(mail.iter_attachments())
    assert [p.get_filename() for p in parts] == [f"aftersales-report-{first.week}.html"]
    assert parts[0].get_content_type() == "text/html"
    html = parts[0].get_content()
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<figure class="chart"') >= 17
    # The same week again: nothing sent.
    assert app.reports.send_weekly().status == "already_sent"
    assert len(recorder.messages) == 1
    # The next week: one more.
    later = app.reports.send_weekly(now=app.now() + timedelta(days=7))
    assert later.status == "sent"
    assert later.week != first.week
    assert len(recorder.messages) == 2


def test_a_lost_record_resends_with_the_same_message_id(mailed: tuple[Any, Recorder]) -> None:
    """The mail went but its record did not (a crash): the next run sends the same Message-ID."""
    app, recorder = mailed
    sent = app.reports.send_weekly()
    with app.store.session() as session:
        session.delete(session.get(IdempotencyRow, sent.key))
    again = app.reports.send_weekly()
    assert again.status == "sent"
    assert again.key == sent.key
    ids = {_parsed(recorder, i)["Message-ID"] for i in range(2)}
    assert len(recorder.messages) == 2
    assert len(ids) == 1


def test_a_refused_mail_is_not_recorded_and_goes_next_time(
        mailed: tuple[Any, Recorder]) -> None:
    app, recorder = mailed
    recorder.data_reply = "451 Try again later"
    with pytest.raises(TransientError):
        app.reports.send_weekly()
    with app.store.session() as session:
        assert session.query(IdempotencyRow).count() == 0
    recorder.data_reply = "250 OK"
    assert app.reports.send_weekly().status == "sent"
    assert len(recorder.messages) == 1


def test_the_worker_tick_sends_it(mailed: tuple[Any, Recorder]) -> None:
    from aftersales.scheduler import run_once

    app, recorder = mailed
    results = run_once(app, only=["weekly_report"])
    assert (results["weekly_report"].done, results["weekly_report"].skipped) == (1, 0)
    assert len(recorder.messages) == 1
    again = run_once(app, only=["weekly_report"])  # the same week: nothing sent, one skipped
    assert (again["weekly_report"].done, again["weekly_report"].skipped) == (0, 1)
    assert len(recorder.messages) == 1


def test_through_the_outbox_in_chinese(tmp_path: Path) -> None:
    app = _app(tmp_path, reports={"weekly_channel": "outbox", "weekly_to": "shop-ops",
                                  "weekly_lang": "zh"})
    try:
        assert app.reports.send_weekly().status == "sent"
        assert app.reports.send_weekly().status == "already_sent"
        with app.store.session() as session:
            rows = session.query(OutboxRow).filter(OutboxRow.event_type == "alert.weekly_report"
                                                   ).all()
            assert len(rows) == 1
            attachment = rows[0].payload["attachments"][0]
        assert attachment["content_type"] == "text/html"
        assert "退货率" in attachment["content"]
    finally:
        app.close()


def test_off_until_configured(tmp_path: Path) -> None:
    app = _app(tmp_path)
    try:
        assert app.reports.send_weekly().status == "off"
    finally:
        app.close()


WORKER = Path(__file__).with_name("weekly_worker.py")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Recorder]]:
    """A real SMTP server on localhost: its port and what it received."""
    import socket

    from aiosmtpd.controller import Controller

    recorder = Recorder()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()


def _two_workers(url: str, port: int) -> list[str]:
    import os
    import subprocess
    import sys
    import time

    from aftersales.store import Store

    store = Store(url)
    store.create_all()
    store.dispose()
    now = datetime(2026, 3, 4, 4, tzinfo=UTC).isoformat()
    start_at = str(time.time() + 4)  # both import and connect first, then go together
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    workers = [subprocess.Popen([sys.executable, str(WORKER), url, str(port), now, start_at],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env) for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-2000:]
    return sorted(out.strip() for out, _ in outputs)


@pytest.mark.slow
def test_two_workers_at_the_same_instant_send_the_week_once_on_sqlite(
        tmp_path: Path, smtp_server: tuple[int, Recorder]) -> None:
    port, recorder = smtp_server
    statuses = _two_workers(f"sqlite:///{tmp_path}/weekly.db", port)
    assert len(recorder.messages) == 1
    assert statuses in (["already_sent", "sent"], ["sending", "sent"])


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_at_the_same_instant_send_the_week_once_on_postgresql(
        pg_url: str, smtp_server: tuple[int, Recorder]) -> None:
    port, recorder = smtp_server
    statuses = _two_workers(pg_url, port)
    assert len(recorder.messages) == 1
    assert statuses in (["already_sent", "sent"], ["sending", "sent"])


def test_a_claim_left_by_a_killed_run_is_taken_over_after_its_lease(
        mailed: tuple[Any, Recorder]) -> None:
    """A run died holding the week's claim: others wait out its lease, then one sends."""
    from aftersales.reports.weekly import LEASE, SCOPE

    app, recorder = mailed
    since, _ = last_week(app.now(), app.runtime.timezone)
    week = since.date().isoformat()
    first = app.reports.send_weekly()
    assert first.status == "sent"
    recorder.messages.clear()
    with app.store.session() as session:  # as a run killed after its claim leaves it
        session.get(IdempotencyRow, first.key).result = {
            "week": week, "claim": "killed", "lease_until": (app.now() + LEASE).isoformat()}
    held = app.reports.send_weekly()
    assert (held.status, held.skipped, held.done) == ("sending", 1, 0)
    assert recorder.messages == []
    with app.store.session() as session:
        session.get(IdempotencyRow, first.key).result = {
            "week": week, "claim": "killed",
            "lease_until": (app.now() - timedelta(seconds=1)).isoformat()}
    assert app.reports.send_weekly().status == "sent"
    assert len(recorder.messages) == 1
    assert app.reports.send_weekly().status == "already_sent"
    with app.store.session() as session:
        row = session.get(IdempotencyRow, first.key)
        assert (row.scope, set(row.result)) == (SCOPE, {"week", "message_id"})


def test_a_naive_now_is_refused_by_name_and_nothing_is_sent(
        mailed: tuple[Any, Recorder]) -> None:
    """It was read in the machine's zone, so which week went depended on the server."""
    app, recorder = mailed
    with pytest.raises(ValidationError, match="field 'now': must be timezone-aware"):
        app.reports.send_weekly(now=datetime(2026, 1, 12, 1, 0))
    assert recorder.messages == []
    with app.store.session() as session:
        assert session.query(IdempotencyRow).count() == 0


def test_a_naive_now_is_refused_even_when_the_report_is_off(tmp_path: Path) -> None:
    app = _app(tmp_path)
    try:
        with pytest.raises(ValidationError, match="field 'now'"):
            app.reports.send_weekly(now=datetime(2026, 1, 12, 1, 0))
    finally:
        app.close()
