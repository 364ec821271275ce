"""Pure conversions from Douyin Shop payloads to the core's models, and their tables.

One table per concept, each row tested against the platform's own list:
after-sales statuses (:data:`STATUSES`), types (:data:`TYPES`), the list's
reason filter (:data:`REASON_FILTER`), arbitration states
(:data:`ARBITRATE_STATUSES`), refund states (:data:`REFUND_STATUSES`) and the
buyer's reason texts (:data:`REASONS`). The values are those the official Go
SDK documents on ``afterSale/List`` and ``afterSale/Detail`` (doudian-sdk-golang
1.1.0). Amounts are whole fen (:func:`aftersales.money.from_fen`); times are
Unix seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aftersales.errors import ValidationError
from aftersales.logistics.carrier_names import carrier_for_name
from aftersales.models import (
    Buyer,
    FulfilmentStage,
    Order,
    OrderLine,
    PlatformDeadline,
    PlatformDispute,
    RefusalReason,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    RiskSignal,
    Shipment,
)
from aftersales.money import Money, from_fen
from aftersales.paging import trusted_total as core_trusted_total
from aftersales.wire import china_time, discount_beyond_paid, record_name
from aftersales_douyin.schemas import (
    SECONDS_SPAN,
    AftersaleDetail,
    AftersaleItem,
    AftersalePage,
    DetailInfo,
    RejectReason,
    ShopOrder,
    SkuOrder,
    parse,
)

__all__ = [
    "ARBITRATE_STATUSES",
    "CURRENCY",
    "DISPUTE_OPEN",
    "EXTENDABLE",
    "NAME",
    "REASONS",
    "REASON_FILTER",
    "REFUND_STATUSES",
    "STATUSES",
    "TYPES",
    "detail_status",
    "detail_to_item",
    "detail_to_request",
    "item_to_request",
    "kind_of",
    "moment",
    "reason_for",
    "reject_reason",
    "request_stamp",
    "requests_page",
    "return_status",
    "route_moment",
    "stage_of",
    "to_order",
    "trusted_total",
]

NAME = "douyin"
CURRENCY = "CNY"
S, K = ReturnStatus, ReturnKind

#: ``aftersale_status`` (afterSale/List ``standard_aftersale_status``; afterSale/Detail
#: adds 51 and 53) and the canonical status of each. 8, 12 and 14 depend on the
#: kind and are refined by :func:`return_status`.
STATUSES: dict[int, ReturnStatus] = {
    3: S.EXCHANGE_SHIPPED,  # 换货待买家收货
    6: S.REQUESTED,  # 待商家同意 (售后申请)
    7: S.APPROVED,  # 待买家退货 (售后退货中)
    8: S.RECEIVED,  # 待商家发货 (换货/维修: goods back, the shop sends; 补寄: see below)
    11: S.RETURN_SHIPPED,  # 待商家二次同意 (售后已发货: the goods are on their way back)
    12: S.REFUNDED,  # 售后成功 (a kind that pays: money back)
    13: S.EXCHANGE_SHIPPED,  # 换货/补寄/维修 待买家收货
    14: S.CLOSED,  # 换货/补寄/维修 成功
    27: S.REJECTED,  # 商家一次拒绝 (拒绝售后申请)
    28: S.CANCELLED,  # 售后失败 (closed without money: withdrawn, timed out)
    29: S.REJECTED,  # 商家二次拒绝 (售后退货拒绝: the returned goods refused)
    51: S.CANCELLED,  # 订单取消成功 (Detail only: the order was cancelled)
    53: S.CLOSED,  # 逆向交易已完成 (Detail only)
}

#: ``aftersale_type`` and the kind of request each is, with the stage it fixes
#: (``None``: the stage comes from ``got_pkg``). 4 and 5 (系统取消, 用户取消)
#: appear in afterSale/Detail only: cancellations of a not-yet-shipped order.
TYPES: dict[int, tuple[ReturnKind, FulfilmentStage | None]] = {
    0: (K.RETURN, FulfilmentStage.DELIVERED),  # 退货退款
    1: (K.REFUND_ONLY, None),  # 已发货仅退款 (shipped; got_pkg says whether it arrived)
    2: (K.REFUND_ONLY, FulfilmentStage.NOT_SHIPPED),  # 未发货仅退款 (发货前退款)
    3: (K.EXCHANGE, FulfilmentStage.DELIVERED),  # 换货
    4: (K.REFUND_ONLY, FulfilmentStage.NOT_SHIPPED),  # 系统取消
    5: (K.REFUND_ONLY, FulfilmentStage.NOT_SHIPPED),  # 用户取消
    6: (K.PRICE_PROTECTION, None),  # 价保
    7: (K.RESHIP, FulfilmentStage.DELIVERED),  # 补寄
    8: (K.REPAIR, FulfilmentStage.DELIVERED),  # 维修
}

#: afterSale/List's ``reason`` filter: the two reason classes the platform knows.
REASON_FILTER: dict[int, ReturnReason] = {
    1: ReturnReason.NO_REASON,  # 七天无理由退货
    2: ReturnReason.OTHER,  # 非七天无理由退货 (the text says which)
}

#: ``arbitrate_status`` on afterSale/List items and whether a platform dispute is open.
#: The SDK documents two lists: the answer's (0-5, 255 仲裁结束) and the request
#: filter's (0 未介入, 1 客服处理中, 2/3 仲裁结束-支持买家/卖家, 4 待商家举证,
#: 5 待与买家协商, 6 仲裁结束, 255 取消); both are read, and they agree on
#: which states are open.
ARBITRATE_STATUSES: dict[int, bool] = {
    0: False,  # 无仲裁记录 (未介入)
    1: True,  # 仲裁中 (客服处理中)
    2: False,  # 客服同意 (仲裁结束-支持买家)
    3: False,  # 客服拒绝 (仲裁结束-支持卖家)
    4: True,  # 待商家举证
    5: True,  # 协商期 (待与买家协商)
    6: False,  # 仲裁结束 (the request filter's list only)
    255: False,  # 仲裁结束 (the answer's list) / 取消 (the request filter's)
}
DISPUTE_OPEN = frozenset(code for code, open_ in ARBITRATE_STATUSES.items() if open_)
#: A state the table does not know counts as open: a new dispute state is
#: something a person should look at, never one to pass over.

#: ``refund_status``: whether the money went back (True), surely not (False) or
#: cannot tell yet (None: being paid, so never paid again).
REFUND_STATUSES: dict[int, bool | None] = {
    1: False,  # 待退款
    2: None,  # 退款中
    3: True,  # 退款成功
    4: False,  # 退款失败
    5: True,  # 追缴成功 (paid, then clawed back by the platform)
}

#: Statuses on whose deadline the shop may ask for more time (afterSale/timeExtend):
#: the goods are on their way back and the shop waits to receive them.
EXTENDABLE = frozenset({11})

#: The reason texts buyers pick (``text_part.reason_text``) and their canonical reason.
REASONS: dict[str, ReturnReason] = {
    "七天无理由退货": ReturnReason.NO_REASON,
    "无理由退款": ReturnReason.NO_REASON,  # the SDK's example of reason_text and reason
    "7天无理由退货": ReturnReason.NO_REASON,
    "不想要了": ReturnReason.CHANGED_MIND,
    "拍错/多拍/不喜欢": ReturnReason.CHANGED_MIND,
    "尺码拍错/不喜欢/效果不好": ReturnReason.WRONG_SIZE,
    "尺寸不合适": ReturnReason.WRONG_SIZE,
    "商品与描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "商品与页面描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "质量问题": ReturnReason.QUALITY_ISSUE,
    "商品质量问题": ReturnReason.QUALITY_ISSUE,
    "商品破损/包装破损": ReturnReason.DAMAGED_IN_TRANSIT,
    "少件/漏发": ReturnReason.MISSING_ITEM,
    "商家发错货": ReturnReason.WRONG_ITEM,
    "发错货": ReturnReason.WRONG_ITEM,
    "未按约定时间发货": ReturnReason.LATE_DELIVERY,
    "快递一直未送达": ReturnReason.LATE_DELIVERY,
    "价格变化": ReturnReason.OTHER,  # 价保: the price dropped
    "与商家协商一致退款": ReturnReason.OTHER,
    "其他": ReturnReason.OTHER,
}


def moment(seconds: int | None, *, field: str = "time",
           payload: str = "douyin payload") -> datetime | None:
    """Unix seconds → aware UTC datetime (``None`` for 0 or missing).

    Raises:
        ValidationError: a value outside 2000–2100 as seconds (milliseconds
            read as seconds would be a date thousands of years ahead).
    """
    if not seconds:
        return None
    if not SECONDS_SPAN[0] <= seconds < SECONDS_SPAN[1]:
        raise ValidationError("not a time in Unix seconds between 2000 and 2100",
                              field=field, payload=payload)
    return datetime.fromtimestamp(seconds, UTC)


def route_moment(text: str) -> datetime | None:
    """A route node's ``timestamp`` (documented as a string of seconds) as an aware time
    (:func:`aftersales.wire.china_time`: seconds, or milliseconds above ``10**11``).

    One that is no time between 2000 and 2100 (the SDK's own example,
    ``161324234234``, is 1975 as milliseconds) or not in ASCII digits is no
    time at all (``None``) rather than a made-up one: the node is left out.
    """
    try:
        return china_time(text, field="timestamp", payload="douyin route")
    except ValidationError:
        return None


def kind_of(type_code: int) -> ReturnKind:
    """The kind of request of an ``aftersale_type``.

    Raises:
        ValidationError: a type the platform does not document.
    """
    try:
        return TYPES[type_code][0]
    except KeyError:
        raise ValidationError(f"unknown after-sales type {type_code}",
                              field="aftersale_type", payload="douyin after-sale") from None


def stage_of(type_code: int, got_pkg: int) -> FulfilmentStage | None:
    """How far the order had gone: fixed by the type, else by ``got_pkg`` (1: received)."""
    fixed = TYPES.get(type_code, (None, None))[1]
    if fixed is not None:
        return fixed
    return FulfilmentStage.DELIVERED if got_pkg == 1 else FulfilmentStage.SHIPPED


def return_status(code: int, kind: ReturnKind) -> ReturnStatus:
    """The canonical status of ``aftersale_status`` for a request of ``kind``.

    8 means "the shop sends": after the goods came back for an exchange or
    repair (received), straight after approval for a reshipment. 12
    (售后成功) means money back for a kind that pays, done for one that does
    not. An undocumented code reads as ``requested`` (the raw code is kept)
    rather than failing a whole sync.
    """
    if code == 8 and not kind.goods_back:
        return S.APPROVED
    if code == 12 and not kind.pays:
        return S.CLOSED
    return STATUSES.get(code, S.REQUESTED)


def detail_status(info: DetailInfo) -> ReturnStatus:
    """The canonical status of an afterSale/Detail answer."""
    return return_status(info.after_sale_status, kind_of(info.after_sale_type))


def reason_for(text: str | None) -> ReturnReason:
    """The canonical reason of the buyer's reason text (``other`` when unknown)."""
    return REASONS.get((text or "").strip(), ReturnReason.OTHER)


def _risk(code: int, reason: str, description: str) -> RiskSignal | None:
    if not code and not reason:
        return None
    return RiskSignal(code=str(code), reason=reason or None, description=description or None)


def item_to_request(item: AftersaleItem, store: str = NAME) -> ReturnRequest:
    """An afterSale/List item as the core's :class:`ReturnRequest`.

    One line per SKU order it covers; ``requested_amount`` is the goods'
    refund plus the postage refund, both fen; ``status_deadline`` becomes
    the platform deadline and ``risk_decision_*`` the risk signal.
    """
    info = item.aftersale_info
    where = record_name("douyin after-sale", info.aftersale_id)
    kind = kind_of(info.aftersale_type)
    status = return_status(info.aftersale_status, kind)
    reason = reason_for(item.text_part.reason_text)
    lines = [
        ReturnLine(order_line_id=sku.sku_order_id, sku=sku.shop_sku_code or None,
                   quantity=max(sku.aftersale_item_num or sku.item_num or 1, 1), reason=reason,
                   reason_text=item.text_part.reason_text or None)
        for sku in item.order_info.related_order_info
    ] or [ReturnLine(order_line_id=info.related_id or item.order_info.shop_order_id,
                     quantity=max(info.aftersale_num, 1), reason=reason,
                     reason_text=item.text_part.reason_text or None)]
    if not info.update_time:
        raise ValidationError("an after-sale without its update time", field="update_time",
                              payload=where)
    amount = info.refund_amount + info.refund_post_amount
    due = moment(info.status_deadline)
    return ReturnRequest(
        marketplace=store,
        order_id=item.order_info.shop_order_id,
        kind=kind,
        lines=lines,
        status=status,
        raw_status=str(info.aftersale_status),
        external_id=info.aftersale_id,
        requested_amount=from_fen(amount, CURRENCY, field="refund_amount", payload=where)
        if kind.pays else None,
        buyer_note=None,  # ``remark`` is the shop's own note (售后商家备注), not the buyer's
        return_tracking_number=info.return_logistics_code or None,
        return_carrier=carrier_for_name(info.return_logistics_company_name or None),
        created_at=moment(info.apply_time or info.create_time),
        updated_at=moment(info.update_time),
        stage=stage_of(info.aftersale_type, info.got_pkg),
        platform_deadline=PlatformDeadline(
            due_at=due, status=status, raw_status=str(info.aftersale_status),
            extendable=info.aftersale_status in EXTENDABLE) if due else None,
        risk=_risk(info.risk_decision_code, info.risk_decision_reason,
                   info.risk_decision_description),
        dispute=PlatformDispute(status=str(info.arbitrate_status),
                                open=ARBITRATE_STATUSES.get(info.arbitrate_status, True))
        if info.arbitrate_status else None,
    )


def detail_to_item(detail: AftersaleDetail) -> AftersaleItem:
    """An afterSale/Detail answer as the afterSale/List item it would be listed as.

    The detail spells the same facts its own way (``after_sale_*``,
    ``risk_decsison_*``, the SKU orders as ``sku_order_infos``, the buyer's
    parcel under ``logistics_info.return``, the dispute under
    ``arbitrate_info``) and gives the amount with postage
    (``refund_total_amount``, 售后总金额（含运费）) where the list gives the
    goods and the postage apart. Renamed here, the request is then read by
    :func:`item_to_request`, the listing's own mapping.

    Raises:
        ValidationError: no order (``order_info``), or a postage refund above
            the total (named by the payload).
    """
    payload = "douyin afterSale/Detail"
    info = detail.process_info.after_sale_info
    order = detail.order_info
    if order is None:
        raise ValidationError("an after-sale without its order", field="order_info",
                              payload=record_name(payload, info.after_sale_id))
    parcel = (detail.process_info.logistics_info.return_parcel
              if detail.process_info.logistics_info else None)
    arbitrate = detail.process_info.arbitrate_info
    return parse(AftersaleItem, {
        "aftersale_info": {
            "aftersale_id": info.after_sale_id,
            "aftersale_order_type": info.after_sale_order_type,
            "aftersale_type": info.after_sale_type,
            "aftersale_status": info.after_sale_status,
            "apply_time": info.apply_time, "update_time": info.update_time,
            "status_deadline": info.status_deadline,
            "refund_amount": info.refund_total_amount - info.refund_post_amount,
            "refund_post_amount": info.refund_post_amount,
            "aftersale_num": info.after_sale_apply_count,
            "refund_status": info.refund_status,
            "arbitrate_status": arbitrate.arbitrate_status if arbitrate else 0,
            "return_logistics_code": parcel.tracking_no if parcel else "",
            "return_logistics_company_name": parcel.company_name if parcel else "",
            "risk_decision_code": info.risk_decsison_code,
            "risk_decision_reason": info.risk_decsison_reason,
            "risk_decision_description": info.risk_decsison_description,
            "got_pkg": info.got_pkg,
        },
        "order_info": {
            "shop_order_id": order.shop_order_id,
            "related_order_info": [
                {"sku_order_id": sku.sku_order_id, "order_status": sku.order_status,
                 "pay_amount": sku.pay_amount, "item_num": sku.item_quantity,
                 "product_name": sku.product_name, "shop_sku_code": sku.shop_sku_code,
                 "aftersale_item_num": sku.after_sale_item_count}
                for sku in order.sku_order_infos],
        },
        "text_part": {"reason_text": info.reason},
    }, payload=payload)


def detail_to_request(detail: AftersaleDetail, store: str = NAME) -> ReturnRequest:
    """An afterSale/Detail answer as the :class:`ReturnRequest` the listing gives for it."""
    return item_to_request(detail_to_item(detail), store)


def request_stamp(request: ReturnRequest) -> tuple[datetime, str]:
    """A request's (update time, id), the listing's order."""
    assert request.updated_at is not None  # item_to_request always sets it
    return request.updated_at, request.external_id or ""


def requests_page(data: dict[str, Any], store: str = NAME) -> tuple[list[ReturnRequest],
                                                                     int | None]:
    """An afterSale/List ``data`` as requests and the total the platform reports."""
    page = parse(AftersalePage, data, payload="douyin afterSale/List")
    return [item_to_request(item, store) for item in page.items], trusted_total(
        page.total, len(page.items), page.page * page.size if page.size else None,
        has_more=page.has_more)


def trusted_total(total: int | None, count: int, before: int | None, *,
                  has_more: bool | None) -> int | None:
    """The page's ``total`` if it agrees with the page itself, else ``None``.

    The listing walks the pages the total announces; a total that cannot be
    (below zero, below the items this page already holds, or saying "no
    more" beside ``has_more``) would cut the walk short and lose requests
    silently, so it is dropped and the pages are walked until a short one.
    """
    return core_trusted_total(total, count + (before or 0), more=has_more)


def reject_reason(reason: RejectReason) -> RefusalReason:
    """An afterSale/rejectReasonCodeList item as the core's :class:`RefusalReason`."""
    return RefusalReason(code=str(reason.reject_reason_code), text=reason.reason,
                         tips=reason.evidence_description or None,
                         needs_evidence=reason.evidence_need.strip().upper() == "Y")


def _fen(value: int, field: str, where: str) -> Money:
    return from_fen(value, CURRENCY, field=field, payload=where)


def _allocated(sku: SkuOrder) -> int:
    """The order's discounts (fen) the platform put on ``sku``: its ``promotion_amount``
    (店铺 + 平台 + 达人优惠), or the sum of those three parts when only they are sent."""
    return sku.promotion_amount or (sku.promotion_shop_amount + sku.promotion_platform_amount
                                    + sku.promotion_talent_amount)


def to_order(order: ShopOrder, store: str = NAME) -> Order:
    """An order/orderDetail shop order as the core's :class:`Order`: one line per SKU order.

    A line's unit price is ``origin_amount`` (商品现价, the price of one unit:
    the SDK gives ``sum_amount`` as 商品现价*件数); without it the line's
    ``sum_amount`` or ``pay_amount`` is spread over the units. ``total`` is
    what the buyer paid (``pay_amount``).

    The order's discounts are the platform's own split where it sends one:
    each SKU order's ``promotion_amount`` (店铺 + 平台 + 达人优惠 on that SKU,
    so a single-product coupon stays on its product) becomes that line's
    discount, and only what lines and postage add up to beyond that and the
    paid total is an order-level ``discount``, which the core spreads by
    price. A split that cannot be (one SKU's share above its line, or more
    than the order was discounted: the SDK's own examples do that) is not
    used, and the whole discount is spread by price as without one.
    """
    where = record_name("douyin order", order.order_id)
    if not order.sku_order_list:
        raise ValidationError("an order without SKU orders", field="sku_order_list",
                              payload=where)
    units = []
    for sku in order.sku_order_list:
        qty = max(sku.item_num, 1)
        if sku.origin_amount:  # 商品现价: the price of one unit (sum_amount is it times item_num)
            unit, extra = sku.origin_amount, 0
        else:
            line_fen = sku.sum_amount or sku.pay_amount
            unit = -(-line_fen // qty)  # whole fen a unit; the excess is the line's own discount
            extra = unit * qty - line_fen
        units.append((sku, qty, unit, extra))
    shipping = _fen(order.post_amount, "post_amount", where)
    paid = _fen(order.pay_amount, "pay_amount", where)
    discounted = (sum(unit * qty - extra for _, qty, unit, extra in units)
                  + order.post_amount - order.pay_amount)
    split = [_allocated(sku) for sku, *_ in units]
    if (any(share > unit * qty - extra for share, (_, qty, unit, extra) in zip(split, units,
                                                                                 strict=True))
            or sum(split) > max(discounted, 0)):
        split = [0] * len(units)  # not a split the order can have: spread by price instead
    lines = [OrderLine(
        external_id=sku.order_id, sku=sku.code or sku.out_sku_id or sku.sku_id or sku.order_id,
        title=sku.product_name, quantity=qty,
        unit_price=_fen(unit, "origin_amount", where),
        discount=_fen(extra + share, "promotion_amount", where) if extra + share else None)
        for (sku, qty, unit, extra), share in zip(units, split, strict=True)]
    parcels = [Shipment(tracking_number=p.tracking_no, carrier=carrier_for_name(
        p.company_name or None) or (p.company or None), external_id=p.delivery_id or None,
        shipped_at=moment(p.ship_time)) for p in order.logistics_info if p.tracking_no]
    created = moment(order.create_time)
    updated = moment(order.update_time)
    if created is None or updated is None:
        raise ValidationError("an order without its create and update times",
                              field="create_time", payload=where)
    return Order(
        marketplace=store, external_id=order.order_id,
        buyer=Buyer(external_id=order.doudian_open_id or order.open_id
                    or f"order-{order.order_id}"),
        currency=CURRENCY, lines=lines, shipping=shipping,
        discount=discount_beyond_paid([*(line.net for line in lines), shipping], paid),
        total=paid,
        raw_status=str(order.order_status) if order.order_status is not None else None,
        placed_at=created, updated_at=updated, shipments=parcels, taxes_included=True)
