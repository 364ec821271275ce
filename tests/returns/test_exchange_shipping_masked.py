"""Shipping an exchange's replacement: the platform's answer quoting the buyer is masked,
as it is for approvals and refunds (the name is known from the request's order)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select

from aftersales.errors import AfterSalesError, RemoteError, RemoteRejectedError
from aftersales.http import ApiClient
from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason, ReturnStatus


def _received_exchange(app: Any, order: Order, name: str) -> str:
    """A received exchange known to the marketplace, on an order whose buyer is ``name``."""
    from aftersales.store.tables.core import OrderRow
    from aftersales.store.tables.returns import ReturnRow

    line = order.lines[0]
    req = app.returns.request(
        order.marketplace, order.external_id,
        [ReturnLine(order_line_id=line.external_id, quantity=1, reason=ReturnReason.NO_REASON,
                    replacement_sku=line.sku + "-ALT")],
        kind=ReturnKind.EXCHANGE)
    rma: str = req.rma_id
    app.returns.approve(rma)
    app.returns.mark_shipped(rma, "SF1234567890123")
    app.returns.receive(rma)
    with app.store.session() as s:
        row = s.scalars(select(ReturnRow).where(ReturnRow.rma_id == rma)).one()
        row.external_id = f"EX-{rma}"  # the marketplace's own id: the push goes out
        stored = s.scalars(select(OrderRow).where(
            OrderRow.external_id == order.external_id)).one()
        stored.buyer = {**stored.buyer, "name": name}
    return rma


def _refusing_exchange_shipping(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox records the replacement parcel through a real ApiClient that is refused."""

    def quote_the_platform(response: requests.Response) -> RemoteError | None:
        # As adapters do: the platform's own message becomes the error's message.
        if response.status_code < 400:
            return None
        return RemoteRejectedError(response.json()["message"], status=response.status_code)

    client = ApiClient("sandbox", "https://shop.example.test", max_attempts=1,
                       classify_error=quote_the_platform)

    def ship(request: Any, shipment: Any) -> Any:
        return client.post("exchanges/ship", json={"id": request.external_id,
                                                   "tracking": shipment.tracking_number})

    monkeypatch.setattr(sandbox, "ship_exchange", ship)


@pytest.mark.parametrize(("name", "quoted"), [
    ("Grace Hopperton", "Grace Hopperton refused the replacement; Hopperton wants a refund"),
    ("王小明", "王小明 拒收换货，小明 要求退款"),
])
def test_a_refused_exchange_shipment_masks_the_buyers_name(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, name: str, quoted: str,
) -> None:
    rma = _received_exchange(synced, fresh_order(), name)
    _refusing_exchange_shipping(sandbox, monkeypatch)
    with responses.RequestsMock() as mock:
        mock.post("https://shop.example.test/exchanges/ship", status=422,
                  json={"message": f"{quoted}, see case 88123"})
        with pytest.raises(AfterSalesError) as caught:
            synced.returns.ship_exchange(rma, "YT1234567890123", carrier="yto")
        assert len(mock.calls) == 1  # the push went out and its answer was read
    parts = [name, *name.split(), name[1:] if len(name) == 3 else name]
    for text in (str(caught.value), repr(caught.value)):
        assert [p for p in parts if len(p) > 1 and p in text] == [], text
        assert "88123" in text  # the rest of the platform's answer stays readable
    # Nothing was written: the request is still received, with no exchange parcel.
    request = synced.returns.get(rma)
    assert request.status is ReturnStatus.RECEIVED
