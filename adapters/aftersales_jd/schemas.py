"""Tolerant wire models of the JOS payloads the adapter reads.

Field names follow the API reference as the official SDKs' domain classes
spell them (camelCase); unknown fields are ignored, ids written as numbers
are read as text (a required id through :data:`aftersales.wire.WireId`: never a
float, empty, over-long or with control characters, which would name no
record or a wrong one), and every field the adapter can do without has a default.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftersales.wire import WireCount, WireId
from aftersales.wire import read_payload as read

__all__ = [
    "JdComment",
    "JdItem",
    "JdOrder",
    "RefundApply",
    "RefundApplyResult",
    "ServiceBill",
    "ServicePage",
    "read",
]

class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class RefundApply(_Wire):
    """A refund application before shipment (退款审核单, ``RefundApplyVo``).

    An item of ``queryResult.result`` is read either as the application's own
    fields or wrapped as ``{"refundApplyVo": {...}}``: the official SDKs hold
    the records directly, but integrations written against live answers read
    queryById's (and some queryPageList's) items through that wrapper, and a
    refund must not stop on which of the two the gateway sends.
    """

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and "id" not in data:
            inner = data.get("refundApplyVo")
            if isinstance(inner, dict):
                return inner
        return data

    id: WireId
    orderId: WireId  # the wire spells fields in camelCase
    status: int
    applyTime: str = ""
    checkTime: str | None = None
    #: in fen however spelled (``5990``, ``"5990"``, ``5990.0``); read by ``wire.whole_fen``
    applyRefundSum: object = None
    reason: str = ""
    buyerId: str = ""
    buyerName: str = ""
    checkUserName: str = ""
    checkRemark: str = ""


class RefundApplyResult(_Wire):
    """The ``queryResult`` of refundapply.queryPageList / queryById."""

    success: bool = True
    result: list[RefundApply] = Field(default_factory=list)
    totalCount: int | None = None
    resultCode: str = ""
    resultDescribe: str = ""


class ServiceBill(_Wire):
    """An after-sales service order (服务单) of jingdong.asc.query.list (``ServiceBrief``)."""

    serviceId: WireId
    orderId: WireId
    serviceStatus: int
    serviceStatusName: str = ""
    customerExpect: int
    customerExpectName: str = ""
    skuId: str = ""
    wareName: str = ""
    serviceCount: WireCount = 1
    applyTime: str | None = None
    updateDate: str | None = None
    approveReasonCid1Name: str = ""
    questionDesc: str = ""
    applyId: str = ""
    sysVersion: int | None = None
    questionTypeCid1: int | None = None
    questionTypeCid2: int | None = None


class ServicePage(_Wire):
    """The ``pageResult`` of jingdong.asc.query.list."""

    data: list[ServiceBill] = Field(default_factory=list)
    totalCount: int | None = None


class JdItem(_Wire):
    """One SKU line of an order's ``itemInfoList``."""

    skuId: str = ""
    outerSkuId: str = ""
    wareId: str = ""
    skuName: str = ""
    jdPrice: str = "0"
    itemTotal: WireCount = 1


class JdOrder(_Wire):
    """An order of jingdong.pop.order.get (``orderInfo``); amounts are yuan text."""

    orderId: WireId
    orderState: str = ""
    orderTotalPrice: str = "0"
    orderPayment: str = "0"
    freightPrice: str = "0"
    sellerDiscount: str = "0"
    orderStartTime: str
    modified: str = ""
    orderEndTime: str = ""
    waybill: str = ""
    logisticsId: str = ""
    itemInfoList: list[JdItem] = Field(default_factory=list)


class JdComment(_Wire):
    """A buyer's comment of getVenderCommentsForJos."""

    commentId: WireId
    content: str = ""
    creationTime: str
    score: int = 5
    skuid: str = ""
    skuName: str = ""
    orderId: str = ""
    nickName: str = ""
    replies: list[dict[str, object]] = Field(default_factory=list)
