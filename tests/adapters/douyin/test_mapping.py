"""Every documented Douyin after-sales status, type, reason, arbitration and refund
state maps to a canonical value; the lists are the official SDK's own words.

The documented lists are copied here as the SDK's comments give them
(doudian-sdk-golang 1.1.0, as vendored in zsmhub/doudian-sdk at b020c051:
afterSale/List request ``standard_aftersale_status``, ``aftersale_type``,
``reason`` and ``arbitrate_status``; afterSale/List response
``aftersale_status``, ``arbitrate_status`` and ``refund_status``;
afterSale/Detail ``after_sale_status`` and ``after_sale_type``; the Java
SDK's ``afterSale_List.data.AftersaleInfo`` gives the same lists), so a table
that loses a row fails here.
"""

from __future__ import annotations

import pytest
from aftersales_douyin import mapping

from aftersales.errors import ValidationError
from aftersales.models import FulfilmentStage, ReturnKind, ReturnReason, ReturnStatus

S, K = ReturnStatus, ReturnKind

#: afterSale/List ``standard_aftersale_status`` (and the response's 3), afterSale/Detail's 51, 53.
DOCUMENTED_STATUSES = (3, 6, 7, 8, 11, 12, 13, 14, 27, 28, 29, 51, 53)
#: afterSale/Detail ``after_sale_type`` (List documents 0-3 and 6-8).
DOCUMENTED_TYPES = (0, 1, 2, 3, 4, 5, 6, 7, 8)
DOCUMENTED_REASONS = (1, 2)
#: afterSale/List response ``arbitrate_status`` (0-5, 255) and the request filter's (adds 6).
DOCUMENTED_ARBITRATE = (0, 1, 2, 3, 4, 5, 6, 255)
DOCUMENTED_REFUND_STATES = (1, 2, 3, 4, 5)


def test_every_documented_status_maps() -> None:
    assert set(mapping.STATUSES) == set(DOCUMENTED_STATUSES)
    for code in DOCUMENTED_STATUSES:
        for kind in ReturnKind:
            assert isinstance(mapping.return_status(code, kind), ReturnStatus)


@pytest.mark.parametrize(("code", "kind", "status"), [
    (6, K.REFUND_ONLY, S.REQUESTED),
    (7, K.RETURN, S.APPROVED),
    (11, K.RETURN, S.RETURN_SHIPPED),
    (8, K.EXCHANGE, S.RECEIVED),
    (8, K.REPAIR, S.RECEIVED),
    (8, K.RESHIP, S.APPROVED),  # 补寄: the shop sends right after approval
    (12, K.RETURN, S.REFUNDED),
    (12, K.PRICE_PROTECTION, S.REFUNDED),
    (12, K.RESHIP, S.CLOSED),  # 售后成功 without money
    (13, K.RESHIP, S.EXCHANGE_SHIPPED),
    (3, K.EXCHANGE, S.EXCHANGE_SHIPPED),
    (14, K.REPAIR, S.CLOSED),
    (27, K.RETURN, S.REJECTED),
    (29, K.RETURN, S.REJECTED),
    (28, K.REFUND_ONLY, S.CANCELLED),
    (51, K.REFUND_ONLY, S.CANCELLED),
    (53, K.RETURN, S.CLOSED),
])
def test_status_row(code: int, kind: ReturnKind, status: ReturnStatus) -> None:
    assert mapping.return_status(code, kind) is status


def test_an_undocumented_status_reads_as_requested() -> None:
    assert mapping.return_status(99, K.RETURN) is S.REQUESTED


@pytest.mark.parametrize(("code", "kind", "stage"), [
    (0, K.RETURN, FulfilmentStage.DELIVERED),
    (1, K.REFUND_ONLY, None),
    (2, K.REFUND_ONLY, FulfilmentStage.NOT_SHIPPED),
    (3, K.EXCHANGE, FulfilmentStage.DELIVERED),
    (4, K.REFUND_ONLY, FulfilmentStage.NOT_SHIPPED),
    (5, K.REFUND_ONLY, FulfilmentStage.NOT_SHIPPED),
    (6, K.PRICE_PROTECTION, None),
    (7, K.RESHIP, FulfilmentStage.DELIVERED),
    (8, K.REPAIR, FulfilmentStage.DELIVERED),
])
def test_every_documented_type_maps(code: int, kind: ReturnKind,
                                    stage: FulfilmentStage | None) -> None:
    assert set(mapping.TYPES) == set(DOCUMENTED_TYPES)
    assert mapping.kind_of(code) is kind
    assert mapping.TYPES[code][1] is stage


def test_shipped_refund_only_takes_its_stage_from_got_pkg() -> None:
    assert mapping.stage_of(1, 0) is FulfilmentStage.SHIPPED
    assert mapping.stage_of(1, 1) is FulfilmentStage.DELIVERED
    assert mapping.stage_of(2, 1) is FulfilmentStage.NOT_SHIPPED  # the type decides


def test_an_undocumented_type_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="aftersale_type"):
        mapping.kind_of(42)


def test_every_documented_reason_class_maps() -> None:
    assert set(mapping.REASON_FILTER) == set(DOCUMENTED_REASONS)
    assert mapping.REASON_FILTER[1] is ReturnReason.NO_REASON


@pytest.mark.parametrize(("text", "reason"), sorted(mapping.REASONS.items()))
def test_reason_row(text: str, reason: ReturnReason) -> None:
    assert mapping.reason_for(text) is reason
    assert mapping.reason_for(f" {text} ") is reason


def test_an_unknown_reason_text_is_other() -> None:
    assert mapping.reason_for("外星人拿走了") is ReturnReason.OTHER
    assert mapping.reason_for(None) is ReturnReason.OTHER


def test_every_documented_arbitration_and_refund_state_maps() -> None:
    assert set(mapping.ARBITRATE_STATUSES) == set(DOCUMENTED_ARBITRATE)
    assert {1, 4, 5} == mapping.DISPUTE_OPEN
    assert set(mapping.REFUND_STATUSES) == set(DOCUMENTED_REFUND_STATES)
    assert mapping.REFUND_STATUSES[2] is None  # being paid: never paid again, never "unpaid"
