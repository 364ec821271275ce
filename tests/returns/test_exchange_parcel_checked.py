"""An exchange's replacement parcel is checked before the marketplace hears of it.

Its number and carrier are stored as the logistics area's parcel
(:func:`~aftersales.store.parcel_keys.store_parcel`), which refuses a number
that is no tracking number; refused after the push, the marketplace would
hold a shipment the request never records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aftersales.errors import ValidationError
from aftersales.models import Order, ReturnStatus

from .test_exchange_shipping_masked import _received_exchange


@pytest.mark.parametrize(("number", "carrier", "field"), [
    ("SF\x00123456", None, "tracking_number"),
    ("A" * 200, None, "tracking_number"),
    ("YT1234567890123", "x" * 100, "carrier"),
])
def test_a_replacement_parcel_that_is_none_is_refused_before_the_push(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, number: str, carrier: str | None, field: str,
) -> None:
    rma = _received_exchange(synced, fresh_order(), "Grace Hopperton")
    told: list[Any] = []
    monkeypatch.setattr(sandbox, "ship_exchange", lambda request, shipment: told.append(shipment))
    with pytest.raises(ValidationError) as caught:
        synced.returns.ship_exchange(rma, number, carrier=carrier)
    assert caught.value.field == field
    assert told == []  # the marketplace never heard of it
    assert synced.returns.get(rma).status is ReturnStatus.RECEIVED
