"""A refund refused with a body quoting the buyer: only masked text in the column, the error
and a bulk run's report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select

from aftersales.errors import AfterSalesError, RemoteError, RemoteRejectedError
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


def _approved_refund(app: Any, order: Order) -> str:
    line = order.lines[0]
    req = app.returns.request(
        order.marketplace, order.external_id,
        [ReturnLine(order_line_id=line.external_id, quantity=1,
                    reason=ReturnReason.QUALITY_ISSUE)],
        kind=ReturnKind.REFUND_ONLY, evidence=["photo.jpg"], force=True)
    app.returns.approve(req.rma_id, override=True)
    rma: str = req.rma_id
    return rma


def _refusing(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's refunds go through a real ApiClient to a payment API that refuses."""

    def quote_the_provider(response: requests.Response) -> RemoteError | None:
        # As adapters do: the provider's own message becomes the error's message.
        if response.status_code < 400:
            return None
        return RemoteRejectedError(response.json()["error"]["message"],
                                   status=response.status_code)

    client = ApiClient("sandbox", "https://pay.example.test", max_attempts=1,
                       headers={"X-Access-Token": TOKEN}, secrets=[TOKEN],
                       classify_error=quote_the_provider)

    def refuse(refund: Any, request: Any = None) -> Any:
        return client.post("refunds", json={"amount": str(refund.amount)})

    monkeypatch.setattr(sandbox, "refund", refuse)


def test_a_refused_refund_stores_a_masked_error(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = _approved_refund(synced, fresh_order())
    _refusing(sandbox, monkeypatch)
    with responses.RequestsMock() as mock:
        mock.post("https://pay.example.test/refunds", status=422, json=BODY)
        with pytest.raises(AfterSalesError) as caught:
            synced.returns.refund(rma)
    with synced.store.session() as s:
        stored = s.scalars(select(RefundRow.error).where(RefundRow.rma_id == rma)).one()
    assert stored
    texts = [stored, str(caught.value), repr(caught.value)]
    assert [p for p in PLANTED for t in texts if p in t] == []


def test_a_bulk_report_shows_only_the_masked_error(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    rma = _approved_refund(synced, fresh_order())
    _refusing(sandbox, monkeypatch)
    path, report = tmp_path / "in.csv", tmp_path / "report.csv"
    path.write_text("action,rma_id,marketplace,order_id,sku,quantity,kind,reason,amount,"
                    f"currency,note\nrefund,{rma},,,,,,,5.00,CNY,partial\n", encoding="utf-8")
    with responses.RequestsMock() as mock:
        mock.post("https://pay.example.test/refunds", status=422, json=BODY)
        summary = synced.returns.bulk_file(path, report=report)
    text = report.read_text(encoding="utf-8")
    assert "error" in text
    assert "HTTP 422" in text
    assert "Refund refused for customer ***" in text
    assert [p for p in PLANTED if p in text or p in repr(summary)] == []


def test_any_error_text_assigned_to_a_column_is_masked() -> None:
    row = RefundRow()
    row.error = json.dumps(BODY)
    assert [p for p in PLANTED if p in (row.error or "")] == []


@pytest.mark.parametrize(("name", "quoted"), [
    ("Grace Hopperton", "Grace Hopperton disputes this charge; Hopperton asked her bank"),
    ("王小明", "王小明 已申请拒付，小明 说未收到货，王先生 请联系银行"),
])
def test_a_refused_refund_masks_the_buyers_name_quoted_without_a_cue(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, name: str, quoted: str,
) -> None:
    # No cue word, no personal key: the name is masked because the order says it is the buyer's.
    from aftersales.store.tables.core import OrderRow

    order = fresh_order()
    with synced.store.session() as s:
        row = s.scalars(select(OrderRow).where(OrderRow.external_id == order.external_id)).one()
        row.buyer = {**row.buyer, "name": name}
    rma = _approved_refund(synced, order)
    _refusing(sandbox, monkeypatch)
    with responses.RequestsMock() as mock:
        mock.post("https://pay.example.test/refunds", status=422,
                  json={"error": {"message": f"{quoted} (order {order.external_id})"}})
        with pytest.raises(AfterSalesError) as caught:
            synced.returns.refund(rma)
    with synced.store.session() as s:
        stored = s.scalars(select(RefundRow.error).where(RefundRow.rma_id == rma)).one()
    parts = [name, *name.split(), name[1:] if len(name) == 3 else name, name[0] + "先生"]
    for text in (stored or "", str(caught.value)):
        assert [p for p in parts if len(p) > 1 and p in text] == [], text
        assert order.external_id in text  # the order id stays readable


@pytest.mark.parametrize("name", ["Grace Hopperton", "王小明"])
def test_a_refused_approval_masks_the_buyers_name_quoted_without_a_cue(
    synced: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch, name: str,
) -> None:
    # Every push to the marketplace, not only refunds, knows whose request it is.
    from aftersales.models import ReturnStatus
    from aftersales.store.tables.core import OrderRow
    from aftersales.store.tables.returns import ReturnRow

    synced.returns.sync()
    with synced.store.session() as s:
        row = s.scalars(select(ReturnRow).where(
            ReturnRow.status == ReturnStatus.REQUESTED.value,
            ReturnRow.external_id.is_not(None)).limit(1)).one()
        rma = row.rma_id
        order = s.get(OrderRow, row.order_id)
        assert order is not None
        order.buyer = {**order.buyer, "name": name}
    client = ApiClient("sandbox", "https://shop.example.test", max_attempts=1,
                       classify_error=lambda r: RemoteRejectedError(
                           r.json()["message"], status=r.status_code)
                       if r.status_code >= 400 else None)

    def refuse(request: Any, **_: Any) -> None:
        client.post("returns/approve", json={"id": request.external_id})

    monkeypatch.setattr(sandbox, "approve_return", refuse)
    with responses.RequestsMock() as mock:
        mock.post("https://shop.example.test/returns/approve", status=422,
                  json={"message": f"{name} disputes this return, see case 88123"})
        with pytest.raises(AfterSalesError) as caught:
            synced.returns.approve(rma)
    text = str(caught.value)
    assert name not in text, text
    assert name.split()[-1] not in text, text
    assert "88123" in text


def test_reading_the_buyers_name_before_a_push_writes_nothing(
    synced: Any, fresh_order: Callable[..., Order],
) -> None:
    # The name is read in the caller's session just before the push: a change pending
    # there must stay pending, or the push would run inside a write transaction.
    from aftersales.store.tables.returns import ReturnRow

    rma = _approved_refund(synced, fresh_order())
    with synced.store.session() as s:
        row = s.scalars(select(ReturnRow).where(ReturnRow.rma_id == rma)).one()
        row.buyer_note = "changed, not yet written"
        synced.returns._ctx.buyer_names_of_row(row)
        assert row in s.dirty
        s.rollback()


@pytest.mark.parametrize("name", ["Grace Hopperton", "王小明"])
def test_a_refused_platform_action_masks_the_buyers_name(
    synced: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch, name: str,
) -> None:
    # Platform actions (refusal reasons, evidence, deadline extensions) know whose request it is.
    from aftersales.interfaces import Capability
    from aftersales.store.tables.core import OrderRow
    from aftersales.store.tables.returns import ReturnRow

    synced.returns.sync()
    with synced.store.session() as s:
        row = s.scalars(select(ReturnRow).where(ReturnRow.external_id.is_not(None))
                        .limit(1)).one()
        rma = row.rma_id
        order = s.get(OrderRow, row.order_id)
        assert order is not None
        order.buyer = {**order.buyer, "name": name}
    client = ApiClient("sandbox", "https://shop.example.test", max_attempts=1,
                       classify_error=lambda r: RemoteRejectedError(
                           r.json()["message"], status=r.status_code)
                       if r.status_code >= 400 else None)

    def refuse(request: Any) -> Any:
        return client.get("refusal-reasons", params={"id": request.external_id})

    monkeypatch.setattr(sandbox, "capabilities",
                        sandbox.capabilities | {Capability.LIST_REFUSAL_REASONS})
    monkeypatch.setattr(sandbox, "refusal_reasons", refuse)
    with responses.RequestsMock() as mock:
        mock.get("https://shop.example.test/refusal-reasons", status=422,
                 json={"message": f"{name} has a dispute open, see case 88123"})
        with pytest.raises(AfterSalesError) as caught:
            synced.returns.refusal_reasons(rma)
    text = str(caught.value)
    assert name not in text, text
    assert name.split()[-1] not in text, text
    assert "88123" in text
