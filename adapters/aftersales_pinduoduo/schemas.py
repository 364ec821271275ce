"""Tolerant wire models of the Pinduoduo payloads the adapter reads.

Field names follow the API reference (as the official SDKs' response
classes spell them); unknown fields are ignored, numbers written as text
and ids written as numbers are both accepted, and every field the adapter
can do without has a default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from aftersales.wire import WireId
from aftersales.wire import read_payload as read

__all__ = [
    "PddItem",
    "PddOrder",
    "PddOrderPage",
    "PddRefund",
    "PddRefundDetail",
    "PddRefundPage",
    "read",
]

class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class PddRefund(_Wire):
    """One after-sales order (售后单) of pdd.refund.list.increment.get."""

    id: WireId
    order_sn: WireId
    after_sales_status: int
    after_sales_type: int
    after_sale_reason: str = ""
    #: text in yuan or a JSON integer in fen; kept as sent, read by ``mapping.amount``
    refund_amount: object = None
    order_amount: object = None
    goods_id: str = ""
    goods_name: str = ""
    goods_number: str = "1"
    goods_price: object = None
    sku_id: str = ""
    outer_id: str = ""
    outer_goods_id: str = ""
    tracking_number: str = ""
    shipping_name: str = ""
    created_time: str = ""
    updated_time: str
    confirm_time: str = ""
    speed_refund_flag: int | None = None
    dispute_refund_status: int | None = None
    user_shipping_status: str = ""


class PddRefundPage(_Wire):
    """The ``refund_increment_get_response`` object."""

    refund_list: list[PddRefund] = Field(default_factory=list)
    total_count: int | None = None


class PddRefundDetail(_Wire):
    """pdd.refund.information.get: one after-sales order as it stands now."""

    id: WireId
    order_sn: WireId
    after_sales_status: int
    after_sales_type: int | None = None
    after_sales_reason: str = ""
    refund_amount: object = None
    goods_number: str = "1"
    sku_id: str = ""
    express_no: str = ""
    shipping_name: str = ""
    shipping_status: int | None = None
    images: list[str] = Field(default_factory=list)
    remark: str = ""
    updated_time: str = ""
    expire_time: str | None = None
    #: 换货详情 (exchanges only): ``merchant_exchange_trunk_number`` and
    #: ``merchant_exchange_ship_id`` once the shop sent the replacement.
    exchange_shipping_detail: dict[str, object] | None = None


class PddItem(_Wire):
    """One SKU line of an order's ``item_list``."""

    goods_id: str = ""
    goods_name: str = ""
    goods_count: int = 1
    goods_price: str = "0"
    goods_spec: str = ""
    outer_id: str = ""
    outer_goods_id: str = ""
    sku_id: str = ""


class PddOrder(_Wire):
    """An order of pdd.order.information.get / pdd.order.number.list.increment.get."""

    order_sn: WireId
    order_status: int | None = None
    refund_status: int | None = None
    confirm_status: int | None = None
    created_time: str
    updated_at: str
    confirm_time: str = ""
    shipping_time: str = ""
    receive_time: str = ""
    pay_amount: str = "0"
    goods_amount: str = "0"
    postage: str = "0"
    discount_amount: str = "0"
    tracking_number: str = ""
    logistics_id: str = ""
    item_list: list[PddItem] = Field(default_factory=list)


class PddOrderPage(_Wire):
    """The ``order_sn_increment_get_response`` object."""

    order_sn_list: list[PddOrder] = Field(default_factory=list)
    total_count: int | None = None
