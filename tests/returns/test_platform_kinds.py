"""The kinds the Chinese marketplaces add: price protection, reship, repair.

Each row of the state machine and the SLA is read against ``KIND_FLOWS``:
which way goods and money travel decides every path.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aftersales.errors import InvalidTransitionError
from aftersales.models import KIND_FLOWS, ReturnKind, ReturnStatus
from aftersales.returns.lifecycle import check_transition, path_between
from aftersales.returns.policy import ReturnPolicy, SlaAction
from aftersales.returns.sla import expiry_target, plan_deadline

K, S = ReturnKind, ReturnStatus


@pytest.mark.parametrize(("kind", "path"), [
    (K.PRICE_PROTECTION, [S.APPROVED, S.REFUNDED, S.CLOSED]),
    (K.RESHIP, [S.APPROVED, S.EXCHANGE_SHIPPED, S.CLOSED]),
    (K.REPAIR, [S.APPROVED, S.RETURN_SHIPPED, S.RECEIVED, S.EXCHANGE_SHIPPED, S.CLOSED]),
])
def test_each_new_kind_walks_its_own_path(kind: ReturnKind, path: list[ReturnStatus]) -> None:
    current = S.REQUESTED
    for step in path:
        current = check_transition(kind, current, step)
    assert current is S.CLOSED


def test_price_protection_never_takes_goods_back() -> None:
    with pytest.raises(InvalidTransitionError):
        check_transition(K.PRICE_PROTECTION, S.APPROVED, S.RETURN_SHIPPED)


def test_a_reshipment_ships_goods_out_but_never_pays_or_takes_goods_back() -> None:
    for target in (S.RETURN_SHIPPED, S.REFUNDED):
        with pytest.raises(InvalidTransitionError):
            check_transition(K.RESHIP, S.APPROVED, target)


def test_a_repair_is_never_paid_before_the_goods_arrive() -> None:
    with pytest.raises(InvalidTransitionError):
        check_transition(K.REPAIR, S.APPROVED, S.REFUNDED)
    assert path_between(K.REPAIR, S.REQUESTED, S.EXCHANGE_SHIPPED) == [
        S.APPROVED, S.RETURN_SHIPPED, S.RECEIVED, S.EXCHANGE_SHIPPED]


@pytest.mark.parametrize("kind", list(ReturnKind))
def test_every_kind_can_finish_and_its_flows_match_the_table(kind: ReturnKind) -> None:
    assert path_between(kind, S.REQUESTED, S.CLOSED) is not None
    goes_back = path_between(kind, S.APPROVED, S.RETURN_SHIPPED) is not None
    assert goes_back is (kind in KIND_FLOWS["goods_back"]) is kind.goods_back
    pays_direct = path_between(kind, S.APPROVED, S.REFUNDED) == [S.REFUNDED]
    assert pays_direct is (kind.pays and not kind.goods_back)
    ships = S.EXCHANGE_SHIPPED in (path_between(kind, S.REQUESTED, S.EXCHANGE_SHIPPED) or [])
    assert ships is kind.goods_out


NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("kind", list(ReturnKind))
def test_the_buyer_shipment_deadline_runs_only_where_goods_go_back(kind: ReturnKind) -> None:
    planned = plan_deadline(kind, S.APPROVED, NOW, ReturnPolicy())
    assert (planned is not None) is kind.goods_back


@pytest.mark.parametrize("kind", list(ReturnKind))
def test_an_expired_confirmation_refunds_only_kinds_that_pay(kind: ReturnKind) -> None:
    target = expiry_target("merchant_confirmation", SlaAction.AUTO_APPROVE, kind)
    assert target is (S.REFUNDED if kind.pays else None)
