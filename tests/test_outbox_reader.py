"""The outbox read as a source: topics, pending/ack, leases, a stream, two reader processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from aftersales.channels.outbox import OutboxChannel
from aftersales.cli import main
from aftersales.errors import ValidationError
from aftersales.events import EventBus
from aftersales.models import Message
from aftersales.outbox import Outbox
from aftersales.store import Store
from aftersales.store.tables.core import OutboxRow

PROBE = Path(__file__).with_name("outbox_reader_probe.py")


class Clock:
    """A settable clock for leases."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _store(url: str) -> Store:
    store = Store(url)
    store.upgrade()  # the packaged migration, so its outbox columns are checked too
    return store


def _fill(store: Store, n: int, *, stores: tuple[str, ...] = ("tmall", "shopify")) -> None:
    bus = EventBus()
    with store.session() as s:
        for i in range(n):
            bus.emit(s, "return.approved",
                     {"rma_id": f"RMA-{i}", "marketplace": stores[i % len(stores)]},
                     key=f"return.approved:RMA-{i}:2")


def test_buyer_messages_shop_alerts_and_events_have_their_own_topics(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path}/o.db")
    channel = OutboxChannel(store)
    channel.send(Message(to="b1", body="How was it?", idempotency_key="fu-1", buyer_id="b1",
                         order_id="A-1", metadata={"plan": "satisfaction", "store": "tmall"}))
    channel.send(Message(to="shop", subject="[high] review alert", body="1 star",
                         idempotency_key="review-alert:negative:tmall:r9",
                         metadata={"kind": "review_alert", "review_id": "r9",
                                   "marketplace": "tmall"}))
    with store.session() as s:
        EventBus().emit(s, "return.approved", {"rma_id": "RMA-1", "marketplace": "tmall"},
                        key="return.approved:RMA-1:2")
    rows = {e.topic: e for e in Outbox(store).pending()}
    assert set(rows) == {"message", "alert", "event"}
    shape = {t: (e.event_type, e.aggregate_type, e.aggregate_id, e.store)
             for t, e in rows.items()}
    assert shape == {
        "message": ("message.buyer", "buyer", "b1", "tmall"),
        "alert": ("alert.review_alert", "review", "r9", "tmall"),
        "event": ("return.approved", "return", "RMA-1", "tmall"),
    }
    assert [e.topic for e in Outbox(store).pending(topic="alert")] == ["alert"]


def test_pending_filters_and_ack_marks_once(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path}/o.db")
    _fill(store, 10)
    outbox = Outbox(store)
    tmall = outbox.pending(store="tmall", limit=100)
    assert [e.store for e in tmall] == ["tmall"] * 5
    assert [e.id for e in outbox.pending(limit=3)] == [1, 2, 3]
    assert [e.id for e in outbox.pending(limit=3, after=3)] == [4, 5, 6]
    assert outbox.ack([1, 2, 2, 999]) == 2
    assert outbox.ack([1, 2]) == 0
    assert [e.id for e in outbox.pending(limit=2)] == [3, 4]
    with pytest.raises(ValidationError, match="topic"):
        outbox.pending(topic="messages")
    with pytest.raises(ValidationError, match="limit"):
        outbox.pending(limit=0)


def test_claims_are_disjoint_until_the_lease_ends(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path}/o.db")
    _fill(store, 6)
    clock = Clock()
    outbox = Outbox(store, clock=clock)
    a = outbox.claim(limit=4, reader="a", lease=timedelta(seconds=30))
    b = outbox.claim(limit=4, reader="b", lease=timedelta(seconds=30))
    assert [e.id for e in a] == [1, 2, 3, 4]
    assert [e.id for e in b] == [5, 6]
    assert outbox.claim(reader="c") == []
    assert outbox.ack([1], reader="a") == 1
    clock.now += timedelta(seconds=31)  # a crashed: its lease ends
    c = outbox.claim(limit=10, reader="c")
    assert [e.id for e in c] == [2, 3, 4, 5, 6]
    assert outbox.ack([2], reader="a") == 0  # a's lease is gone: c holds the row
    assert outbox.release([3, 4], reader="c") == 2
    assert [e.id for e in outbox.claim(reader="d")] == [3, 4]


def test_leaving_a_stream_early_gives_the_rest_back(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path}/o.db")
    _fill(store, 5)
    outbox = Outbox(store)
    seen = []
    for entry in outbox.stream(batch=5, reader="r"):
        seen.append(entry.id)
        if len(seen) == 3:
            break
    assert seen == [1, 2, 3]
    # rows 1 and 2 were acked when the loop asked for the next; 3 was in hand
    assert [e.id for e in outbox.pending()] == [3, 4, 5]
    assert [e.id for e in outbox.claim(reader="other")] == [3, 4, 5]


def test_two_reader_processes_deliver_each_row_once(db_url: str, tmp_path: Path) -> None:
    store = _store(db_url)
    n = 600
    _fill(store, n)
    go = tmp_path / "go"
    procs = []
    for i in range(2):
        ready = tmp_path / f"ready-{i}"
        procs.append((ready, subprocess.Popen(
            [sys.executable, str(PROBE), db_url, str(ready), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    deadline = time.monotonic() + 120
    while not all(ready.exists() for ready, _ in procs):
        assert time.monotonic() < deadline, "a reader never started"
        assert all(p.poll() is None for _, p in procs), [p.communicate() for _, p in procs]
        time.sleep(0.02)
    go.write_text("1")
    got = []
    for _, proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        got.append([int(line) for line in out.split()])
    delivered = got[0] + got[1]
    assert sorted(delivered) == list(range(1, n + 1))  # every row, and none twice
    assert all(got), "both readers should have shared the work"
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)
                        .where(OutboxRow.delivered_at.is_(None))) == 0
    store.dispose()


def test_cli_list_ack_tail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/o.db"
    store = _store(url)
    _fill(store, 4)
    runner = CliRunner()
    listed = runner.invoke(main, ["--database-url", url, "--json", "outbox", "list",
                                  "--store", "tmall"])
    assert listed.exit_code == 0, listed.output
    rows: list[dict[str, Any]] = json.loads(listed.output)
    assert [(r["id"], r["event_type"], r["aggregate_id"]) for r in rows] == [
        (1, "return.approved", "RMA-0"), (3, "return.approved", "RMA-2")]
    acked = runner.invoke(main, ["--database-url", url, "outbox", "ack", "1", "3"])
    assert acked.exit_code == 0, acked.output
    assert "acked 2 of 2" in acked.output
    tailed = runner.invoke(main, ["--database-url", url, "outbox", "tail", "--topic", "event"])
    assert tailed.exit_code == 0, tailed.output
    assert [json.loads(line)["id"] for line in tailed.output.splitlines()] == [2, 4]
    assert Outbox(store).pending() == []
    bad = runner.invoke(main, ["--database-url", url, "outbox", "list", "--topic", "nope"])
    assert bad.exit_code == 2


def test_cli_ack_of_an_unknown_id_exits_2_and_acks_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/o.db"
    store = _store(url)
    _fill(store, 2)
    runner = CliRunner()
    unknown = runner.invoke(main, ["--database-url", url, "outbox", "ack", "1", "77", "78"])
    assert unknown.exit_code == 2, unknown.output
    assert unknown.output.strip() == "error: outbox ack: no row with id 77, 78; nothing acked"
    assert [e.id for e in Outbox(store).pending()] == [1, 2]  # nothing half-done
    assert runner.invoke(main, ["--database-url", url, "outbox", "ack", "1"]).exit_code == 0
    again = runner.invoke(main, ["--database-url", url, "outbox", "ack", "1", "2"])
    assert again.exit_code == 0, again.output  # an ack is idempotent: 1 was delivered already
    assert "acked 1 of 2 (1 already delivered)" in again.output


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["ack", str(2**64)], "IDS"),
        (["list", "--after", str(2**64)], "--after"),
        (["list", "--limit", str(2**64)], "--limit"),
        (["tail", "--batch", str(2**64)], "--batch"),
        (["tail", "--lease", "1e20"], "--lease"),
        (["tail", "--lease", "nan"], "--lease"),
        (["tail", "--lease", "inf"], "--lease"),
        (["tail", "--follow", "--poll", "nan"], "--poll"),
    ],
)
def test_cli_refuses_numbers_out_of_range_by_option(
    tmp_path: Path, args: list[str], name: str
) -> None:
    url = f"sqlite:///{tmp_path}/o.db"
    _fill(_store(url), 2)
    result = CliRunner().invoke(main, ["--database-url", url, "outbox", *args])
    assert result.exit_code == 2, result.output
    assert name in result.output
    assert "unexpected" not in result.output


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda o: o.pending(limit=2**64), "limit"),
        (lambda o: o.pending(after=2**64), "after"),
        (lambda o: o.ack([2**64]), "ids"),
        (lambda o: o.claim(lease=timedelta(days=10**6)), "lease"),
    ],
)
def test_the_library_refuses_numbers_out_of_range_by_field(
    tmp_path: Path, call: Any, field: str
) -> None:
    store = _store(f"sqlite:///{tmp_path}/o.db")
    _fill(store, 2)
    with pytest.raises(ValidationError) as info:
        call(Outbox(store))
    assert info.value.field == field
    assert [e.id for e in Outbox(store).pending()] == [1, 2]


def test_a_stream_whose_lease_ran_out_never_hands_out_a_row_another_reader_holds(
    tmp_path: Path,
) -> None:
    store = _store(f"sqlite:///{tmp_path}/o.db")
    _fill(store, 3)
    clock = Clock()
    outbox = Outbox(store, clock=clock)
    seen = []
    for entry in outbox.stream(batch=3, reader="slow", lease=timedelta(seconds=30)):
        seen.append(entry.id)
        if len(seen) > 5:
            break
        clock.now += timedelta(seconds=31)  # slower than its lease
        if len(seen) == 1:
            taken = outbox.claim(reader="fast", lease=timedelta(seconds=30))
            assert [e.id for e in taken] == [1, 2, 3]
    assert seen == [1]  # 2 and 3 are the fast reader's now: not handed out twice at once


def test_a_reader_sigkilled_holding_a_lease_loses_no_row(db_url: str, tmp_path: Path) -> None:
    """The killed reader's unacked rows come back when its lease ends; none is lost."""
    import os
    import signal

    store = _store(db_url)
    n = 200
    _fill(store, n)
    ready, go = tmp_path / "ready", tmp_path / "go"
    go.write_text("1")
    proc = subprocess.Popen([sys.executable, str(PROBE), db_url, str(ready), str(go)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    printed = [int(proc.stdout.readline()) for _ in range(10)]  # mid-batch, lease held
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=60)
    printed += [int(line) for line in rest.split()]
    assert proc.returncode == -signal.SIGKILL
    clock = Clock()
    clock.now = datetime.now(UTC)
    outbox = Outbox(store, clock=clock)
    free = [e.id for e in outbox.claim(reader="next", limit=n)]
    outbox.ack(free, reader="next")
    held = set(range(1, n + 1)) - set(printed) - set(free)
    assert len(held) <= 7  # the killed reader's batch: still under its lease
    clock.now += timedelta(minutes=6)  # past the probe's 5-minute lease
    back = {e.id for e in outbox.claim(reader="next", limit=n)}
    assert held <= back <= held | set(printed)  # its rows return; the one in hand again
    assert sorted(set(printed) | set(free) | back) == list(range(1, n + 1))  # none lost
    store.dispose()
