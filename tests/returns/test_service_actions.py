"""ReturnsService actions: every transition through the API, every refusal, audit and events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.errors import (
    ConcurrentUpdateError,
    InvalidTransitionError,
    NotEligibleError,
    ValidationError,
)
from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason, ReturnStatus
from aftersales.returns.policy import ReturnPolicy
from aftersales.store.tables.core import AuditRow, OutboxRow, ShipmentRow
from aftersales.store.tables.returns import ReturnDeadlineRow, ReturnRow

S = ReturnStatus
K = ReturnKind
R = ReturnReason


def counts(app: Any) -> tuple[int, int, int]:
    with app.store.session() as s:
        return (s.scalar(select(func.count()).select_from(ReturnRow)) or 0,
                s.scalar(select(func.count()).select_from(AuditRow)) or 0,
                s.scalar(select(func.count()).select_from(OutboxRow)
                         .where(OutboxRow.event_type.like("return.%"))) or 0)


def open_request(app: Any, order: Order, kind: K = K.RETURN, reason: R = R.NO_REASON,
                 **kw: Any) -> Any:
    line = order.lines[0]
    replacement = line.sku + "-ALT" if kind is K.EXCHANGE else None
    return app.returns.request(
        order.marketplace, order.external_id,
        [ReturnLine(order_line_id=line.external_id, quantity=1, reason=reason,
                    replacement_sku=replacement)],
        kind=kind, **kw)


def test_request_writes_row_audit_event_and_deadline(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any]
) -> None:
    req = open_request(synced, fresh_order())
    assert req.status is S.REQUESTED
    assert req.rma_id is not None
    assert req.rma_id.startswith("RMA-")
    trail = synced.returns.history(req.rma_id)
    assert [(e.from_status, e.to_status, e.actor) for e in trail] == [
        (None, "requested", "buyer")]
    assert [e.name for e in events if e.name.startswith("return.")] == ["return.requested"]
    with synced.store.session() as s:
        dl = s.get(ReturnDeadlineRow, req.rma_id)
        assert dl is not None
        assert dl.name == "merchant_response"
        assert dl.due_at == synced.now() + timedelta(hours=48)
        assert dl.alert_at == synced.now() + timedelta(hours=42)
        assert s.scalar(select(OutboxRow.event_type).where(OutboxRow.event_type == "return.requested"))


def test_request_by_sku_and_mapping(synced: Any, fresh_order: Callable[..., Order]) -> None:
    order = fresh_order()
    req = synced.returns.request(order.marketplace, order.external_id,
                                 {order.lines[0].sku: 1}, reason="wrong_size")
    assert req.lines[0].order_line_id == order.lines[0].external_id
    assert req.lines[0].reason is R.WRONG_SIZE


def test_same_idempotency_key_opens_one_request(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    order = fresh_order()
    a = open_request(synced, order, idempotency_key="portal-1")
    b = open_request(synced, order, idempotency_key="portal-1")
    assert a.rma_id == b.rma_id
    assert counts(synced)[0] == 1


def test_ineligible_request_is_refused_and_nothing_is_written(synced: Any) -> None:
    before = counts(synced)
    with pytest.raises(NotEligibleError) as err:
        # Delivered weeks ago: outside the 7-day window.
        synced.returns.request("sandbox", "SO00000004", {"SO00000004-L1": 1}, reason="no_reason")
    assert any("return period" in r for r in err.value.reasons)
    assert counts(synced) == before


def test_forced_ineligible_request_needs_override_to_approve(synced: Any) -> None:
    req = synced.returns.request("sandbox", "SO00000004", {"SO00000004-L1": 1},
                                 reason="no_reason", force=True, actor="support")
    assert synced.returns.history(req.rma_id)[0].note == "staff override"
    with pytest.raises(NotEligibleError, match="override"):
        synced.returns.approve(req.rma_id)
    done = synced.returns.approve(req.rma_id, override=True)
    assert done.status is S.APPROVED
    assert synced.returns.history(req.rma_id)[-1].reason == "override"


@pytest.mark.parametrize(
    ("kind", "steps", "final"),
    [
        (K.REFUND_ONLY, ["approve", "refund", "close"], S.CLOSED),
        (K.RETURN, ["approve", "ship", "receive", "refund", "close"], S.CLOSED),
        (K.EXCHANGE, ["approve", "ship", "receive", "exchange", "close"], S.CLOSED),
    ],
)
def test_each_kind_walks_its_path_with_an_audit_row_and_event_per_step(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any], kind: K,
    steps: list[str], final: S,
) -> None:
    reason = R.QUALITY_ISSUE if kind is K.REFUND_ONLY else R.NO_REASON
    req = open_request(synced, fresh_order(), kind, reason, evidence=["photo.jpg"])
    rma = req.rma_id
    svc = synced.returns
    do = {
        "approve": lambda: svc.approve(rma, note="ok"),
        "ship": lambda: svc.mark_shipped(rma, "SF1234567890123", carrier="SF"),
        "receive": lambda: svc.receive(rma),
        "refund": lambda: svc.refund(rma),
        "exchange": lambda: svc.ship_exchange(rma, "YT1234567890123", carrier="yto"),
        "close": lambda: svc.close(rma),
    }
    for step in steps:
        do[step]()
    assert svc.get(rma).status is final
    trail = svc.history(rma)
    statuses = [e.to_status for e in trail]
    assert statuses[0] == "requested"
    assert statuses[-1] == final.value
    assert len(trail) == len(steps) + 1
    names = [e.name for e in events if e.name.startswith("return.")
             and e.name not in ("return.restock", "return.write_off")]
    assert names == [f"return.{s}" for s in statuses]


def test_shipping_records_parcels_for_logistics(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    req = open_request(synced, fresh_order(), K.EXCHANGE)
    rma = req.rma_id
    synced.returns.approve(rma)
    shipped = synced.returns.mark_shipped(rma, " SF1234567890123 ", carrier="SF")
    assert shipped.return_tracking_number == "SF1234567890123"
    assert shipped.return_carrier == "sf"
    synced.returns.receive(rma)
    synced.returns.ship_exchange(rma, "YT1234567890123", carrier="yto")
    with synced.store.session() as s:
        parcels = s.execute(select(ShipmentRow.direction, ShipmentRow.tracking_number)
                            .where(ShipmentRow.rma_id == rma)
                            .order_by(ShipmentRow.id)).all()
    assert [tuple(p) for p in parcels] == [("return", "SF1234567890123"),
                                           ("exchange", "YT1234567890123")]


REFUSALS = [
    # (kind, steps to reach the state, refused action)
    (K.RETURN, [], "receive"),
    (K.RETURN, [], "refund"),
    (K.RETURN, [], "ship"),
    (K.RETURN, [], "close"),
    (K.RETURN, ["approve"], "approve"),
    (K.RETURN, ["approve"], "refund"),
    (K.RETURN, ["approve", "ship"], "cancel"),
    (K.RETURN, ["approve", "ship"], "reopen"),
    (K.REFUND_ONLY, ["approve"], "ship"),
    (K.REFUND_ONLY, ["approve"], "receive"),
    (K.EXCHANGE, ["approve", "ship", "receive"], "close"),
    (K.RETURN, ["approve", "ship", "receive"], "exchange"),
    (K.RETURN, ["cancel"], "approve"),
    (K.RETURN, ["cancel"], "reopen"),
    (K.RETURN, ["reject"], "approve"),
]


@pytest.mark.parametrize(("kind", "steps", "refused"), REFUSALS)
def test_refused_transitions_change_nothing(
    synced: Any, fresh_order: Callable[..., Order], kind: K, steps: list[str], refused: str
) -> None:
    req = open_request(synced, fresh_order(), kind, R.QUALITY_ISSUE, evidence=["p.jpg"])
    rma = req.rma_id
    svc = synced.returns
    do = {
        "approve": lambda: svc.approve(rma),
        "reject": lambda: svc.reject(rma, reason="not ours"),
        "ship": lambda: svc.mark_shipped(rma, "SF1234567890123"),
        "receive": lambda: svc.receive(rma),
        "refund": lambda: svc.refund(rma),
        "exchange": lambda: svc.ship_exchange(rma, "YT1234567890123"),
        "close": lambda: svc.close(rma),
        "cancel": lambda: svc.cancel(rma),
        "reopen": lambda: svc.reopen(rma),
    }
    for step in steps:
        do[step]()
    before = svc.get(rma)
    trail = svc.history(rma)
    snapshot = counts(synced)
    with pytest.raises(InvalidTransitionError):
        do[refused]()
    assert svc.get(rma) == before
    assert svc.history(rma) == trail
    assert counts(synced) == snapshot


def test_reject_needs_a_reason_and_reopen_revises(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    order = fresh_order()
    req = open_request(synced, order)
    with pytest.raises(ValidationError, match="reason"):
        synced.returns.reject(req.rma_id, reason=" ")
    synced.returns.reject(req.rma_id, reason="Worn item")
    again = synced.returns.reopen(req.rma_id, lines={order.lines[0].external_id: 1},
                                  reason="quality_issue", note="buyer sent photos")
    assert again.status is S.REQUESTED
    assert again.lines[0].reason is R.QUALITY_ISSUE
    assert synced.returns.history(req.rma_id)[-1].reason == "revised request"


def test_dry_run_checks_everything_and_writes_nothing(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any]
) -> None:
    req = open_request(synced, fresh_order())
    snapshot = counts(synced)
    n_events = len(events)
    preview = synced.returns.approve(req.rma_id, dry_run=True)
    assert preview.status is S.APPROVED
    assert synced.returns.get(req.rma_id).status is S.REQUESTED
    assert counts(synced) == snapshot
    assert len(events) == n_events
    with pytest.raises(InvalidTransitionError):
        synced.returns.receive(req.rma_id, dry_run=True)
    ghost = open_request(synced, fresh_order(), dry_run=True)
    assert ghost.rma_id is not None
    with pytest.raises(Exception, match="not found"):
        synced.returns.get(ghost.rma_id)


def test_stale_version_is_refused(synced: Any, fresh_order: Callable[..., Order]) -> None:
    req = open_request(synced, fresh_order())
    with pytest.raises(ConcurrentUpdateError, match="version"):
        synced.returns.approve(req.rma_id, version=7)
    assert synced.returns.approve(req.rma_id, version=1).status is S.APPROVED


def test_receive_with_inspection_restocks_writes_off_and_rejects(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any]
) -> None:
    order = fresh_order(units=2)
    line = next(ln for ln in order.lines if ln.quantity >= 2)
    req = synced.returns.request(order.marketplace, order.external_id,
                                 {line.external_id: 2}, reason="changed_mind")
    rma = req.rma_id
    synced.returns.approve(rma)
    synced.returns.mark_shipped(rma, "SF1234567890123")
    with pytest.raises(ValidationError, match="2 units"):
        synced.returns.receive(rma, inspection={line.external_id: ["resellable"]})
    assert synced.returns.get(rma).status is S.RETURN_SHIPPED
    done = synced.returns.receive(rma, inspection={line.external_id: ["resellable", "damaged"]})
    # Buyer-caused damage on a change of mind: the inspection fails and rejects.
    assert done.status is S.REJECTED
    trail = synced.returns.history(rma)
    assert [e.to_status for e in trail[-2:]] == ["received", "rejected"]
    assert trail[-1].reason == "inspection failed"
    stock = [(e.name, e.payload["sku"], e.payload["quantity"]) for e in events
             if e.name in ("return.restock", "return.write_off")]
    assert stock == [("return.restock", line.sku, 1), ("return.write_off", line.sku, 1)]


def test_damage_on_a_quality_claim_is_not_a_failed_inspection(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    req = open_request(synced, fresh_order(), K.RETURN, R.QUALITY_ISSUE)
    synced.returns.approve(req.rma_id)
    synced.returns.mark_shipped(req.rma_id, "SF1234567890123")
    assert synced.returns.receive(req.rma_id, inspection=["damaged"]).status is S.RECEIVED


def test_exchange_out_of_stock_is_refused_and_can_be_refunded(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    synced.returns.stock_check = lambda sku, qty: False
    req = open_request(synced, fresh_order(), K.EXCHANGE)
    rma = req.rma_id
    synced.returns.approve(rma)
    synced.returns.mark_shipped(rma, "SF1234567890123")
    synced.returns.receive(rma)
    with pytest.raises(NotEligibleError, match="out of stock"):
        synced.returns.ship_exchange(rma, "YT1234567890123")
    assert synced.returns.get(rma).status is S.RECEIVED
    synced.returns.refund(rma)
    assert synced.returns.get(rma).status is S.REFUNDED


def test_policy_auto_approves_small_requests(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any]
) -> None:
    synced.returns.policy = ReturnPolicy.from_mapping(
        {"auto_approve": [{"name": "small", "max_amount": "10000 CNY"}],
         "serial_returner": {"enabled": False}})
    req = open_request(synced, fresh_order())
    assert req.status is S.APPROVED
    last = synced.returns.history(req.rma_id)[-1]
    assert last.actor == "policy:small"
    assert "auto-approved" in (last.reason or "")
    assert open_request(synced, fresh_order(), auto=False).status is not S.APPROVED


def test_policy_auto_rejects_ineligible_when_configured(synced: Any) -> None:
    synced.returns.policy = ReturnPolicy(auto_reject_ineligible=True)
    req = synced.returns.request("sandbox", "SO00000004", {"SO00000004-L1": 1},
                                 reason="no_reason", force=True)
    assert req.status is S.REJECTED
    assert "return period" in (synced.returns.history(req.rma_id)[-1].reason or "")


def test_check_explains_in_customer_words(synced: Any, fresh_order: Callable[..., Order]) -> None:
    order = fresh_order()
    ok = synced.returns.check(order.external_id, {order.lines[0].external_id: 1}, "no_reason")
    assert ok.eligible
    assert "return period" in ok.explain()
    late = synced.returns.check("SO00000004", {"SO00000004-L1": 1}, "no_reason")
    assert not late.eligible
    assert late.explain().startswith("This request cannot be accepted.")


def test_list_filters(synced: Any, fresh_order: Callable[..., Order]) -> None:
    a = open_request(synced, fresh_order())
    b = open_request(synced, fresh_order(), K.EXCHANGE)
    synced.returns.approve(b.rma_id)
    assert [r.rma_id for r in synced.returns.list(status="requested")] == [a.rma_id]
    assert [r.rma_id for r in synced.returns.list(kind="exchange")] == [b.rma_id]
    assert len(synced.returns.list(status=["requested", "approved"])) == 2
    assert synced.returns.list(order_id="nope") == []


def test_exchange_parcel_is_tracked_by_logistics(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any
) -> None:
    req = open_request(synced, fresh_order(), K.EXCHANGE)
    rma = req.rma_id
    synced.returns.approve(rma)
    synced.returns.mark_shipped(rma, sandbox.new_tracking_number("sf"), carrier="sf")
    synced.returns.receive(rma)
    number = sandbox.new_tracking_number("sf")
    synced.returns.ship_exchange(rma, number, carrier="sf")
    synced.logistics.refresh()
    with synced.store.session() as s:
        checked = s.execute(select(ShipmentRow.direction, ShipmentRow.last_checked_at)
                            .where(ShipmentRow.rma_id == rma)).all()
    assert {d for d, _ in checked} == {"return", "exchange"}
    assert all(at is not None for _, at in checked)


def test_list_refuses_unknown_filters(synced: Any) -> None:
    with pytest.raises(ValidationError, match="lost"):
        synced.returns.list(status="lost")
    with pytest.raises(ValidationError, match="swap"):
        synced.returns.list(kind="swap")


def test_unknown_kind_or_reason_is_a_clear_error(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    order = fresh_order()
    before = counts(synced)
    with pytest.raises(ValidationError, match="unknown kind 'swap'"):
        synced.returns.request(order.marketplace, order.external_id,
                               {order.lines[0].external_id: 1}, kind="swap")
    with pytest.raises(ValidationError, match="unknown reason 'bored'"):
        synced.returns.request(order.marketplace, order.external_id,
                               {order.lines[0].external_id: 1}, reason="bored")
    assert counts(synced) == before
