"""Tolerant wire models of the Douyin Shop payloads the adapter reads.

Field names and types follow the official Go SDK's response structs
(doudian-sdk-golang 1.1.0, ``api/<path>/response``). Ids come as strings in
some answers and numbers in others (``aftersale_id`` is a string in
afterSale/List and a number in afterSale/Detail), so every id is read as
text. Amounts are whole fen; times are Unix seconds (0: not set).
"""

from __future__ import annotations

from typing import Annotated, Any, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from aftersales.wire import number_text as _text
from aftersales.wire import read_payload as parse
from aftersales.wire import wire_id as _id
from aftersales.wire import wire_int

__all__ = [
    "AfterSaleInfo",
    "AftersaleDetail",
    "AftersaleItem",
    "AftersalePage",
    "DetailInfo",
    "DetailLogistics",
    "LogisticsInfo",
    "OrderLogistics",
    "RejectReason",
    "RelatedOrder",
    "ReturnParcel",
    "RouteNode",
    "ShopOrder",
    "SkuOrder",
    "TrackDetail",
    "parse",
]

#: The most a Douyin amount may be, in fen (10 billion yuan): anything larger is no price.
MAX_FEN = 10**12
#: The span a Douyin time (Unix seconds) is believed in: 2000-01-01 to 2100-01-01.
SECONDS_SPAN = (946_684_800, 4_102_444_800)


def _fen(value: Any) -> int:
    fen = wire_int(value, "an amount in fen", signed=True)
    if not 0 <= fen <= MAX_FEN:
        raise ValueError(f"an amount in fen must be between 0 and {MAX_FEN}")
    return fen


def _seconds(value: Any) -> int:
    seconds = wire_int(value, "a time in Unix seconds", signed=True)
    if seconds and not SECONDS_SPAN[0] <= seconds < SECONDS_SPAN[1]:
        raise ValueError("not a time in Unix seconds between 2000 and 2100 "
                         "(milliseconds, or out of range)")
    return seconds


def _code(value: Any) -> int:
    return wire_int(value, "a code", signed=True)


#: Whole fen, 0 to :data:`MAX_FEN`.
Fen = Annotated[int, BeforeValidator(_fen)]
#: Unix seconds between 2000 and 2100, or 0 (not set).
Seconds = Annotated[int, BeforeValidator(_seconds)]
#: A status, type or count code: a whole number.
Code = Annotated[int, BeforeValidator(_code)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _null_lists(cls, data: Any) -> Any:
        # The Go SDK writes an empty slice as null: a null list is an empty one.
        if isinstance(data, dict):
            nulls = [k for k, v in data.items() if v is None and k in _list_fields(cls)]
            if nulls:
                data = {k: v for k, v in data.items() if k not in nulls}
        return data


def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    names = set()
    for name, info in model.model_fields.items():
        if get_origin(info.annotation) is list:
            names.update({name, info.alias or name})
    return frozenset(names)


class OrderLogistics(_Wire):
    """One outbound parcel named on an after-sales item (``order_logistics``)."""

    tracking_no: str = ""
    company_name: str = ""
    company_code: str = ""
    logistics_time: Seconds = 0
    logistics_state: Code = 0


class AfterSaleInfo(_Wire):
    """``aftersale_info`` of an afterSale/List item."""

    aftersale_id: str
    aftersale_order_type: Code | None = None
    aftersale_type: Code
    aftersale_status: Code
    related_id: str | None = None
    apply_time: Seconds = 0
    update_time: Seconds
    status_deadline: Seconds = 0
    refund_amount: Fen = 0
    refund_post_amount: Fen = 0
    aftersale_num: Code = 0
    refund_status: Code | None = None
    arbitrate_status: Code = 0
    create_time: Seconds = 0
    return_logistics_code: str = ""
    return_logistics_company_name: str = ""
    risk_decision_code: Code = 0
    risk_decision_reason: str = ""
    risk_decision_description: str = ""
    got_pkg: Code = 0
    remark: str = ""  # 售后商家备注: the shop's own note on the request
    order_logistics: list[OrderLogistics] = Field(default_factory=list)

    _ids = field_validator("aftersale_id", mode="before")(_id)
    _related = field_validator("related_id", mode="before")(_text)


class RelatedOrder(_Wire):
    """A SKU order (商品单) an after-sales item covers (``related_order_info``)."""

    sku_order_id: str
    order_status: Code | None = None
    pay_amount: Fen = 0
    item_num: Code = 1
    product_name: str = ""
    product_id: str | None = None
    shop_sku_code: str = ""
    aftersale_item_num: Code = 0
    aftersale_pay_amount: Fen = 0
    price: Fen = 0

    _ids = field_validator("sku_order_id", mode="before")(_id)
    _product = field_validator("product_id", mode="before")(_text)


class ListOrderInfo(_Wire):
    """``order_info`` of an afterSale/List item: the shop order and its SKU orders."""

    shop_order_id: str
    related_order_info: list[RelatedOrder] = Field(default_factory=list)

    _ids = field_validator("shop_order_id", mode="before")(_id)


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
    total: Code | None = None
    page: Code = 0
    size: Code = 0


class DetailInfo(_Wire):
    """``process_info.after_sale_info`` of afterSale/Detail (note its spellings:
    ``after_sale_*``, and ``risk_decsison_*`` as the platform writes it)."""

    after_sale_id: str
    after_sale_order_type: Code | None = None
    after_sale_status: Code
    after_sale_type: Code
    refund_status: Code | None = None
    refund_total_amount: Fen = 0
    refund_post_amount: Fen = 0
    real_refund_amount: Fen = 0
    apply_time: Seconds = 0
    update_time: Seconds
    reason: str = ""
    reason_remark: str = ""
    evidence: list[str] = Field(default_factory=list)
    got_pkg: Code = 0
    status_deadline: Seconds = 0
    after_sale_apply_count: Code = 0
    risk_decsison_code: Code = 0
    risk_decsison_reason: str = ""
    risk_decsison_description: str = ""

    _ids = field_validator("after_sale_id", mode="before")(_id)


class ArbitrateInfo(_Wire):
    """``process_info.arbitrate_info``: the platform's dispute (仲裁) on the request."""

    arbitrate_id: str = ""
    arbitrate_status: Code = 0
    is_required_evidence: bool = False

    _ids = field_validator("arbitrate_id", mode="before")(_text)


class ReturnParcel(_Wire):
    """``process_info.logistics_info.return``: the parcel the buyer sends back."""

    tracking_no: str = ""
    company_name: str = ""
    company_code: str = ""


class DetailLogistics(_Wire):
    """``process_info.logistics_info`` of afterSale/Detail (only the return parcel is read)."""

    return_parcel: ReturnParcel | None = Field(default=None, alias="return")


class ProcessInfo(_Wire):
    """``process_info`` of afterSale/Detail."""

    after_sale_info: DetailInfo
    arbitrate_info: ArbitrateInfo | None = None
    logistics_info: DetailLogistics | None = None


class DetailSku(_Wire):
    """A SKU order of afterSale/Detail's ``order_info.sku_order_infos``."""

    sku_order_id: str
    order_status: Code | None = None
    pay_amount: Fen = 0
    item_quantity: Code = 0
    product_name: str = ""
    shop_sku_code: str = ""
    after_sale_item_count: Code = 0  # 商品单对应的售后数量

    _ids = field_validator("sku_order_id", mode="before")(_id)


class DetailOrder(_Wire):
    """``order_info`` of afterSale/Detail."""

    shop_order_id: str
    sku_order_infos: list[DetailSku] = Field(default_factory=list)

    _ids = field_validator("shop_order_id", mode="before")(_id)


class AftersaleDetail(_Wire):
    """afterSale/Detail ``data``."""

    process_info: ProcessInfo
    order_info: DetailOrder | None = None


class RejectReason(_Wire):
    """One item of afterSale/rejectReasonCodeList."""

    reject_reason_code: Code
    reason: str = ""
    evidence_description: str = ""
    evidence_need: str = "N"
    image: str = ""
    order_type: Code | None = None
    pkg: Code | None = None


class LogisticsInfo(_Wire):
    """One outbound parcel of order/orderDetail (``logistics_info``)."""

    tracking_no: str = ""
    company: str = ""
    company_name: str = ""
    ship_time: Seconds = 0
    delivery_id: str = ""

    _ids = field_validator("delivery_id", mode="before")(_text)


class SkuOrder(_Wire):
    """A SKU order (子订单) of order/orderDetail's ``sku_order_list``."""

    order_id: str
    order_status: Code | None = None
    item_num: Code = 1
    origin_amount: Fen = 0
    sum_amount: Fen = 0
    pay_amount: Fen = 0
    #: the order's discounts the platform put on this SKU order (店铺 + 平台 + 达人), and
    #: those three parts; 0 when not sent
    promotion_amount: Fen = 0
    promotion_shop_amount: Fen = 0
    promotion_platform_amount: Fen = 0
    promotion_talent_amount: Fen = 0
    product_name: str = ""
    code: str = ""
    out_sku_id: str = ""
    sku_id: str | None = None
    product_id: str | None = None

    _ids = field_validator("order_id", mode="before")(_id)
    _other = field_validator("sku_id", "product_id", "out_sku_id", mode="before")(_text)


class ShopOrder(_Wire):
    """The shop order (店铺单) of order/orderDetail's ``shop_order_detail``."""

    order_id: str
    order_status: Code | None = None
    order_status_desc: str = ""
    create_time: Seconds
    update_time: Seconds
    finish_time: Seconds = 0
    ship_time: Seconds = 0
    order_amount: Fen = 0
    pay_amount: Fen = 0
    post_amount: Fen = 0
    promotion_amount: Fen = 0
    doudian_open_id: str = ""
    open_id: str = ""
    sku_order_list: list[SkuOrder] = Field(default_factory=list)
    logistics_info: list[LogisticsInfo] = Field(default_factory=list)

    _ids = field_validator("order_id", mode="before")(_id)


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
        info = data.get("track_info")
        info = info if isinstance(info, dict) else {}
        return parse(cls, {"route__node_list": nodes,
                                   "track_no": str(info.get("track_no") or ""),
                                   "express": str(info.get("express") or "")},
                     payload="douyin logistics/trackNoRouteDetail")
