"""SLA deadlines: alert before the breach, act at it, once, and never on a stale state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason, ReturnStatus
from aftersales.returns.policy import ReturnPolicy

S = ReturnStatus
H = timedelta(hours=1)


def open_return(app: Any, order: Order, kind: ReturnKind = ReturnKind.RETURN) -> str:
    line = order.lines[0]
    req = app.returns.request(order.marketplace, order.external_id,
                              [ReturnLine(order_line_id=line.external_id, quantity=1,
                                          reason=ReturnReason.NO_REASON)], kind=kind)
    rma: str = req.rma_id
    return rma


def names(events: list[Any], prefix: str = "return.sla") -> list[str]:
    return [e.name for e in events if e.name.startswith(prefix)]


def test_alert_comes_before_the_breach_and_only_once(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any]
) -> None:
    start = synced.now()
    rma = open_return(synced, fresh_order())
    assert synced.returns.run_timers(start + 41 * H).alerts == 0
    report = synced.returns.run_timers(start + 42 * H)
    assert (report.alerts, report.actions) == (1, 0)
    assert synced.returns.get(rma).status is S.REQUESTED
    assert synced.returns.run_timers(start + 43 * H).alerts == 0
    assert names(events) == ["return.sla_warning"]
    warning = next(e for e in events if e.name == "return.sla_warning")
    assert warning.payload["deadline"] == "merchant_response"


def test_merchant_silence_auto_approves_at_the_deadline(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    start = synced.now()
    rma = open_return(synced, fresh_order())
    report = synced.returns.run_timers(start + 48 * H)
    assert report.actions == 1
    assert synced.returns.get(rma).status is S.APPROVED
    last = synced.returns.history(rma)[-1]
    assert last.actor == "timer:merchant_response"
    assert synced.returns.run_timers(start + 49 * H).actions == 0  # done once


def test_buyer_never_ships_so_the_request_closes(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    rma = open_return(synced, fresh_order())
    synced.returns.approve(rma)
    start = synced.now()
    synced.returns.run_timers(start + 6 * 24 * H)
    assert synced.returns.get(rma).status is S.APPROVED
    synced.returns.run_timers(start + 7 * 24 * H)
    assert synced.returns.get(rma).status is S.CLOSED


def test_remind_emits_a_breach_once(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any]
) -> None:
    synced.returns.policy = ReturnPolicy.from_mapping(
        {"sla": {"merchant_response": {"after": "24h", "action": "remind",
                                       "alert_before": "1h"}}})
    start = synced.now()
    rma = open_return(synced, fresh_order())
    report = synced.returns.run_timers(start + 24 * H)
    assert report.reminders == 1
    assert synced.returns.run_timers(start + 30 * H).reminders == 0
    assert synced.returns.get(rma).status is S.REQUESTED
    assert names(events) == ["return.sla_breached"]


def test_a_deadline_of_a_state_already_left_does_nothing(
    synced: Any, fresh_order: Callable[..., Order]
) -> None:
    start = synced.now()
    rma = open_return(synced, fresh_order())
    synced.returns.reject(rma, reason="not eligible")
    report = synced.returns.run_timers(start + 100 * H)
    assert (report.actions, report.reminders, report.failed) == (0, 0, 0)
    assert synced.returns.get(rma).status is S.REJECTED


def test_an_action_that_fails_for_good_is_reported_once(
    synced: Any, fresh_order: Callable[..., Order], events: list[Any]
) -> None:
    start = synced.now()
    req = synced.returns.request("sandbox", "SO00000004", {"SO00000004-L1": 1},
                                 reason="no_reason", force=True)  # ineligible: no auto-approve
    report = synced.returns.run_timers(start + 48 * H)
    assert report.failed == 1
    assert "ineligible" in report.reasons[req.rma_id]
    assert synced.returns.get(req.rma_id).status is S.REQUESTED
    assert names(events) == ["return.sla_breached"]
    assert synced.returns.run_timers(start + 60 * H).failed == 0


def test_receipt_deadline_refunds_when_configured(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any
) -> None:
    synced.returns.policy = ReturnPolicy.from_mapping(
        {"sla": {"merchant_confirmation": {"after": "72h", "action": "auto_approve"}}})
    rma = open_return(synced, fresh_order())
    synced.returns.approve(rma)
    synced.returns.mark_shipped(rma, "SF1234567890123")
    synced.returns.receive(rma)
    synced.returns.run_timers(synced.now() + 72 * H)
    assert synced.returns.get(rma).status is S.REFUNDED
    assert len(sandbox.refunds_paid) == 1
