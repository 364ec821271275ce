"""The worker's one summary line per tick: done, skipped, failed and the duration."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.app import AfterSales, SyncReport
from aftersales.errors import TransientError
from aftersales.followups.dispatch import DispatchReport
from aftersales.followups.plans import FollowUpPlan
from aftersales.logistics.refresh import RefreshReport
from aftersales.models import Message, Receipt
from aftersales.returns.refund_settle import RefundReport
from aftersales.returns.timers import TimerReport
from aftersales.scheduler import TICKS, worker_command
from aftersales.worker_summary import summarize

NOW = datetime(2024, 6, 3, 4, 0, tzinfo=UTC)
PLAN = FollowUpPlan(name="hello", channel="recorder", body="Hi {buyer.name}")


class Recorder:
    """Sends all but the buyers it is told to refuse (a transient failure: retried later)."""

    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.refuse: set[str] = set()

    def send(self, message: Message) -> Receipt:
        if message.buyer_id in self.refuse:
            raise TransientError("channel down for buyer13812345678@example.com")
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


def _worker(app: Any, *args: str) -> tuple[Any, list[dict[str, Any]]]:
    result = CliRunner().invoke(worker_command, ["--once", "--log-format", "json", *args],
                                obj=SimpleNamespace(app=app))
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    ticks = [r for r in records if r.get("event") == "tick"]
    # No other line speaks for a tick: the summary is its one line.
    about_ticks = [r for r in records if r["message"].startswith("tick.")]
    assert len(about_ticks) == len(ticks)
    return result, ticks


def test_one_json_summary_line_per_tick_with_done_skipped_failed(
    app: AfterSales, recorder: Recorder,
) -> None:
    for n in range(4):
        app.followups.schedule("hello", buyer_id=f"b{n}", context={"buyer": {"name": "Li"}},
                               due_at=NOW)
    recorder.refuse = {"b3"}
    result, ticks = _worker(app)
    names = [t.name for t in TICKS if t.name in {r["tick"] for r in ticks}]
    assert Counter(r["tick"] for r in ticks) == Counter(names)  # one line each, no more
    assert {"followups", "return_timers", "refunds"} <= set(names)
    for record in ticks:
        assert record["logger"] == "aftersales.worker"
        assert isinstance(record["duration_ms"], int)
        assert record["duration_ms"] >= 0
        assert isinstance(record["counts"], dict)
        assert record["message"].startswith(f"tick.{record['tick']} ")
    followups = next(r for r in ticks if r["tick"] == "followups")
    assert (followups["done"], followups["skipped"], followups["failed"]) == (3, 0, 1)
    assert followups["outcome"] == "failed"
    assert followups["level"] == "WARNING"
    assert followups["counts"]["claimed"] == 4
    assert len(recorder.sent) == 3
    assert result.exit_code == 1  # the retried send is a failure of this tick, as before


def test_a_tick_that_raises_gets_one_error_line_masked(app: AfterSales) -> None:
    def broken(**_: Any) -> Any:
        raise TransientError("down; call 13812345678 or mail ops.lead@example.com")

    app.followups.dispatch_due = broken  # type: ignore[method-assign]
    result, ticks = _worker(app, "--only", "followups")
    assert result.exit_code == 1
    assert len(ticks) == 1
    (record,) = ticks
    assert (record["outcome"], record["done"], record["skipped"], record["failed"]) == (
        "error", 0, 0, 0)
    assert "13812345678" not in result.stderr
    assert "ops.lead@" not in result.stderr
    assert "TransientError" in record["error"]


def test_text_format_has_the_same_one_line(app: AfterSales) -> None:
    result = CliRunner().invoke(worker_command, ["--once", "--only", "refunds"],
                                obj=SimpleNamespace(app=app))
    lines = [ln for ln in result.stderr.splitlines() if "tick.refunds" in ln]
    assert len(lines) == 1
    assert "tick.refunds ok done=0 skipped=0 failed=0 in " in lines[0]


@pytest.mark.parametrize(("tick", "report", "expected"), [
    ("followups", DispatchReport(claimed=9, sent=4, deferred=1, retried=1, failed=1,
                                 skipped=1, cancelled=1), (4, 3, 2)),
    ("tracking", RefreshReport(due=5, checked=3, changed=2, calls=Counter(k=2),
                               failed_calls=Counter(k=1), unresolved={"SF1": "no data"},
                               skipped=1), (3, 1, 0)),
    ("tracking", RefreshReport(checked=3, unresolved={"SF1": "k: down"}, failed=1,
                               reasons={"SF1": "k: down"}), (3, 0, 1)),
    ("reviews", {"shopify": 3, "judgeme": 2}, (5, 0, 0)),
    ("sync", SyncReport(counts={"a": {"orders": 5, "returns": 1}, "b": {"reviews": 2}},
                        done=8, failed=1, reasons={"c": "orders: TransientError: down"}),
     (8, 0, 1)),
    ("return_timers", TimerReport(alerts=1, reminders=2, actions=3, failed=1), (6, 0, 1)),
    ("refunds", RefundReport(settled=2, failed=1, pending=3), (2, 3, 1)),
    ("later", SimpleNamespace(done=7, skipped=["x"], failed={"a": "why", "b": "why"}),
     (7, 1, 2)),
])
def test_every_tick_report_reads_as_done_skipped_failed(
    tick: str, report: Any, expected: tuple[int, int, int],
) -> None:
    summary = summarize(tick, report, 0.0123)
    assert (summary.done, summary.skipped, summary.failed) == expected
    assert summary.duration_ms == 12
    assert summary.outcome == ("failed" if expected[2] else "ok")


def test_a_followups_tick_stopped_by_its_channel_is_failed_with_the_reason() -> None:
    # A channel failing as a whole fails no follow-up (the queue is kept), so
    # the counts alone read "ok": the worker logged a down SMTP server at INFO.
    why = "channel smtp unavailable (1 in a row), follow-ups kept until …: SMTP 535"
    report = DispatchReport(claimed=5, deferred=1, stopped=why,
                            reasons={"channel smtp": why})
    summary = summarize("followups", report, 0.01)
    assert (summary.outcome, summary.failed) == ("failed", 1)
    assert summary.line().endswith(f": {why}")
    assert "\n" not in summary.line()
