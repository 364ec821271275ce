"""Pure conversions from Pinduoduo payloads to the core's models, and their tables.

One table per concept, each with a test enumerating the platform's list:
after-sales statuses (:data:`STATUSES`), the after-sales types of the
incremental list (:data:`LIST_TYPES`) and of the detail API
(:data:`DETAIL_TYPES`, numbered differently by the platform), the buyer's
reasons (:data:`REASONS`). Times on the wire are China time
``yyyy-MM-dd HH:mm:ss`` or Unix seconds; they become aware UTC datetimes.

Amounts: the official SDK's response classes document the incremental
list's ``refund_amount`` as text in yuan ("退款金额（元）") and the detail
API's as a number; a JSON string is read as yuan, a JSON number as fen.
Order amounts are yuan text ("单位：元").
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from aftersales.errors import ValidationError
from aftersales.logistics.carrier_names import carrier_for_name
from aftersales.models import (
    Buyer,
    FulfilmentStage,
    Order,
    OrderLine,
    PlatformDeadline,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    Shipment,
)
from aftersales.paging import trusted_total
from aftersales.wire import china_time, discount_beyond_paid, record_name, yuan_or_fen, yuan_or_zero
from aftersales_pinduoduo.schemas import (
    PddOrder,
    PddOrderPage,
    PddRefund,
    PddRefundDetail,
    PddRefundPage,
    read,
)

__all__ = [
    "AGREEABLE",
    "CURRENCY",
    "DETAIL_TYPES",
    "EXCHANGE_AWAITING_SHOP",
    "EXCHANGE_SENT",
    "LIST_TYPES",
    "PAID",
    "REASONS",
    "STATUSES",
    "UNPAID",
    "amount",
    "detail_kind",
    "exchange_tracking",
    "list_kind",
    "order_stamp",
    "orders_page",
    "parse_time",
    "reason_for",
    "refund_to_request",
    "refunds_page",
    "request_stamp",
    "return_status",
    "to_order",
    "with_detail",
]

NAME = "pinduoduo"
CURRENCY = "CNY"

#: ``after_sales_status`` (pdd.refund.list.increment.get, pdd.refund.information.get)
#: and its canonical status. The platform's words are beside each code.
STATUSES: dict[int, ReturnStatus] = {
    0: ReturnStatus.CANCELLED,  # 无售后
    2: ReturnStatus.REQUESTED,  # 买家申请退款，待商家处理
    3: ReturnStatus.REQUESTED,  # 退货退款，待商家处理
    4: ReturnStatus.REFUNDED,  # 商家同意退款，退款中 (the shop's agree is the payment order)
    5: ReturnStatus.REFUNDED,  # 平台同意退款，退款中
    6: ReturnStatus.REJECTED,  # 驳回退款，待买家处理
    7: ReturnStatus.APPROVED,  # 已同意退货退款，待用户发货
    8: ReturnStatus.REQUESTED,  # 平台处理中 (the platform arbitrates)
    9: ReturnStatus.REJECTED,  # 平台拒绝退款，退款关闭
    10: ReturnStatus.REFUNDED,  # 退款成功
    11: ReturnStatus.CANCELLED,  # 买家撤销
    12: ReturnStatus.CANCELLED,  # 买家逾期未处理，退款失败
    13: ReturnStatus.CANCELLED,  # 买家逾期，超过有效期
    14: ReturnStatus.REQUESTED,  # 换货补寄待商家处理
    15: ReturnStatus.APPROVED,  # 换货补寄待用户处理
    16: ReturnStatus.CLOSED,  # 换货补寄成功
    17: ReturnStatus.CANCELLED,  # 换货补寄失败
    18: ReturnStatus.EXCHANGE_SHIPPED,  # 换货补寄待用户确认完成
    21: ReturnStatus.REQUESTED,  # 待商家同意维修
    22: ReturnStatus.APPROVED,  # 待用户确认发货
    24: ReturnStatus.CANCELLED,  # 维修关闭
    25: ReturnStatus.CLOSED,  # 维修成功
    27: ReturnStatus.EXCHANGE_SHIPPED,  # 待用户确认收货
    31: ReturnStatus.APPROVED,  # 已同意拒收退款，待用户拒收
    32: ReturnStatus.APPROVED,  # 补寄待商家发货
    33: ReturnStatus.APPROVED,  # 待商家召回
}

#: States in which the shop's agree has been given, so the refund is paid or on its way.
PAID = frozenset({4, 5, 10})
#: States in which pdd.refund.agree may be called (the shop still has to answer).
AGREEABLE = frozenset({2, 3})
#: States of an exchange in which the shop may send the replacement
#: (14 换货补寄待商家处理, 15 换货补寄待用户处理: the platform's words do not say
#: whether the buyer's parcel must come back first, so the platform decides).
EXCHANGE_AWAITING_SHOP = frozenset({14, 15})
#: States reached only once the shop sent an exchange's replacement
#: (18 换货补寄待用户确认完成, 16 换货补寄成功).
EXCHANGE_SENT = frozenset({16, 18})
#: States in which the platform surely has not paid (nor will without the shop).
UNPAID = AGREEABLE | {0, 6, 7, 9, 11, 12, 13}

#: ``after_sales_type`` as pdd.refund.list.increment.get numbers it (its filter
#: and its records: 2 仅退款, 3 退货退款, 4 换货, 5 缺货补寄, 6 维修, 9 拦截退货).
LIST_TYPES: dict[int, ReturnKind] = {
    2: ReturnKind.REFUND_ONLY,
    3: ReturnKind.RETURN,
    4: ReturnKind.EXCHANGE,
    5: ReturnKind.RESHIP,
    6: ReturnKind.REPAIR,
    9: ReturnKind.REFUND_ONLY,  # the parcel is intercepted on its way out, money back
}

#: ``after_sales_type`` as pdd.refund.information.get numbers it
#: (1 仅退款, 2 退货退款, 3 换货, 4 补寄, 5 维修).
DETAIL_TYPES: dict[int, ReturnKind] = {
    1: ReturnKind.REFUND_ONLY,
    2: ReturnKind.RETURN,
    3: ReturnKind.EXCHANGE,
    4: ReturnKind.RESHIP,
    5: ReturnKind.REPAIR,
}

#: The reasons buyers pick (free text on the wire; the platform publishes no
#: code list) and their canonical reason. Unknown text is ``other``, kept raw.
REASONS: dict[str, ReturnReason] = {
    "七天无理由退货": ReturnReason.NO_REASON,
    "7天无理由退货": ReturnReason.NO_REASON,
    "不想要了": ReturnReason.CHANGED_MIND,
    "拍错/多拍/不想要": ReturnReason.CHANGED_MIND,
    "多拍/错拍/不想要": ReturnReason.CHANGED_MIND,
    "尺码不合适": ReturnReason.WRONG_SIZE,
    "大小/尺寸与商品描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "商品与描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "颜色/款式/图案与描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "质量问题": ReturnReason.QUALITY_ISSUE,
    "商品质量问题": ReturnReason.QUALITY_ISSUE,
    "做工粗糙/有瑕疵": ReturnReason.QUALITY_ISSUE,
    "商品破损": ReturnReason.DAMAGED_IN_TRANSIT,
    "快递/物流问题导致商品破损": ReturnReason.DAMAGED_IN_TRANSIT,
    "少件/漏发": ReturnReason.MISSING_ITEM,
    "空包裹": ReturnReason.MISSING_ITEM,
    "发错货": ReturnReason.WRONG_ITEM,
    "商家发错货": ReturnReason.WRONG_ITEM,
    "未按约定时间发货": ReturnReason.LATE_DELIVERY,
    "快递一直未送达": ReturnReason.LATE_DELIVERY,
    "快递/物流一直未送到": ReturnReason.LATE_DELIVERY,
    "缺货": ReturnReason.OTHER,
    "其他": ReturnReason.OTHER,
}


#: A wire time (epoch seconds or milliseconds, or China-time text) as aware UTC:
#: :func:`aftersales.wire.china_time`, naming this platform's payload unless told which.
parse_time = partial(china_time, field="time", payload="pinduoduo payload")
#: An amount as written on the wire: text in yuan, a JSON integer in fen; a JSON
#: number with a fraction is refused (:func:`aftersales.wire.yuan_or_fen`).
amount = partial(yuan_or_fen, currency=CURRENCY, decimal_numbers=False)


def return_status(code: int) -> ReturnStatus:
    """The canonical status of an ``after_sales_status``.

    A code Pinduoduo adds later reads as ``requested`` (the raw code is kept
    beside it) rather than failing a whole sync.
    """
    return STATUSES.get(code, ReturnStatus.REQUESTED)


def list_kind(code: int) -> ReturnKind:
    """The kind of an incremental list's ``after_sales_type``.

    A type Pinduoduo adds later reads as ``return`` (goods come back before
    any money goes), never as a refund of money only.
    """
    return LIST_TYPES.get(code, ReturnKind.RETURN)


def reason_for(text: str | None) -> ReturnReason:
    """The canonical reason of the buyer's reason text (``other`` when unknown)."""
    return REASONS.get((text or "").strip(), ReturnReason.OTHER)


def _quantity(text: str, where: str) -> int:
    """``goods_number``: ASCII digits; 0 (nothing counted, as on a refund of money
    only) reads as 1; a sign, a fraction or more than six digits is refused."""
    text = (text or "1").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise ValidationError("not a whole number of pieces", field="goods_number",
                              payload=where)
    return max(int(text), 1)


def refund_to_request(refund: PddRefund, store: str = NAME) -> ReturnRequest:
    """An after-sales order as the core's :class:`ReturnRequest` (one line: the SKU)."""
    where = record_name("pinduoduo after-sales", refund.id)
    return ReturnRequest(
        marketplace=store,
        order_id=refund.order_sn,
        kind=list_kind(refund.after_sales_type),
        lines=[ReturnLine(
            order_line_id=refund.sku_id or refund.order_sn,
            sku=refund.outer_id or refund.sku_id or None,
            quantity=_quantity(refund.goods_number, where),
            reason=reason_for(refund.after_sale_reason),
            reason_text=refund.after_sale_reason or None,
        )],
        status=return_status(refund.after_sales_status),
        raw_status=str(refund.after_sales_status),
        external_id=refund.id,
        requested_amount=amount(refund.refund_amount, field="refund_amount", payload=where),
        return_tracking_number=refund.tracking_number or None,
        return_carrier=carrier_for_name(refund.shipping_name),
        created_at=parse_time(refund.created_time, field="created_time", payload=where)
        if refund.created_time else None,
        updated_at=parse_time(refund.updated_time, field="updated_time", payload=where),
    )


def with_detail(request: ReturnRequest, detail: PddRefundDetail) -> ReturnRequest:
    """``request`` completed from its detail: stage, platform deadline, pictures, note.

    ``shipping_status`` (0 未发货, 1 已发货) is how far the order had gone, so
    a refund asked before shipment (未发货仅退款) is kept apart;
    ``expire_time`` (售后逾期时间, given only while the shop has to answer)
    is the platform's deadline on the request's current status.
    """
    where = record_name("pinduoduo after-sales", detail.id)
    stage = {0: FulfilmentStage.NOT_SHIPPED, 1: FulfilmentStage.SHIPPED}.get(
        detail.shipping_status if detail.shipping_status is not None else -1)
    deadline = None
    if detail.expire_time and str(detail.expire_time).strip() not in ("", "0"):
        deadline = PlatformDeadline(
            due_at=parse_time(detail.expire_time, field="expire_time", payload=where),
            status=request.status, raw_status=request.raw_status)
    return request.model_copy(update={
        "stage": stage, "platform_deadline": deadline,
        "evidence": [url for url in detail.images if url] or request.evidence,
        "buyer_note": detail.remark or request.buyer_note,
    })


def exchange_tracking(detail: PddRefundDetail) -> str | None:
    """The tracking number of the replacement the shop sent (换货详情), if any."""
    info = detail.exchange_shipping_detail or {}
    number = str(info.get("merchant_exchange_trunk_number") or "").strip()
    return number or None


def detail_kind(detail: PddRefundDetail) -> ReturnKind | None:
    """The kind of request a detail answer describes (``None`` when it does not say)."""
    return DETAIL_TYPES.get(detail.after_sales_type) if detail.after_sales_type else None


def _count(count: int, where: str) -> int:
    """An order line's ``goods_count``: 0 reads as 1, a negative count is refused."""
    if count < 0 or count > 999_999:
        raise ValidationError("not a count of pieces", field="goods_count", payload=where)
    return max(count, 1)


#: ``order_status`` values after which the buyer has the goods (3 已签收).
_SIGNED = 3


def to_order(order: PddOrder, store: str = NAME) -> Order:
    """A Pinduoduo order as the core's :class:`Order`: one line per SKU.

    ``total`` is what the buyer paid (``pay_amount``); the order-level
    ``discount`` is what the lines and postage add up to beyond that.
    Prices include VAT and the order itemises no tax.
    """
    where = record_name("pinduoduo order", order.order_sn)
    if not order.item_list:
        raise ValidationError("an order without items", field="item_list", payload=where)

    yuan = partial(yuan_or_zero, payload=where, currency=CURRENCY, decimal_numbers=False)

    lines = [
        OrderLine(external_id=item.sku_id or f"{order.order_sn}-{n}",
                  sku=item.outer_id or item.sku_id or item.goods_id or order.order_sn,
                  title=item.goods_name, quantity=_count(item.goods_count, where),
                  unit_price=yuan(item.goods_price, field="goods_price"))
        for n, item in enumerate(order.item_list)
    ]
    shipping = yuan(order.postage, field="postage")
    paid = yuan(order.pay_amount, field="pay_amount")
    shipments = []
    if order.tracking_number:
        shipments.append(Shipment(
            tracking_number=order.tracking_number, external_id=order.tracking_number,
            shipped_at=parse_time(order.shipping_time, field="shipping_time", payload=where)
            if order.shipping_time else None,
            line_ids=[line.external_id for line in lines]))
    return Order(
        marketplace=store, external_id=order.order_sn,
        buyer=Buyer(external_id=f"order-{order.order_sn}"),  # PDD hides buyer identities
        currency=CURRENCY, lines=lines, shipping=shipping,
        discount=discount_beyond_paid([*(line.net for line in lines), shipping], paid),
        total=paid,
        raw_status=str(order.order_status) if order.order_status is not None else None,
        placed_at=parse_time(order.created_time, field="created_time", payload=where),
        updated_at=parse_time(order.updated_at, field="updated_at", payload=where),
        delivered_at=parse_time(order.receive_time, field="receive_time", payload=where)
        if order.order_status == _SIGNED and order.receive_time else None,
        shipments=shipments, taxes_included=True,
    )


# ------------------------------------------------------------------ listing pages


def refunds_page(body: dict[str, Any], store: str = NAME) -> tuple[list[ReturnRequest], int | None]:
    """A pdd.refund.list.increment.get answer: its requests and the total count, when the
    page agrees with it (:func:`aftersales.paging.trusted_total`)."""
    page = read(PddRefundPage, body, payload="pdd.refund.list.increment.get")
    return [refund_to_request(r, store) for r in page.refund_list], trusted_total(
        page.total_count, len(page.refund_list))


def orders_page(body: dict[str, Any], store: str = NAME) -> tuple[list[Order], int | None]:
    """A pdd.order.number.list.increment.get answer: its orders and the total count, when
    the page agrees with it (:func:`aftersales.paging.trusted_total`)."""
    page = read(PddOrderPage, body, payload="pdd.order.number.list.increment.get")
    return [to_order(o, store) for o in page.order_sn_list], trusted_total(
        page.total_count, len(page.order_sn_list))


def request_stamp(item: ReturnRequest) -> tuple[datetime, str]:
    """A request's (change time, id); refund_to_request always sets both."""
    return item.updated_at or datetime.min.replace(tzinfo=UTC), item.external_id or ""


def order_stamp(item: Order) -> tuple[datetime, str]:
    """An order's (change time, id)."""
    return item.updated_at, item.external_id
