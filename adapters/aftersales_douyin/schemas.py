"""Tolerant wire models of the Douyin Shop payloads the adapter reads.

Field names and types follow the official Go SDK's response structs
(doudian-sdk-golang 1.1.0, ``api/<path>/response``). Ids come as strings in
some answers and numbers in others (``aftersale_id`` is a string in
afterSale/List and a number in afterSale/Detail), so every id is read as
text. Amounts are whole fen; times are Unix seconds (0: not set).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AfterSaleInfo",
    "AftersaleDetail",
    "AftersaleItem",
    "AftersalePage",
    "DetailInfo",
    "LogisticsInfo",
    "OrderLogistics",
    "RejectReason",
    "RelatedOrder",
    "RouteNode",
    "ShopOrder",
    "SkuOrder",
    "TrackDetail",
]


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class OrderLogistics(_Wire):
    """One outbound parcel named on an after-sales item (``order_logistics``)."""

    tracking_no: str = ""
    company_name: str = ""
    company_code: str = ""
    logistics_time: int = 0
    logistics_state: int = 0


class AfterSaleInfo(_Wire):
    """``aftersale_info`` of an afterSale/List item."""

    aftersale_id: str
    aftersale_order_type: int | None = None
    aftersale_type: int
    aftersale_status: int
    related_id: str | None = None
    apply_time: int = 0
    update_time: int
    status_deadline: int = 0
    refund_amount: int = 0
    refund_post_amount: int = 0
    aftersale_num: int = 0
    refund_status: int | None = None
    arbitrate_status: int = 0
    create_time: int = 0
    return_logistics_code: str = ""
    return_logistics_company_name: str = ""
    risk_decision_code: int = 0
    risk_decision_reason: str = ""
    risk_decision_description: str = ""
    got_pkg: int = 0
    remark: str = ""  # 售后商家备注: the shop's own note on the request
    order_logistics: list[OrderLogistics] = Field(default_factory=list)

    _ids = field_validator("aftersale_id", "related_id", mode="before")(_text)


class RelatedOrder(_Wire):
    """A SKU order (商品单) an after-sales item covers (``related_order_info``)."""

    sku_order_id: str
    order_status: int | None = None
    pay_amount: int = 0
    item_num: int = 1
    product_name: str = ""
    product_id: str | None = None
    shop_sku_code: str = ""
    aftersale_item_num: int = 0
    aftersale_pay_amount: int = 0
    price: int = 0

    _ids = field_validator("sku_order_id", "product_id", mode="before")(_text)


class ListOrderInfo(_Wire):
    """``order_info`` of an afterSale/List item: the shop order and its SKU orders."""

    shop_order_id: str
    related_order_info: list[RelatedOrder] = Field(default_factory=list)

    _ids = field_validator("shop_order_id", mode="before")(_text)


class TextPart(_Wire):
    """``text_part``: the platform's own words for the item (reason, status, type)."""

    reason_text: str = ""
    aftersale_status_text: str = ""
    aftersale_type_text: str = ""


class AftersaleItem(_Wire):
    """One item of afterSale/List."""

    aftersale_info: AfterSaleInfo
    order_info: ListOrderInfo
    text_part: TextPart = Field(default_factory=TextPart)


class AftersalePage(_Wire):
    """afterSale/List ``data``: items, ``has_more``, ``total``, ``page`` (from 0)."""

    items: list[AftersaleItem] = Field(default_factory=list)
    has_more: bool = False
    total: int | None = None
    page: int = 0
    size: int = 0


class DetailInfo(_Wire):
    """``process_info.after_sale_info`` of afterSale/Detail (note its spellings:
    ``after_sale_*``, and ``risk_decsison_*`` as the platform writes it)."""

    after_sale_id: str
    after_sale_status: int
    after_sale_type: int
    refund_status: int | None = None
    refund_total_amount: int = 0
    refund_post_amount: int = 0
    real_refund_amount: int = 0
    apply_time: int = 0
    update_time: int
    reason: str = ""
    reason_remark: str = ""
    evidence: list[str] = Field(default_factory=list)
    got_pkg: int = 0
    status_deadline: int = 0
    risk_decsison_code: int = 0
    risk_decsison_reason: str = ""
    risk_decsison_description: str = ""

    _ids = field_validator("after_sale_id", mode="before")(_text)


class ArbitrateInfo(_Wire):
    """``process_info.arbitrate_info``: the platform's dispute (仲裁) on the request."""

    arbitrate_id: str = ""
    arbitrate_status: int = 0
    is_required_evidence: bool = False

    _ids = field_validator("arbitrate_id", mode="before")(_text)


class ProcessInfo(_Wire):
    """``process_info`` of afterSale/Detail."""

    after_sale_info: DetailInfo
    arbitrate_info: ArbitrateInfo | None = None


class DetailSku(_Wire):
    """A SKU order of afterSale/Detail's ``order_info.sku_order_infos``."""

    sku_order_id: str
    order_status: int | None = None
    pay_amount: int = 0
    item_quantity: int = 0
    product_name: str = ""

    _ids = field_validator("sku_order_id", mode="before")(_text)


class DetailOrder(_Wire):
    """``order_info`` of afterSale/Detail."""

    shop_order_id: str
    sku_order_infos: list[DetailSku] = Field(default_factory=list)

    _ids = field_validator("shop_order_id", mode="before")(_text)


class AftersaleDetail(_Wire):
    """afterSale/Detail ``data``."""

    process_info: ProcessInfo
    order_info: DetailOrder | None = None


class RejectReason(_Wire):
    """One item of afterSale/rejectReasonCodeList."""

    reject_reason_code: int
    reason: str = ""
    evidence_description: str = ""
    evidence_need: str = "N"
    image: str = ""
    order_type: int | None = None
    pkg: int | None = None


class LogisticsInfo(_Wire):
    """One outbound parcel of order/orderDetail (``logistics_info``)."""

    tracking_no: str = ""
    company: str = ""
    company_name: str = ""
    ship_time: int = 0
    delivery_id: str = ""

    _ids = field_validator("delivery_id", mode="before")(_text)


class SkuOrder(_Wire):
    """A SKU order (子订单) of order/orderDetail's ``sku_order_list``."""

    order_id: str
    order_status: int | None = None
    item_num: int = 1
    origin_amount: int = 0
    sum_amount: int = 0
    pay_amount: int = 0
    product_name: str = ""
    code: str = ""
    out_sku_id: str = ""
    sku_id: str | None = None
    product_id: str | None = None

    _ids = field_validator("order_id", "sku_id", "product_id", "out_sku_id", mode="before")(
        _text)


class ShopOrder(_Wire):
    """The shop order (店铺单) of order/orderDetail's ``shop_order_detail``."""

    order_id: str
    order_status: int | None = None
    order_status_desc: str = ""
    create_time: int
    update_time: int
    finish_time: int = 0
    ship_time: int = 0
    order_amount: int = 0
    pay_amount: int = 0
    post_amount: int = 0
    promotion_amount: int = 0
    doudian_open_id: str = ""
    open_id: str = ""
    sku_order_list: list[SkuOrder] = Field(default_factory=list)
    logistics_info: list[LogisticsInfo] = Field(default_factory=list)

    _ids = field_validator("order_id", mode="before")(_text)


class RouteNode(_Wire):
    """One node of a parcel's route (logistics/trackNoRouteDetail)."""

    content: str = ""
    timestamp: str
    state: str = ""
    state_description: str = ""
    site_name: str = ""

    _ids = field_validator("timestamp", "state", mode="before")(_text)


class TrackDetail(_Wire):
    """logistics/trackNoRouteDetail ``data``; the SDK names the list ``route__node_list``
    (two underscores), which is read as written and also with one."""

    route_node_list: list[RouteNode] = Field(default_factory=list, alias="route__node_list")
    track_no: str = ""
    express: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> TrackDetail:
        """The track from ``data``, whichever spelling of the node list it uses."""
        nodes = data.get("route__node_list", data.get("route_node_list")) or []
        info = data.get("track_info") or {}
        return cls.model_validate({"route__node_list": nodes,
                                   "track_no": str(info.get("track_no") or ""),
                                   "express": str(info.get("express") or "")})
