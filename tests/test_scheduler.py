"""The worker: real APScheduler ticks, --once, SIGTERM, configurable intervals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from click.testing import CliRunner
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.errors import ConfigurationError
from aftersales.followups.plans import FollowUpPlan
from aftersales.models import Message, Receipt
from aftersales.scheduler import (
    DEFAULT_INTERVALS,
    build_scheduler,
    resolve_intervals,
    run_worker,
    ticks_for,
    worker_command,
)
from aftersales.store.tables.followups import FollowUpRow

NOW = datetime(2024, 6, 3, 4, 0, tzinfo=UTC)
PLAN = FollowUpPlan(name="hello", channel="recorder", body="Hi {buyer.name}")


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.on_send: Any = None

    def send(self, message: Message) -> Receipt:
        if self.on_send is not None:
            self.on_send(message)
        self.sent.append(message)
        return Receipt(channel=self.name, message_id=str(len(self.sent)), accepted_at=NOW)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def app(tmp_path: Path, recorder: Recorder) -> Iterator[AfterSales]:
    instance = AfterSales(f"sqlite:///{tmp_path}/w.db", marketplaces=[], carriers=[],
                          channels=[recorder], clock=lambda: NOW, migrate=False)
    instance.store.create_all()
    instance.followups.register(PLAN)
    yield instance
    instance.close()


def _schedule(app: AfterSales, count: int) -> None:
    for n in range(count):
        app.followups.schedule("hello", buyer_id=f"b{n}", context={"buyer": {"name": "Li"}},
                               due_at=NOW)


def test_intervals_defaults_env_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_INTERVAL_TRACKING", "60")
    got = resolve_intervals({"followups": 5})
    assert got["followups"] == 5
    assert got["tracking"] == 60
    assert got["reviews"] == DEFAULT_INTERVALS["reviews"]
    with pytest.raises(ConfigurationError, match="unknown tick 'nope'"):
        resolve_intervals({"nope": 1})
    with pytest.raises(ConfigurationError, match="negative"):
        resolve_intervals({"sync": -1})
    monkeypatch.setenv("AFTERSALES_INTERVAL_SYNC", "soon")
    with pytest.raises(ConfigurationError, match=r"interval\.sync \(AFTERSALES_INTERVAL_SYNC\)"):
        resolve_intervals()


def test_only_areas_with_the_method_get_a_tick() -> None:
    calls: list[str] = []
    fake = SimpleNamespace(
        followups=SimpleNamespace(dispatch_due=lambda: calls.append("f")),
        logistics=SimpleNamespace(),  # no refresh yet
        reviews=SimpleNamespace(sync=lambda: calls.append("r")),
        returns=SimpleNamespace(run_timers=lambda: calls.append("t")),
        sync=lambda: calls.append("s"),
    )
    ticks = ticks_for(fake)  # type: ignore[arg-type]
    assert list(ticks) == ["followups", "reviews", "sync", "return_timers"]
    assert list(ticks_for(fake, only=["reviews"])) == ["reviews"]  # type: ignore[arg-type]


def test_build_scheduler_jobs_and_kinds(app: AfterSales) -> None:
    background = build_scheduler(app, intervals={"followups": 7, "sync": 0})
    assert isinstance(background, BackgroundScheduler)
    jobs = {job.id: job for job in background.get_jobs()}
    assert "followups" in jobs
    assert "sync" not in jobs
    assert jobs["followups"].trigger.interval.total_seconds() == 7
    assert jobs["followups"].max_instances == 1
    assert isinstance(build_scheduler(app, blocking=True), BlockingScheduler)
    assert not background.running  # nothing starts by itself
    assert isinstance(app.scheduler(), BackgroundScheduler)


def test_background_scheduler_dispatches_due_followups(app: AfterSales,
                                                       recorder: Recorder) -> None:
    _schedule(app, 3)
    scheduler = build_scheduler(app, only=["followups"], intervals={"followups": 3600})
    done = threading.Event()
    outcomes: list[Any] = []

    def listener(event: Any) -> None:
        outcomes.append(event.retval if event.code == EVENT_JOB_EXECUTED else event.exception)
        done.set()

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        assert done.wait(timeout=30)
    finally:
        scheduler.shutdown(wait=True)
    assert outcomes[0].sent == 3
    assert len(recorder.sent) == 3


def test_worker_once_command(app: AfterSales, recorder: Recorder) -> None:
    _schedule(app, 2)
    result = CliRunner().invoke(worker_command, ["--once", "--only", "followups"],
                                obj=SimpleNamespace(app=app))
    assert result.exit_code == 0, result.output
    assert "followups: done=2, claimed=2, sent=2" in result.output
    assert len(recorder.sent) == 2
    again = CliRunner().invoke(worker_command, ["--once", "--only", "followups"],
                               obj=SimpleNamespace(app=app))
    assert "followups: nothing due" in again.output


def test_worker_once_masks_a_raising_tick_in_its_report(
    app: AfterSales, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tick that raised was printed as its raw exception text: a driver or
    # channel error quoting a buyer's e-mail or phone reached cron's mail.
    def boom(**_: Any) -> None:
        raise RuntimeError("cannot reach alice.private@example.com at +86 138 0013 8000")

    monkeypatch.setattr(app.followups, "dispatch_due", boom)
    result = CliRunner().invoke(worker_command, ["--once", "--only", "followups"],
                                obj=SimpleNamespace(app=app))
    assert result.exit_code == 1
    assert "followups: error: RuntimeError: cannot reach" in result.output
    for value in ("alice.private", "138 0013 8000"):
        assert value not in result.output
        assert value not in (result.stderr_bytes or b"").decode()


@pytest.mark.parametrize("given", [["--interval", "sync=1e300"], ["--interval", "sync=3e7"]])
def test_an_interval_over_a_year_is_a_usage_error_before_the_worker_starts(
        app: AfterSales, given: list[str]) -> None:
    # Before: "worker started", then "unexpected OverflowError: Python int
    # too large to convert to C int" from the scheduler, status 1 (3e7 s,
    # under a year, is accepted).
    runs = given[1] == "sync=3e7"
    result = CliRunner().invoke(worker_command, ["--only", "sync", *given, "--once"],
                                obj=SimpleNamespace(app=app))
    if runs:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert "--interval" in result.output
    assert "at most 31536000" in result.output
    assert "worker started" not in result.output


def test_an_interval_over_a_year_from_the_settings_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_INTERVAL_SYNC", "1e300")
    with pytest.raises(ConfigurationError, match="at most 31536000 seconds: sync"):
        resolve_intervals()


def test_a_running_worker_refuses_an_interval_over_a_year(
        app: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_INTERVAL_SYNC", "1e300")
    result = CliRunner().invoke(worker_command, ["--only", "sync"],
                                obj=SimpleNamespace(app=app))
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigurationError)
    assert "worker started" not in result.output


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file:w?mode=memory&uri=true"])
def test_a_scheduler_on_an_in_memory_database_is_refused(url: str) -> None:
    # Each scheduler thread opens its own connection, and an in-memory
    # SQLite database is private to one: every tick failed on "no such
    # table" for as long as the worker ran. `--once` runs in this thread.
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"])
    try:
        with pytest.raises(ConfigurationError, match="in-memory"):
            build_scheduler(app)
        once = CliRunner().invoke(worker_command, ["--only", "cases", "--once"],
                                  obj=SimpleNamespace(app=app))
        assert once.exit_code == 0, once.output
    finally:
        app.close()


def test_the_worker_command_on_an_in_memory_database_is_status_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aftersales", "--database-url", "sqlite://", "worker",
         "--only", "cases"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "in-memory" in proc.stderr
    assert "worker started" not in proc.stderr


def test_worker_bad_interval_is_a_usage_error(app: AfterSales) -> None:
    result = CliRunner().invoke(worker_command, ["--once", "--interval", "followups"],
                                obj=SimpleNamespace(app=app))
    assert result.exit_code == 2
    assert "NAME=SECONDS" in result.output


def test_sigterm_finishes_current_row_and_releases_the_rest(
    app: AfterSales, recorder: Recorder
) -> None:
    _schedule(app, 5)

    def first_send_brings_sigterm(message: Message) -> None:
        recorder.on_send = None
        os.kill(os.getpid(), signal.SIGTERM)
        # the handler runs on the main thread; wait until it has asked the tick to stop
        assert app.followups._stop.wait(timeout=30)

    recorder.on_send = first_send_brings_sigterm
    before = signal.getsignal(signal.SIGTERM)
    run_worker(app, only=["followups"], intervals={"followups": 3600})
    assert signal.getsignal(signal.SIGTERM) == before
    assert len(recorder.sent) == 1
    with app.store.session() as s:
        statuses = dict(s.execute(select(FollowUpRow.status, func.count())
                                  .group_by(FollowUpRow.status)).all())
        leased = s.scalar(select(func.count()).select_from(FollowUpRow)
                          .where(FollowUpRow.lease_owner.is_not(None)))
    assert statuses == {"sent": 1, "scheduled": 4}
    assert leased == 0


def test_worker_once_leaves_out_a_tick_turned_off(app: AfterSales, recorder: Recorder) -> None:
    # An interval of 0 turns a tick off, but `worker --once` (cron) ran it
    # anyway: a shop that turned the follow-ups off still had them sent.
    _schedule(app, 2)
    result = CliRunner().invoke(worker_command, ["--once", "--only", "followups", "--only",
                                                 "cases", "--interval", "followups=0"],
                                obj=SimpleNamespace(app=app))
    assert result.exit_code == 0, result.output
    assert not recorder.sent
    assert "followups:" not in result.output
    assert "cases: " in result.output
    off = CliRunner().invoke(worker_command, ["--once", "--only", "cases", "--interval",
                                              "cases=0"], obj=SimpleNamespace(app=app))
    assert off.exit_code == 2, off.output
    assert "every tick asked for is turned off" in off.output
    assert "--interval" in off.output
