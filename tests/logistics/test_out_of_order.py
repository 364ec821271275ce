"""Pushes and polls out of order, twice, or at the same instant: a parcel never moves back.

A provider's answer describes the parcel as of its newest scan. An answer
older than what the store already has (a push delayed in the provider's
queue, a poll racing a push) keeps the newer status; a delivered, returned
or expired parcel is never reopened by a non-final answer; the same push
applied twice, or by two processes at once, stores each scan and announces
each change once.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.models import ParcelStatus
from aftersales.store.tables.core import OutboxRow, ShipmentRow, TrackingEventRow

from .conftest import Clock, ScriptedCarrier, add_parcels, numbers
from .push_worker import T0, JsonPushCarrier, push

WORKER = Path(__file__).with_name("push_worker.py")


def _parcel(app: Any) -> ShipmentRow:
    with app.store.session() as session:
        row = session.scalar(select(ShipmentRow))
        assert row is not None
        session.expunge(row)
        return row


def _topics(app: Any) -> list[str]:
    with app.store.session() as session:
        return list(session.scalars(select(OutboxRow.event_type).order_by(OutboxRow.id)))


def test_a_delivered_parcel_is_not_reopened_by_an_in_transit_push(make_app: Any) -> None:
    app = make_app(ScriptedCarrier(status=ParcelStatus.DELIVERED), JsonPushCarrier())
    [number] = numbers(1)
    add_parcels(app, [number])
    app.logistics.refresh()
    before = _parcel(app)
    assert (before.status, before.terminal, before.delivered_at) == ("delivered", True, T0)

    app.logistics.handle_push("pusher", push([number], ParcelStatus.IN_TRANSIT, 3), {})

    after = _parcel(app)
    assert (after.status, after.terminal, after.delivered_at) == ("delivered", True, T0)
    assert _topics(app) == ["parcel.delivered"]
    assert app.logistics.anomalies() == []


def test_a_pending_answer_keeps_a_delivered_parcels_delivery_time(make_app: Any,
                                                                  clock: Clock) -> None:
    app = make_app(ScriptedCarrier(status=ParcelStatus.DELIVERED), JsonPushCarrier())
    [number] = numbers(1)
    add_parcels(app, [number])
    app.logistics.refresh()
    app.logistics.handle_push("pusher", push([number], ParcelStatus.PENDING, 0), {})
    after = _parcel(app)
    assert (after.status, after.delivered_at) == ("delivered", T0)


def test_an_older_push_after_a_newer_one_keeps_the_newer_status(make_app: Any) -> None:
    app = make_app(JsonPushCarrier())
    [number] = numbers(1)
    add_parcels(app, [number])
    app.logistics.handle_push("pusher", push([number], ParcelStatus.OUT_FOR_DELIVERY, 5), {})
    # The provider's earlier push, delayed in its queue, arrives second.
    app.logistics.handle_push("pusher", push([number], ParcelStatus.EXCEPTION, 3), {})

    after = _parcel(app)
    assert after.status == "out_for_delivery"
    assert after.last_event_at == T0 + timedelta(hours=4)
    assert _topics(app) == ["parcel.out_for_delivery"]  # no exception alerted from the past
    assert app.logistics.anomalies() == []
    with app.store.session() as session:  # its scans are real ones all the same
        scans = session.scalar(select(func.count()).select_from(TrackingEventRow))
    assert scans == 5 + 1  # the older push's last scan is an exception scan, new


def test_the_same_push_twice_stores_and_announces_once(make_app: Any) -> None:
    app = make_app(JsonPushCarrier())
    [number] = numbers(1)
    add_parcels(app, [number])
    body = push([number], ParcelStatus.EXCEPTION, 4)
    assert app.logistics.handle_push("pusher", body, {}) == 1
    app.logistics.handle_push("pusher", body, {})
    with app.store.session() as session:
        scans = session.scalar(select(func.count()).select_from(TrackingEventRow))
    assert scans == 4
    assert _topics(app) == ["parcel.exception"]


def test_one_push_naming_a_parcel_twice_is_applied_in_order(make_app: Any) -> None:
    app = make_app(JsonPushCarrier())
    [number] = numbers(1)
    add_parcels(app, [number])
    body = (push([number], ParcelStatus.EXCEPTION, 2)[:-1] + b","
            + push([number], ParcelStatus.DELIVERED, 3)[1:])
    app.logistics.handle_push("pusher", body, {})
    after = _parcel(app)
    assert (after.status, after.terminal) == ("delivered", True)
    assert _topics(app) == ["parcel.exception", "parcel.delivered"]


@pytest.mark.slow
def test_two_processes_applying_the_same_pushes_at_once(db_url: str) -> None:
    from aftersales.app import AfterSales

    parcels, steps = 40, 24  # the last push is an in-transit one
    app = AfterSales(db_url, marketplaces=[], carriers=[])
    try:
        add_parcels(app, numbers(parcels), carrier="sf")
        procs = [subprocess.Popen([sys.executable, str(WORKER), db_url, str(parcels), str(steps)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-2000:]
            assert out.strip() == "done"
        with app.store.session() as session:
            scans = session.execute(select(TrackingEventRow.shipment_id, func.count())
                                    .group_by(TrackingEventRow.shipment_id)).all()
            alerts = session.scalar(select(func.count()).select_from(OutboxRow)
                                    .where(OutboxRow.event_type == "parcel.exception"))
            rows = list(session.scalars(select(ShipmentRow)))
        # Push k re-sends scans 0 … k-2 in transit and tells scan k-1 at its own status.
        distinct = {(h, "exception" if k % 5 == 0 and h == k - 1 else "in_transit")
                    for k in range(1, steps + 1) for h in range(k)}
        assert sorted(count for _, count in scans) == [len(distinct)] * parcels
        assert alerts == parcels * (steps // 5)
        assert {(r.status, r.last_event_at) for r in rows} == {
            ("in_transit", T0 + timedelta(hours=steps - 1))}
    finally:
        app.close()


def _reused(make_app: Any, status: str = "delivered") -> tuple[Any, str, int, int]:
    """A number finished two years ago, then given by the carrier to a new parcel."""
    app = make_app(JsonPushCarrier())
    [number] = numbers(1)
    [old] = add_parcels(app, [number], shipped_at=T0 - timedelta(days=730))
    with app.store.session() as session:
        row = session.get(ShipmentRow, old)
        assert row is not None
        row.status, row.terminal = status, True
        row.last_event_at = row.delivered_at = T0 - timedelta(days=728)
    [new] = add_parcels(app, [number])
    return app, number, old, new


def _state(app: Any, parcel: int) -> tuple[str, Any, Any, int]:
    with app.store.session() as session:
        row = session.get(ShipmentRow, parcel)
        assert row is not None
        scans = session.scalar(select(func.count()).select_from(TrackingEventRow)
                               .where(TrackingEventRow.shipment_id == parcel))
        return row.status, row.delivered_at, row.last_event_at, int(scans or 0)


@pytest.mark.parametrize("finished", ["delivered", "returned", "expired"])
def test_a_reused_number_updates_the_new_parcel_only(make_app: Any, finished: str) -> None:
    app, number, old, new = _reused(make_app, finished)
    before = _state(app, old)
    app.logistics.handle_push("pusher", push([number], ParcelStatus.IN_TRANSIT, 2), {})
    app.logistics.handle_push("pusher", push([number], ParcelStatus.DELIVERED, 4), {})
    assert _state(app, old) == before
    assert _state(app, new) == ("delivered", T0 + timedelta(hours=3), T0 + timedelta(hours=3), 4)
    with app.store.session() as session:
        delivered = list(session.scalars(select(OutboxRow.payload)
                                         .where(OutboxRow.event_type == "parcel.delivered")))
    assert [p["shipment_id"] for p in delivered] == [new]


def test_a_stored_reused_number_is_tracked_as_its_new_parcel(make_app: Any) -> None:
    app, number, _old, _new = _reused(make_app)
    app.logistics.handle_push("pusher", push([number], ParcelStatus.DELIVERED, 4), {})
    tracking = app.logistics.track(number)  # every parcel of the number final: from the store
    assert tracking.delivered_at == T0 + timedelta(hours=3)
    assert len(tracking.events) == 4


REFRESH_WORKER = Path(__file__).with_name("refresh_worker.py")


def _worker(url: str, name: str, pause_at: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(REFRESH_WORKER), url, name, str(pause_at)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _asked(out: str) -> list[str]:
    return [line.split()[1] for line in out.splitlines() if line.startswith("asked ")]


@pytest.mark.slow
def test_refresh_workers_in_two_processes_and_one_killed_mid_write(db_url: str) -> None:
    """Two workers start at once, a third is SIGKILLed inside a write; a run one TTL
    later finishes its parcels: each parcel asked for once per run that claimed it,
    each scan stored once, each exception alerted once."""
    import signal

    from aftersales.app import AfterSales

    total = 400
    app = AfterSales(db_url, marketplaces=[], carriers=[])
    try:
        parcels = numbers(total)
        add_parcels(app, parcels)
        victim = _worker(db_url, "victim", pause_at=3)
        assert victim.stdout is not None
        victim_asked = []
        for line in victim.stdout:
            if line.strip() == "paused":
                break
            victim_asked += _asked(line)
        others = [_worker(db_url, f"w{i}") for i in (1, 2)]
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=60) == -signal.SIGKILL
        victim_asked += _asked(victim.stdout.read())  # its calls still in flight
        asked = []
        for proc in others:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-2000:]
            assert out.rstrip().endswith("done")
            asked += _asked(out)
        # Two workers at once split what was due: nothing asked twice.
        assert len(asked) == len(set(asked))
        assert not set(asked) & set(victim_asked)
        with app.store.session() as session:
            stranded = list(session.scalars(select(ShipmentRow.tracking_number)
                                            .where(ShipmentRow.last_event_at.is_(None))))
        # The victim's claimed but unwritten parcels wait out their lease (one TTL) ...
        assert stranded
        assert not set(stranded) & set(asked)
        with app.store.session() as session:
            for row in session.scalars(select(ShipmentRow)
                                       .where(ShipmentRow.tracking_number.in_(stranded))):
                row.last_checked_at -= timedelta(hours=2)  # ... which has passed
        again = _worker(db_url, "next")
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err[-2000:]
        assert sorted(_asked(out)) == sorted(stranded)
        with app.store.session() as session:
            scans = session.execute(select(TrackingEventRow.shipment_id, func.count())
                                    .group_by(TrackingEventRow.shipment_id)).all()
            alerts = list(session.scalars(select(OutboxRow.key)
                                          .where(OutboxRow.event_type == "parcel.exception")))
            statuses = {r.tracking_number: r.status for r in session.scalars(select(ShipmentRow))}
        assert sorted(count for _, count in scans) == [1] * total
        assert len(alerts) == len(set(alerts)) == total // 10
        assert statuses == {n: "exception" if n.endswith("0") else "in_transit" for n in parcels}
    finally:
        app.close()


def test_a_push_for_one_carrier_leaves_another_carriers_parcel_of_that_number(
        make_app: Any) -> None:
    app = make_app(JsonPushCarrier())
    number = "7300000000001"  # digits only: ZTO, STO and Yunda waybills share the shape
    [zto] = add_parcels(app, [number], carrier="zto")
    [sto] = add_parcels(app, [number], carrier="sto")
    app.logistics.handle_push("pusher", push([number], ParcelStatus.EXCEPTION, 2,
                                             carrier="zto"), {})
    assert _state(app, zto)[0::3] == ("exception", 2)
    assert _state(app, sto) == ("pending", None, None, 0)
    with app.store.session() as session:
        assert session.get(ShipmentRow, sto).carrier == "sto"  # type: ignore[union-attr]
        alerted = list(session.scalars(select(OutboxRow.payload)))
    assert [p["shipment_id"] for p in alerted] == [zto]


def test_track_with_a_carrier_writes_that_carriers_parcel_only(make_app: Any) -> None:
    app = make_app(ScriptedCarrier(status=ParcelStatus.EXCEPTION))
    number = "7300000000001"
    [zto] = add_parcels(app, [number], carrier="zto")
    [sto] = add_parcels(app, [number], carrier="sto")
    assert app.logistics.track(number, "sto").carrier == "sto"
    assert _state(app, sto)[0::3] == ("exception", 1)
    assert _state(app, zto) == ("pending", None, None, 0)


@pytest.mark.parametrize("pushed", ["", " ", "\x00", "-"])
def test_a_push_without_a_usable_number_touches_no_parcel(make_app: Any, pushed: str) -> None:
    app = make_app(JsonPushCarrier())
    [blank] = add_parcels(app, [pushed])  # a marketplace's parcel with no real number
    assert app.logistics.handle_push("pusher", push([pushed], ParcelStatus.EXCEPTION, 2), {}) == 0
    assert _state(app, blank) == ("pending", None, None, 0)
    assert _topics(app) == []


def test_a_final_answer_applies_even_when_its_scans_look_older(make_app: Any) -> None:
    """One provider read a scan's local time in the wrong zone (hours ahead); the next
    says delivered with correct, so earlier-looking, times: the parcel is delivered."""
    app = make_app(JsonPushCarrier())
    [number] = numbers(1)
    add_parcels(app, [number])
    app.logistics.handle_push("pusher", push([number], ParcelStatus.IN_TRANSIT, 12), {})
    app.logistics.handle_push("pusher", push([number], ParcelStatus.DELIVERED, 4), {})
    after = _parcel(app)
    assert (after.status, after.terminal) == ("delivered", True)
    assert after.delivered_at == T0 + timedelta(hours=3)
    assert after.last_event_at == T0 + timedelta(hours=11)  # never moves back
    assert _topics(app) == ["parcel.delivered"]


def test_a_scan_far_in_the_future_is_not_stored_nor_holds_the_parcel_back(
        make_app: Any, clock: Clock) -> None:
    """An adapter that let a year-ahead scan through (a typo'd year, a day/month swap)
    must not freeze the parcel: that scan is dropped, later answers still apply."""
    app = make_app(JsonPushCarrier())
    [number] = numbers(1)
    add_parcels(app, [number])
    clock.now = T0 + timedelta(hours=3)
    ahead = push([number], ParcelStatus.IN_TRANSIT, 24 * 400)  # scans up to 400 days on
    app.logistics.handle_push("pusher", ahead, {})
    row = _parcel(app)
    assert row.last_event_at is not None
    assert row.last_event_at <= clock.now + timedelta(days=1)
    clock.advance(timedelta(days=2))
    app.logistics.handle_push("pusher", push([number], ParcelStatus.EXCEPTION, 30), {})
    assert _parcel(app).status == "exception"
    with app.store.session() as session:
        latest = session.scalar(select(func.max(TrackingEventRow.occurred_at)))
    assert latest is not None
    assert latest <= clock.now + timedelta(days=1)
