"""A refund push never outlasts its push lease, however slow the marketplace is.

The lease (``refund_claim.PUSH_LEASE``) is what keeps a second worker from
taking a refund over while the first still pushes it. Shopify's push is a
``refunds/calculate`` (retried while it fails) and then ``refundCreate``;
here every calculation is slow and the first ones fail, so, unbounded, the
push would still be retrying, and then paying, after the lease had run out.
Bounded, every call ends before the lease does, and the refund is left
pending (its outcome unknown, the lease released) for the next call.
The lease is shrunk to seconds so the case stays quick; a call may start
up to MARGIN before the lease ends, so MARGIN - SLOW (0.4 s) is the room
left for a loaded machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import TransientError
from aftersales.models import ReturnStatus
from aftersales.returns import refund_claim
from aftersales.store.tables.returns import RefundRow

from .conftest import TOKEN
from .test_lost_answers import LosingShop

LEASE = 2.4  # seconds
MARGIN = 1.0
SLOW = 0.6  # each calculation takes this long


class SlowShop(LosingShop):
    """Calculates slowly, failing (503) while ``failing`` is above zero; records each call."""

    failing = 0
    #: (what, started, ended) in monotonic seconds
    calls: list[tuple[str, float, float]]

    def _calculate(self, request: Any) -> tuple[int, dict[str, str], str]:
        started = time.monotonic()
        time.sleep(SLOW)
        try:
            if self.failing > 0:
                self.failing -= 1
                return 503, {"Content-Type": "application/json"}, json.dumps({"errors": "busy"})
            return super()._calculate(request)
        finally:
            self.calls.append(("calculate", started, time.monotonic()))

    def _graphql(self, request: Any) -> Any:
        started = time.monotonic()
        try:
            return super()._graphql(request)
        finally:
            if "refundCreate" in json.loads(request.body)["query"]:
                self.calls.append(("refundCreate", started, time.monotonic()))


@pytest.fixture
def shop(http: responses.RequestsMock) -> SlowShop:
    made = SlowShop(http)
    made.calls = []
    return made


@pytest.fixture
def app(sqlite_url: str, shop: SlowShop) -> Iterator[AfterSales]:
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token=TOKEN,
                                                page_size=3), sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _received(app: AfterSales) -> str:
    rma = next(r.rma_id for r in app.returns.list(marketplace="shopify")
               if r.external_id == "gid://shopify/Return/200") or ""
    app.returns.approve(rma)
    app.returns.mark_shipped(rma, tracking_number="1Z999AA10123456784", carrier="ups")
    app.returns.receive(rma)
    return rma


def test_a_slow_push_ends_before_its_lease_and_is_left_for_the_next_call(
        app: AfterSales, shop: SlowShop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refund_claim, "PUSH_LEASE", timedelta(seconds=LEASE))
    monkeypatch.setattr(refund_claim, "PUSH_MARGIN", timedelta(seconds=MARGIN))
    rma = _received(app)
    shop.failing = 3  # the fourth calculation (the ApiClient's last attempt) would answer
    shop.calls.clear()
    claimed_at = time.monotonic()
    with pytest.raises(TransientError, match="time budget"):
        app.returns.refund(rma, idempotency_key="slow")
    lease_ends = claimed_at + LEASE
    assert shop.calls, "the push made no call"
    assert all(ended < lease_ends for _, _, ended in shop.calls), shop.calls
    assert "refundCreate" not in [what for what, _, _ in shop.calls]
    with app.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert (row.status, row.lease_until) == ("pending", None)
        assert (row.error or "").startswith("outcome unknown")
    # The next call resumes it, the marketplace answering quickly: paid exactly once.
    shop.failing = 0
    monkeypatch.setattr(refund_claim, "PUSH_LEASE", timedelta(minutes=2))
    app.returns.refund(rma, idempotency_key="slow")
    assert len(shop.refunds) == 1
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED
