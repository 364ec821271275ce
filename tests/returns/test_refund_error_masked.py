"""A refund refused with a body quoting the buyer stores only a masked error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses
from sqlalchemy import select

from aftersales.errors import AfterSalesError
from aftersales.http import ApiClient
from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason
from aftersales.store.tables.returns import RefundRow

TOKEN = "pay_token_0123456789abcdef"
PLANTED = ["alice.wong@example.com", "13812345678", "Alicia", "Wongsakul",
           "742 Evergreen Terrace", TOKEN]
BODY = {"error": {"message": "Refund refused for customer Alicia Wongsakul "
                             "(alice.wong@example.com, 13812345678)",
                  "customer": {"first_name": "Alicia", "last_name": "Wongsakul",
                               "default_address": {"address1": "742 Evergreen Terrace"}},
                  "echo": {"access_token": TOKEN}}}


def test_a_refused_refund_stores_a_masked_error(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = fresh_order()
    line = order.lines[0]
    req = synced.returns.request(
        order.marketplace, order.external_id,
        [ReturnLine(order_line_id=line.external_id, quantity=1,
                    reason=ReturnReason.QUALITY_ISSUE)],
        kind=ReturnKind.REFUND_ONLY, evidence=["photo.jpg"], force=True)
    synced.returns.approve(req.rma_id, override=True)
    client = ApiClient("sandbox", "https://pay.example.test", max_attempts=1,
                       headers={"X-Access-Token": TOKEN}, secrets=[TOKEN])

    def refuse(refund: Any, request: Any = None) -> Any:
        return client.post("refunds", json={"amount": str(refund.amount)})

    monkeypatch.setattr(sandbox, "refund", refuse)
    with responses.RequestsMock() as mock:
        mock.post("https://pay.example.test/refunds", status=422, json=BODY)
        with pytest.raises(AfterSalesError) as caught:
            synced.returns.refund(req.rma_id)
    with synced.store.session() as s:
        stored = s.scalars(select(RefundRow.error).where(RefundRow.rma_id == req.rma_id)).one()
    assert stored
    texts = [stored, str(caught.value), repr(caught.value)]
    assert [p for p in PLANTED for t in texts if p in t] == []


def test_any_error_text_assigned_to_a_column_is_masked() -> None:
    row = RefundRow()
    row.error = json.dumps(BODY)
    assert [p for p in PLANTED if p in (row.error or "")] == []
