"""Sandbox actions: each changes the shop, bumps updated_at, and refuses what it must."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pytest

from aftersales.errors import RemoteNotFoundError, RemoteRejectedError, TransientError
from aftersales.models import (
    Message,
    Money,
    ParcelStatus,
    Refund,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
    ShipmentDirection,
    TrackQuery,
)
from aftersales.sandbox import Faults, SandboxCarrier, SandboxMarketplace


def _returns(shop: SandboxMarketplace, cursor: str | None = None) -> list[ReturnRequest]:
    return [r for page in shop.list_returns(cursor) for r in page.items]


def _pick(shop: SandboxMarketplace, status: ReturnStatus,
          kinds: Iterable[ReturnKind] = tuple(ReturnKind)) -> ReturnRequest:
    return next(r for r in _returns(shop) if r.status is status and r.kind in set(kinds))


def _last_cursor(shop: SandboxMarketplace) -> str | None:
    pages = list(shop.list_returns())
    return pages[-1].cursor if pages else None


def _refund_for(request: ReturnRequest, key: str, amount: Money | None = None) -> Refund:
    amount = amount or request.requested_amount
    assert amount is not None
    return Refund(order_id=request.order_id, amount=amount, idempotency_key=key)


# ---------------------------------------------------------------- approve / reject


def test_approve_moves_the_request_and_shows_up_after_the_last_cursor(
    shop: SandboxMarketplace,
) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED, [ReturnKind.RETURN])
    cursor = _last_cursor(shop)
    before = shop.now
    shop.approve_return(request, note="ok")
    assert shop.now > before  # each action takes a simulated second
    after = shop.get_return(request.external_id or "")
    assert after.status is ReturnStatus.APPROVED
    assert after.raw_status == "WAIT_BUYER_RETURN_GOODS"
    assert after.updated_at == shop.now
    assert [r.external_id for r in _returns(shop, cursor)] == [request.external_id]


def test_approving_a_refund_only_request_uses_its_own_raw_status(
    shop: SandboxMarketplace,
) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED, [ReturnKind.REFUND_ONLY])
    shop.approve_return(request)
    assert shop.get_return(request.external_id or "").raw_status == "SELLER_AGREED_REFUND"


def test_approving_twice_changes_nothing_the_second_time(shop: SandboxMarketplace) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED)
    shop.approve_return(request)
    first = shop.get_return(request.external_id or "")
    shop.approve_return(request)
    assert shop.get_return(request.external_id or "") == first


def test_a_cancelled_request_cannot_be_approved(shop: SandboxMarketplace) -> None:
    request = _pick(shop, ReturnStatus.CANCELLED)
    with pytest.raises(RemoteRejectedError) as info:
        shop.approve_return(request)
    assert info.value.code == "invalid_status"
    assert shop.get_return(request.external_id or "") == request.model_copy(
        update={"updated_at": request.updated_at})


def test_reject_needs_a_reason_and_a_rejected_request_may_be_revised(
    shop: SandboxMarketplace,
) -> None:
    requested = [r for r in _returns(shop) if r.status is ReturnStatus.REQUESTED]
    with pytest.raises(RemoteRejectedError, match="reason"):
        shop.reject_return(requested[0], reason="  ")
    assert shop.get_return(requested[0].external_id or "").status is ReturnStatus.REQUESTED
    for r in requested:
        shop.reject_return(r, reason="超过退货期 Outside the return window")
        assert shop.get_return(r.external_id or "").raw_status == "SELLER_REFUSE_BUYER"
    shop.advance(days=4)
    again = [shop.get_return(r.external_id or "") for r in requested]
    reopened = [r for r in again if r.raw_status == "BUYER_MODIFIED"]
    assert reopened, "some buyers revise a rejected request"
    assert all(r.status is ReturnStatus.REQUESTED for r in reopened)


def test_unknown_requests_are_not_found(shop: SandboxMarketplace) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED)
    for bad in (None, "RT99999999", "nonsense"):
        with pytest.raises(RemoteNotFoundError):
            shop.approve_return(request.model_copy(update={"external_id": bad}))


# ---------------------------------------------------------------- the return path


def test_the_buyer_ships_back_after_approval_and_the_parcel_is_trackable(
    shop: SandboxMarketplace, carrier: SandboxCarrier
) -> None:
    requests = [r for r in _returns(shop)
                if r.status is ReturnStatus.REQUESTED and r.kind is ReturnKind.RETURN]
    for r in requests:
        shop.approve_return(r)
    shop.advance(days=4)
    shipped = [shop.get_return(r.external_id or "") for r in requests]
    shipped = [r for r in shipped if r.status is ReturnStatus.RETURN_SHIPPED]
    assert shipped, "buyers post approved returns back within days"
    request = shipped[0]
    assert request.raw_status == "WAIT_SELLER_CONFIRM_GOODS"
    assert request.return_tracking_number
    assert request.return_carrier
    assert carrier.detect(request.return_tracking_number) == [request.return_carrier]
    parcels = shop.list_shipments(request.order_id)
    back = [s for s in parcels if s.direction is ShipmentDirection.RETURN]
    assert [s.tracking_number for s in back] == [request.return_tracking_number]
    assert back[0].shipped_at is not None
    assert request.updated_at is not None
    assert back[0].shipped_at <= request.updated_at <= shop.now
    assert shop.get_order(request.order_id).updated_at >= request.updated_at

    shop.confirm_return_received(request)
    assert shop.get_return(request.external_id or "").status is ReturnStatus.RECEIVED
    shop.refund(_refund_for(request, "rf-1"), request)
    assert shop.get_return(request.external_id or "").status is ReturnStatus.REFUNDED
    shop.advance(days=2)
    closed = shop.get_return(request.external_id or "")
    assert (closed.status, closed.raw_status) == (ReturnStatus.CLOSED, "CLOSED_FINISHED")


def test_a_refund_only_request_has_no_goods_to_receive(shop: SandboxMarketplace) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED, [ReturnKind.REFUND_ONLY])
    shop.approve_return(request)
    with pytest.raises(RemoteRejectedError, match="no goods"):
        shop.confirm_return_received(request)


def test_every_raw_status_is_one_the_sandbox_really_reports() -> None:
    shop = SandboxMarketplace(seed=0, orders=200)
    shop.advance(days=20)
    seen = {r.raw_status for r in _returns(shop)}
    for r in _returns(shop):
        if r.status is ReturnStatus.REQUESTED:
            if r.kind is ReturnKind.REFUND_ONLY:
                shop.approve_return(r)
                shop.refund(_refund_for(r, f"k-{r.external_id}"), r)
            elif int((r.external_id or "0")[2:]) % 2:
                shop.reject_return(r, reason="no")
            else:
                shop.approve_return(r)
    seen |= {r.raw_status for r in _returns(shop)}
    shop.advance(days=4)
    for r in _returns(shop):
        if r.status is ReturnStatus.RETURN_SHIPPED:
            shop.confirm_return_received(r)
            if r.kind is ReturnKind.EXCHANGE:
                number = shop.new_tracking_number("zto")
                shop.ship_exchange(r, Shipment(tracking_number=number, carrier="zto"))
    seen |= {r.raw_status for r in _returns(shop)}
    shop.advance(days=5)
    seen |= {r.raw_status for r in _returns(shop)}
    assert seen == set(SandboxMarketplace.raw_return_statuses)
    for r in _returns(shop):
        assert SandboxMarketplace.map_return_status(r.raw_status or "") is r.status


# ---------------------------------------------------------------- refunds


def test_refund_is_paid_once_per_idempotency_key(shop: SandboxMarketplace) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED, [ReturnKind.REFUND_ONLY])
    shop.approve_return(request)
    refund = _refund_for(request, "refund-key-1")
    first = shop.refund(refund, request)
    again = shop.refund(refund, request)
    assert first.external_id
    assert first.external_id == again.external_id
    assert first == again
    assert shop.refunds_paid == [first]
    first.note = "changed by the caller"
    assert shop.refunds_paid[0].note is None  # the ledger is not the caller's copy
    assert shop.refunded_total(request.order_id) == refund.amount
    assert shop.get_order(request.order_id).updated_at == first.created_at


def test_a_reused_key_with_another_amount_is_refused(shop: SandboxMarketplace) -> None:
    order = shop.get_order("SO00000001")
    shop.refund(Refund(order_id=order.external_id, amount=Money("1.00", "CNY"),
                       idempotency_key="k"))
    with pytest.raises(RemoteRejectedError, match="idempotency"):
        shop.refund(Refund(order_id=order.external_id, amount=Money("2.00", "CNY"),
                           idempotency_key="k"))
    assert len(shop.refunds_paid) == 1


def test_refunding_more_than_remains_is_refused_and_pays_nothing(
    shop: SandboxMarketplace,
) -> None:
    order = shop.get_order("SO00000002")
    half = (order.total * Decimal("0.5")).rounded()
    shop.refund(Refund(order_id=order.external_id, amount=half, idempotency_key="a"))
    rest = order.total - half
    too_much = rest + Money("0.01", "CNY")
    with pytest.raises(RemoteRejectedError) as info:
        shop.refund(Refund(order_id=order.external_id, amount=too_much, idempotency_key="b"))
    assert info.value.code == "exceeds_refundable"
    assert len(shop.refunds_paid) == 1
    shop.refund(Refund(order_id=order.external_id, amount=rest, idempotency_key="c"))
    assert shop.refunded_total(order.external_id) == order.total
    assert shop.get_order(order.external_id).raw_status == "TRADE_CLOSED"


@pytest.mark.parametrize("amount", [Money("0.00", "CNY"), Money("-5.00", "CNY"),
                                    Money("5.00", "USD"), Money("1.005", "CNY")])
def test_nonsense_refunds_are_refused(shop: SandboxMarketplace, amount: Money) -> None:
    with pytest.raises(RemoteRejectedError):
        shop.refund(Refund(order_id="SO00000003", amount=amount, idempotency_key="x"))
    assert shop.refunds_paid == []


def test_refund_of_an_unknown_order_is_not_found(shop: SandboxMarketplace) -> None:
    with pytest.raises(RemoteNotFoundError):
        shop.refund(Refund(order_id="SO99999999", amount=Money("1", "CNY"),
                           idempotency_key="x"))


def test_a_lost_reply_leaves_the_refund_paid_and_a_retry_pays_nothing_more() -> None:
    shop = SandboxMarketplace(orders=50, faults=Faults(lost_reply=1.0))
    refund = Refund(order_id="SO00000004", amount=Money("3.00", "CNY"), idempotency_key="r")
    with pytest.raises(TransientError, match="after the change"):
        shop.refund(refund)
    assert len(shop.refunds_paid) == 1
    with pytest.raises(TransientError):
        shop.refund(refund)
    assert len(shop.refunds_paid) == 1
    assert shop.refunded_total("SO00000004") == Money("3.00", "CNY")


# ---------------------------------------------------------------- exchanges


def test_ship_exchange_records_one_parcel_per_number_and_closes_later(
    shop: SandboxMarketplace, carrier: SandboxCarrier
) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED, [ReturnKind.EXCHANGE])
    shop.approve_return(request)
    number = shop.new_tracking_number("sf")
    sent = shop.ship_exchange(request, Shipment(tracking_number=number, carrier="sf"))
    assert sent.direction is ShipmentDirection.EXCHANGE
    assert sent.external_id
    assert shop.ship_exchange(request, Shipment(tracking_number=number)) == sent
    parcels = [s for s in shop.list_shipments(request.order_id)
               if s.direction is ShipmentDirection.EXCHANGE]
    assert parcels == [sent]
    assert shop.get_return(request.external_id or "").raw_status == "EXCHANGE_SELLER_SENT"
    shop.advance(days=4)
    assert shop.get_return(request.external_id or "").status is ReturnStatus.CLOSED
    tracked = carrier.track([TrackQuery(number=number)])[0].tracking
    assert tracked is not None
    assert tracked.status is not ParcelStatus.PENDING
    assert tracked.events[0].status is ParcelStatus.PICKED_UP


def test_only_exchanges_ship_a_replacement(shop: SandboxMarketplace) -> None:
    request = _pick(shop, ReturnStatus.REQUESTED, [ReturnKind.RETURN])
    shop.approve_return(request)
    with pytest.raises(RemoteRejectedError, match="exchange"):
        shop.ship_exchange(request, Shipment(tracking_number="SF1"))


# ---------------------------------------------------------------- reviews and messages


def _reviews(shop: SandboxMarketplace) -> list[Review]:
    return [r for page in shop.list_reviews() for r in page.items]


def test_reply_review_is_idempotent_and_one_per_review(shop: SandboxMarketplace) -> None:
    review = _reviews(shop)[0]
    cursor = list(shop.list_reviews())[-1].cursor
    reply_id = shop.reply_review(review, "感谢您的评价", idempotency_key="r1")
    assert shop.reply_review(review, "感谢您的评价", idempotency_key="r1") == reply_id
    after = shop.get_review(review.external_id)
    assert after.reply == "感谢您的评价"
    assert after.updated_at == shop.now
    assert [r.external_id for p in shop.list_reviews(cursor) for r in p.items] == [
        review.external_id]
    with pytest.raises(RemoteRejectedError, match="already"):
        shop.reply_review(review, "again", idempotency_key="r2")
    with pytest.raises(RemoteRejectedError):
        shop.reply_review(_reviews(shop)[1], "   ", idempotency_key="r3")
    with pytest.raises(RemoteNotFoundError):
        shop.reply_review(review.model_copy(update={"external_id": "RV99999999"}), "x",
                          idempotency_key="r4")


def test_send_message_reaches_known_buyers_once(shop: SandboxMarketplace) -> None:
    buyer = shop.get_order("SO00000001").buyer
    message = Message(to=buyer.email or "", body="您好，包裹已签收了吗？", idempotency_key="m1")
    receipt = shop.send_message(message)
    assert shop.send_message(message) == receipt
    assert shop.messages_sent == [message]
    assert receipt.accepted_at == shop.now
    by_id = Message(to="x", buyer_id=buyer.external_id, body="hi", idempotency_key="m2")
    assert shop.send_message(by_id).message_id != receipt.message_id


def test_send_message_to_a_stranger_is_not_found_without_leaking_the_address(
    shop: SandboxMarketplace,
) -> None:
    secret = "someone.private@example.org"
    with pytest.raises(RemoteNotFoundError) as info:
        shop.send_message(Message(to=secret, body="hi", idempotency_key="m"))
    assert secret not in str(info.value)
    assert shop.messages_sent == []


def test_get_order_and_shipments_of_unknown_orders_are_not_found(
    shop: SandboxMarketplace,
) -> None:
    for bad in ("SO00000101", "SO00000000", "SO0000000x", "nope"):
        with pytest.raises(RemoteNotFoundError):
            shop.get_order(bad)
        with pytest.raises(RemoteNotFoundError):
            shop.list_shipments(bad)
