"""Planning SLA deadlines and what their expiry does (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns.policy import ReturnPolicy, SlaAction
from aftersales.returns.sla import expiry_target, plan_deadline

T0 = datetime(2026, 1, 5, tzinfo=UTC)
K = ReturnKind
S = ReturnStatus


def test_each_status_gets_its_deadline() -> None:
    p = ReturnPolicy()
    req = plan_deadline(K.RETURN, S.REQUESTED, T0, p)
    assert req is not None
    assert (req.name, req.due_at, req.alert_at) == (
        "merchant_response", T0 + timedelta(hours=48), T0 + timedelta(hours=42))
    shipped = plan_deadline(K.EXCHANGE, S.APPROVED, T0, p)
    assert shipped is not None
    assert shipped.name == "buyer_shipment"
    assert shipped.action is SlaAction.AUTO_CLOSE
    got = plan_deadline(K.RETURN, S.RECEIVED, T0, p)
    assert got is not None
    assert got.name == "merchant_confirmation"
    for status in (S.REJECTED, S.RETURN_SHIPPED, S.REFUNDED, S.CLOSED, S.CANCELLED):
        assert plan_deadline(K.RETURN, status, T0, p) is None
    assert plan_deadline(K.REFUND_ONLY, S.APPROVED, T0, p) is None  # nothing to ship


def test_alert_never_before_the_state_began() -> None:
    p = ReturnPolicy.from_mapping({"sla": {"merchant_response": {"after": "2h"},
                                           "alert_before": "6h"}})
    plan = plan_deadline(K.RETURN, S.REQUESTED, T0, p)
    assert plan is not None
    assert plan.alert_at == T0


def test_switched_off_deadline_plans_nothing() -> None:
    p = ReturnPolicy.from_mapping({"sla": {"buyer_shipment": None}})
    assert plan_deadline(K.RETURN, S.APPROVED, T0, p) is None


@pytest.mark.parametrize(
    ("name", "action", "kind", "target"),
    [
        ("merchant_response", SlaAction.AUTO_APPROVE, K.RETURN, S.APPROVED),
        ("merchant_response", SlaAction.REMIND, K.RETURN, None),
        ("buyer_shipment", SlaAction.AUTO_CLOSE, K.EXCHANGE, S.CLOSED),
        ("merchant_confirmation", SlaAction.AUTO_APPROVE, K.RETURN, S.REFUNDED),
        ("merchant_confirmation", SlaAction.AUTO_APPROVE, K.EXCHANGE, None),
        ("buyer_shipment", SlaAction.AUTO_APPROVE, K.RETURN, None),
    ],
)
def test_expiry_targets(name: str, action: SlaAction, kind: ReturnKind,
                        target: ReturnStatus | None) -> None:
    assert expiry_target(name, action, kind) is target
