"""LogisticsService: track(), anomalies(), pushes, returns received on delivery."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.errors import (
    InvalidTransitionError,
    NotFoundError,
    RemoteRejectedError,
    SignatureError,
    TransientError,
    ValidationError,
)
from aftersales.logistics.anomalies import AnomalyKind
from aftersales.models import ParcelStatus
from aftersales.store.tables.core import ShipmentRow

from .conftest import T0, Clock, ScriptedCarrier, add_parcels, numbers


def test_track_asks_the_provider_for_an_unknown_number(make_app: Any) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    tracking = app.logistics.track(" sf-0000000000001 ")
    assert tracking.number == "SF0000000000001"
    assert tracking.carrier == "sf"  # detected from the number: only SF fits
    assert provider.batches == [["SF0000000000001"]]


def test_track_serves_a_fresh_stored_parcel_without_a_call(make_app: Any, clock: Clock) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    [number] = numbers(1)
    add_parcels(app, [number])
    first = app.logistics.track(number)
    again = app.logistics.track(number)
    assert provider.calls == 1
    assert again.status is first.status is ParcelStatus.IN_TRANSIT
    assert [e.description for e in again.events] == [e.description for e in first.events]
    app.logistics.track(number, fresh=True)
    assert provider.calls == 2
    clock.advance(timedelta(hours=2))
    app.logistics.track(number)
    assert provider.calls == 3


def test_track_passes_the_given_carrier(make_app: Any) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    assert app.logistics.track("4311159956248", carrier="YUNDA").carrier == "yunda"


def test_track_raises_the_last_failure(make_app: Any) -> None:
    app = make_app(ScriptedCarrier(fail=TransientError("down", adapter="primary")))
    with pytest.raises(TransientError):
        app.logistics.track("SF0000000000001")


def test_track_of_a_number_nobody_knows(make_app: Any) -> None:
    app = make_app(ScriptedCarrier(refuse=["SF0000000000001"]))
    with pytest.raises(RemoteRejectedError, match="unknown number"):
        app.logistics.track("SF0000000000001")


def test_track_refuses_an_empty_number(make_app: Any) -> None:
    app = make_app(ScriptedCarrier())
    with pytest.raises(ValidationError, match="number"):
        app.logistics.track("  - ")


def _set(app: Any, number: str, **values: Any) -> None:
    with app.store.session() as session:
        row = session.scalar(select(ShipmentRow).where(ShipmentRow.tracking_number == number))
        for key, value in values.items():
            setattr(row, key, value)


def test_anomalies(make_app: Any, clock: Clock) -> None:
    app = make_app(ScriptedCarrier())
    stuck, fine, broken, failed, back, done = numbers(6)
    add_parcels(app, [stuck, fine, broken, failed, back, done])
    now = clock.now
    _set(app, stuck, status="in_transit", last_event_at=now - timedelta(days=3))
    _set(app, fine, status="in_transit", last_event_at=now - timedelta(hours=5))
    _set(app, broken, status="exception", issue="lost", last_event_at=now - timedelta(hours=1))
    _set(app, failed, status="failed_attempt", last_event_at=now - timedelta(hours=2))
    _set(app, back, status="returning", last_event_at=now - timedelta(hours=3))
    _set(app, done, status="delivered", terminal=True, last_event_at=now - timedelta(days=9))
    found = {a.tracking_number: a for a in app.logistics.anomalies()}
    assert set(found) == {stuck, broken, failed, back}
    assert found[stuck].kind is AnomalyKind.STUCK
    assert found[broken].kind is AnomalyKind.EXCEPTION
    assert found[broken].issue is not None
    assert found[failed].kind is AnomalyKind.FAILED_ATTEMPT
    assert found[back].kind is AnomalyKind.RETURNING
    assert next(iter(found)) == stuck  # oldest first


def test_stuck_thresholds_can_be_configured(make_app: Any, clock: Clock) -> None:
    app = make_app(ScriptedCarrier(), logistics={"stuck_after": {"sf": timedelta(hours=4)}})
    [number] = numbers(1)
    add_parcels(app, [number])
    _set(app, number, status="in_transit", last_event_at=clock.now - timedelta(hours=5))
    assert [a.kind for a in app.logistics.anomalies()] == [AnomalyKind.STUCK]


def test_logistics_reports_a_delivered_return_parcel_through_its_callable(
    sqlite_url: str,
) -> None:
    """Logistics is built from a runtime alone; another area is only a callable."""
    from aftersales.config import AfterSalesSettings
    from aftersales.logistics.service import LogisticsService
    from aftersales.runtime import Runtime
    from aftersales.store import Store

    store = Store(sqlite_url)
    store.upgrade()
    runtime = Runtime(store, AfterSalesSettings.load(),
                      carriers={"primary": ScriptedCarrier(status=ParcelStatus.DELIVERED)},
                      clock=lambda: T0)
    calls: list[tuple[str, str, datetime | None, bool]] = []

    def receive(rma_id: str, *, number: str, delivered_at: datetime | None,
                force: bool) -> None:
        calls.append((rma_id, number, delivered_at, force))
        raise InvalidTransitionError("return", "received", "received")  # refused: not fatal

    logistics = LogisticsService(runtime, receive_return=receive)
    [number] = numbers(1)
    add_parcels(SimpleNamespace(store=store, now=lambda: T0), [number], direction="return",
                rma_id="RMA-3")
    assert logistics.refresh().checked == 1
    assert calls == [("RMA-3", number, T0, False)]
    store.dispose()


def _shipped_return(app: Any, sandbox: Any, number: str) -> str:
    app.sync_orders("sandbox")
    order = next(o for page in sandbox.list_orders(None) for o in page.items
                 if o.delivered_at is not None)
    request = app.returns.request("sandbox", order.external_id, {order.lines[0].external_id: 1},
                                  reason="wrong_size", force=True, auto=False)
    assert request.rma_id is not None
    app.returns.approve(request.rma_id, override=True)
    app.returns.mark_shipped(request.rma_id, number, "sf")
    return request.rma_id


@pytest.mark.parametrize(
    ("policy_says", "logistics", "expected"),
    [
        (True, {}, "received"),  # the policy's receive_on_delivery decides
        (False, {}, "return_shipped"),  # off by default: the warehouse says when
        (True, {"receive_returns": False}, "return_shipped"),  # the setting overrides it
        (False, {"receive_returns": True}, "received"),
    ],
)
def test_a_return_parcel_delivered_to_the_warehouse_receives_its_request_when_told(
    sqlite_url: str, sandbox: Any, policy_says: bool, logistics: dict[str, Any], expected: str
) -> None:
    from aftersales.app import AfterSales

    app = AfterSales(sqlite_url, marketplaces=[sandbox],
                     carriers=[ScriptedCarrier(status=ParcelStatus.DELIVERED)],
                     clock=lambda: sandbox.now, logistics=logistics,
                     return_policy={"receive_on_delivery": policy_says})
    try:
        rma_id = _shipped_return(app, sandbox, "SF9999999999999")
        seen: list[Any] = []
        app.on("parcel.delivered", seen.append)
        assert app.logistics.refresh().checked >= 1
        request = app.returns.get(rma_id)
        assert request.status.value == expected
        assert [e.payload["direction"] for e in seen if e.payload["rma_id"] == rma_id] == ["return"]
        if expected == "received":
            audit = app.returns.history(rma_id)[-1]
            assert (audit.actor, audit.to_status) == ("logistics", "received")
            assert "SF9999999999999 delivered" in (audit.note or "")
    finally:
        app.close()


def test_a_return_already_received_by_the_warehouse_does_not_stop_the_refresh(
    sqlite_url: str, sandbox: Any
) -> None:
    from aftersales.app import AfterSales

    app = AfterSales(sqlite_url, marketplaces=[sandbox],
                     carriers=[ScriptedCarrier(status=ParcelStatus.DELIVERED)],
                     clock=lambda: sandbox.now, return_policy={"receive_on_delivery": True})
    try:
        rma_id = _shipped_return(app, sandbox, "SF9999999999998")
        app.returns.receive(rma_id)  # the warehouse was quicker than the carrier's feed
        assert app.logistics.refresh().checked >= 1
        assert app.returns.get(rma_id).status.value == "received"
    finally:
        app.close()


def test_push_updates_stored_parcels(make_app: Any) -> None:
    from aftersales.sandbox import SandboxCarrier, SandboxMarketplace

    shop = SandboxMarketplace(seed=0, orders=5)
    carrier = SandboxCarrier(clock=shop.clock)
    app = make_app(carrier)
    number = next(s.tracking_number for o in _orders(shop) for s in o.shipments)
    add_parcels(app, [number], carrier=None)
    body, headers = carrier.make_push([number])
    assert app.logistics.handle_push("sandbox", body, headers) == 1
    with pytest.raises(SignatureError):
        app.logistics.handle_push("sandbox", body + b" ", headers)
    with pytest.raises(NotFoundError):
        app.logistics.handle_push("nonesuch", body, headers)


def _orders(shop: Any) -> list[Any]:
    return [o for page in shop.list_orders(None) for o in page.items]


def test_sandbox_shop_end_to_end(app: Any) -> None:
    app.sync_orders("sandbox")
    report = app.logistics.refresh()
    assert report.due > 0
    assert report.checked == report.due
    assert not report.unresolved
    assert report.total_calls == math.ceil(report.due / 40)
    again = app.logistics.refresh()
    assert again.total_calls == 0


def test_stored_numbers_with_spaces_are_found_and_queried_clean(make_app: Any) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    add_parcels(app, ["SF 0000 0000 00001"])
    app.logistics.refresh()
    assert provider.numbers == ["SF0000000000001"]
    assert app.logistics.track("SF 0000 0000 00001").provider == "primary"
    assert provider.calls == 1  # found as the shop stored it, and fresh: no second call
