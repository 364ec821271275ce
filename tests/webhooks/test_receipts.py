"""Signed webhook bodies recorded for the replay window, on SQLite and a real PostgreSQL.

The record is keyed by what the platform signs (the body), never by a
header; it is claimed before the work, so two receiving processes at the
same instant handle a body once; a receiver killed mid-way leaves a lease
that runs out; records past their life are deleted, so the table stays
bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from aftersales.errors import TransientError, ValidationError
from aftersales.store import Store
from aftersales.store.tables.core import WebhookReceiptRow
from aftersales.webhook_receipts import CLOCK_MARGIN, Outcome, WebhookReceipts, receipt_key

WORKER = Path(__file__).with_name("receipt_worker.py")
T0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
BODY = b'{"id":1,"status":"closed"}'


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receipts(store: Store, clock: Clock) -> WebhookReceipts:
    return WebhookReceipts(store, clock=clock)


def _rows(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(WebhookReceiptRow)) or 0)


def test_a_body_is_handled_once_and_repeats_get_the_first_result(
        receipts: WebhookReceipts) -> None:
    first = receipts.claim("shopify", "shop-a", BODY)
    assert first.outcome is Outcome.NEW
    assert receipts.claim("shopify", "shop-a", BODY).outcome is Outcome.IN_PROGRESS
    assert receipts.finish(first, {"return": "gid://shopify/Return/1"})
    again = receipts.claim("shopify", "shop-a", BODY)
    assert again.outcome is Outcome.DUPLICATE
    assert again.result == {"return": "gid://shopify/Return/1"}
    # another store or platform, or one byte more, is another body
    assert receipts.claim("shopify", "shop-b", BODY).new
    assert receipts.claim("woocommerce", "shop-a", BODY).new
    assert receipts.claim("shopify", "shop-a", BODY + b" ").new


def test_a_failed_work_is_released_and_the_retry_handles_it(receipts: WebhookReceipts) -> None:
    def down() -> dict[str, str]:
        raise TransientError("down", adapter="shopify")

    with pytest.raises(TransientError):
        receipts.run("shopify", "shop-a", BODY, down)
    claim, result = receipts.run("shopify", "shop-a", BODY, lambda: {"ok": 1})
    assert (claim.outcome, result) == (Outcome.NEW, {"ok": 1})
    claim, result = receipts.run("shopify", "shop-a", BODY, lambda: {"ok": 2})
    assert (claim.outcome, result) == (Outcome.DUPLICATE, {"ok": 1})


def test_a_body_signed_before_the_window_is_stale_and_not_recorded(
        store: Store, receipts: WebhookReceipts) -> None:
    old = T0 - receipts.max_age - timedelta(seconds=1)
    assert receipts.claim("shopify", "shop-a", BODY, signed_at=old).outcome is Outcome.STALE
    assert _rows(store) == 0
    fresh = T0 - receipts.max_age + timedelta(seconds=1)
    assert receipts.claim("shopify", "shop-a", BODY, signed_at=fresh).new


def test_a_timed_body_is_remembered_until_it_is_stale(
        receipts: WebhookReceipts, clock: Clock) -> None:
    signed = T0 - timedelta(hours=1)
    receipts.finish(receipts.claim("shopify", "shop-a", BODY, signed_at=signed), {})
    clock.now = signed + receipts.max_age  # the last instant it is not stale
    assert receipts.claim("shopify", "shop-a", BODY, signed_at=signed).outcome \
        is Outcome.DUPLICATE
    clock.now = signed + receipts.max_age + timedelta(seconds=1)
    assert receipts.claim("shopify", "shop-a", BODY, signed_at=signed).outcome is Outcome.STALE


def test_records_past_their_life_are_deleted(store: Store, receipts: WebhookReceipts,
                                             clock: Clock) -> None:
    for n in range(30):
        receipts.finish(receipts.claim("shopify", "shop-a", b"%d" % n), {})
    receipts.finish(receipts.claim("shopify", "shop-a", b"timed", signed_at=T0), {})
    assert _rows(store) == 31
    clock.now = T0 + receipts.max_age + CLOCK_MARGIN + timedelta(seconds=1)
    assert receipts.purge() == 1  # the timed one; the others are kept longer
    clock.now = T0 + receipts.keep_untimed + CLOCK_MARGIN + timedelta(seconds=1)
    assert receipts.claim("shopify", "shop-a", b"another").new  # a claim purges too
    assert _rows(store) == 1


def test_a_claim_whose_holder_died_is_taken_over_after_its_lease(
        receipts: WebhookReceipts, clock: Clock) -> None:
    dead = receipts.claim("shopify", "shop-a", BODY)
    clock.now = T0 + receipts.lease - timedelta(seconds=1)
    assert receipts.claim("shopify", "shop-a", BODY).outcome is Outcome.IN_PROGRESS
    clock.now = T0 + receipts.lease + timedelta(seconds=1)
    taker = receipts.claim("shopify", "shop-a", BODY)
    assert taker.new
    assert not receipts.finish(dead, {"late": True})  # the old holder lost it
    receipts.release(dead)  # and cannot give back what it no longer holds
    assert receipts.finish(taker, {"ok": True})
    assert receipts.claim("shopify", "shop-a", BODY).result == {"ok": True}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"platform": ""}, "platform"), ({"platform": "a\x00b"}, "platform"),
    ({"store": "x" * 121}, "store"), ({"store": "\udcff"}, "store"),
    ({"body": "text"}, "body"), ({"signed_at": datetime(2026, 12, 3)}, "signed_at"),
])
def test_bad_arguments_are_refused_by_name(receipts: WebhookReceipts, kwargs: dict[str, object],
                                           field: str) -> None:
    args: dict[str, object] = {"platform": "shopify", "store": "shop-a", "body": BODY, **kwargs}
    with pytest.raises(ValidationError) as info:
        receipts.claim(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_the_key_is_a_digest_naming_nothing_of_the_body() -> None:
    key = receipt_key("shopify", "shop-a", b'{"email":"buyer@example.com"}')
    assert len(key) == 64
    assert int(key, 16) >= 0


@pytest.mark.slow
def test_processes_receiving_the_same_bodies_at_once_do_the_work_once(store: Store) -> None:
    serial = "serial" if store.dialect == "postgresql" else "integer"
    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE work_log (id {serial} PRIMARY KEY, body integer)"))
    count, go_at = 15, time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, str(WORKER), store.url, str(go_at), "race",
                               str(count)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outcomes: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        lines = out.split()
        assert lines[-1] == "done", out
        outcomes += lines[:-1]
    with store.engine.connect() as conn:
        work = dict(conn.execute(text("SELECT body, count(*) FROM work_log GROUP BY body")).all())
    assert work == dict.fromkeys(range(count), 1)
    assert outcomes.count("new") == count
    assert set(outcomes) <= {"new", "in_progress", "duplicate"}


@pytest.mark.slow
def test_a_receiver_killed_mid_way_leaves_the_body_to_the_next_after_the_lease(
        store: Store) -> None:
    proc = subprocess.Popen([sys.executable, str(WORKER), store.url, "0", "hold"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "claimed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    from tests.webhooks.receipt_worker import body

    now = datetime.now(UTC)
    receipts = WebhookReceipts(store, clock=lambda: now)
    assert receipts.claim("shopify", "shop-a", body(0)).outcome is Outcome.IN_PROGRESS
    later = WebhookReceipts(store, clock=lambda: now + receipts.lease + timedelta(seconds=1))
    assert later.claim("shopify", "shop-a", body(0)).new


def test_a_receiver_purges_at_most_once_a_minute(store: Store, receipts: WebhookReceipts,
                                                 clock: Clock) -> None:
    receipts.finish(receipts.claim("shopify", "shop-a", b"old", signed_at=T0), {})
    clock.now = T0 + receipts.max_age + CLOCK_MARGIN + timedelta(seconds=1)
    receipts.claim("shopify", "shop-a", b"a")  # purges: the old record goes
    assert _rows(store) == 1
    receipts.finish(receipts.claim("shopify", "shop-a", b"b", signed_at=clock.now), {})
    clock.now += receipts.max_age + CLOCK_MARGIN + timedelta(seconds=1)
    receipts._purged_at = clock.now - timedelta(seconds=30)  # purged 30 s ago
    receipts.claim("shopify", "shop-a", b"c")
    assert _rows(store) == 3  # b expired, but not purged again within the minute
    clock.now += timedelta(seconds=31)
    receipts.claim("shopify", "shop-a", b"d")
    assert _rows(store) == 3  # a and c are untimed and kept; b went; d came


def test_a_body_signed_far_in_the_future_is_not_kept_for_ever(
        store: Store, receipts: WebhookReceipts) -> None:
    receipts.finish(receipts.claim("shopify", "shop-a", BODY,
                                   signed_at=T0 + timedelta(days=3650)), {})
    with store.session() as session:
        expires = session.scalar(select(WebhookReceiptRow.expires_at))
    assert expires is not None
    assert expires <= T0 + receipts.keep_untimed + receipts.max_age + CLOCK_MARGIN
