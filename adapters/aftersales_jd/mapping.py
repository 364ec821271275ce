"""Pure conversions from JOS payloads to the core's models, and their tables.

One table per concept, each with a test enumerating the platform's list:
the statuses of refund applications before shipment
(:data:`REFUND_STATUSES`), the statuses of after-sales service orders
(:data:`SERVICE_STATUSES`), what the buyer expects of a service order
(:data:`EXPECTATIONS`), the codes of a refusal (:data:`REJECT_TYPES`), the
buyer's reasons (:data:`REASONS`). Times are China time
``yyyy-MM-dd HH:mm:ss`` or epoch milliseconds; they become aware UTC.

Two kinds of request come from JD and keep their kind in their id:
``refund-<id>`` is a refund application made before the order shipped
(退款审核单, refund only); ``afs-<serviceId>`` is an after-sales service
order (服务单: return, exchange, repair, …).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from aftersales.errors import ValidationError
from aftersales.evidence import choose_refusal_reason
from aftersales.models import (
    Buyer,
    FulfilmentStage,
    Order,
    OrderLine,
    RefusalReason,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
)
from aftersales.wire import (
    china_time,
    discount_beyond_paid,
    record_name,
    whole_fen,
    yuan_or_fen,
    yuan_or_zero,
)
from aftersales_jd.schemas import JdComment, JdOrder, RefundApply, ServiceBill

__all__ = [
    "AFS_PREFIX",
    "CURRENCY",
    "EXPECTATIONS",
    "NAME",
    "REASONS",
    "REFUND_PAID",
    "REFUND_PREFIX",
    "REFUND_STATUSES",
    "REFUND_UNPAID",
    "REJECT_TYPES",
    "SERVICE_STATUSES",
    "amount",
    "choose_reject_type",
    "comment_to_review",
    "for_whole_order",
    "parse_time",
    "reason_for",
    "refund_status",
    "refund_to_request",
    "refusal_reasons",
    "request_stamp",
    "review_stamp",
    "service_status",
    "service_to_request",
    "split_id",
    "to_order",
]

NAME = "jd"
_REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"
CURRENCY = "CNY"
REFUND_PREFIX = "refund-"
AFS_PREFIX = "afs-"

#: Refund application ``status`` (refundapply.queryPageList's filter list) and
#: its canonical status. Approving before shipment *is* refunding.
REFUND_STATUSES: dict[int, ReturnStatus] = {
    0: ReturnStatus.REQUESTED,  # 未审核
    1: ReturnStatus.REFUNDED,  # 审核通过
    2: ReturnStatus.REJECTED,  # 审核不通过
    3: ReturnStatus.REFUNDED,  # 京东财务审核通过
    4: ReturnStatus.REJECTED,  # 京东财务审核不通过
    5: ReturnStatus.REFUNDED,  # 人工审核通过
    6: ReturnStatus.REFUNDED,  # 京东拦截并退款
    7: ReturnStatus.APPROVED,  # 青龙拦截成功 (the parcel is stopped; the refund follows)
    8: ReturnStatus.REQUESTED,  # 青龙拦截失败 (the shop has to act again)
    9: ReturnStatus.REFUNDED,  # 强制关单并退款
    10: ReturnStatus.APPROVED,  # 物流待跟进（线下拦截）
    11: ReturnStatus.CANCELLED,  # 用户撤销
    16: ReturnStatus.REFUNDED,  # 拒收后退款
    17: ReturnStatus.APPROVED,  # 协商退货退款
    18: ReturnStatus.CANCELLED,  # 协商关闭
    19: ReturnStatus.REQUESTED,  # 纠纷介入 (JD arbitrates)
    27: ReturnStatus.APPROVED,  # 京东承诺拦截
}
#: Refund application states in which the refund was approved (paid or being paid).
REFUND_PAID = frozenset({1, 3, 5, 6, 9, 16})
#: States in which JD surely has not refunded on the shop's word.
REFUND_UNPAID = frozenset({0, 2, 4, 11, 18})

#: ``rejectType`` of replyRefund (审核不通过), the codes a refusal is chosen by.
REJECT_TYPES: dict[int, str] = {
    1: "（支持拒收）商品已在配送途中，无法取消",
    2: "商品已签收，无法取消",
    3: "国际站保税区订单，已报关",
    4: "已电话沟通客户，客户同意签收商品",
    5: "其他",
    6: "（不支持拒收）商品已在配送途中，无法取消",
}

#: Service order ``serviceStatus`` (jingdong.asc.query.list) and its canonical status.
SERVICE_STATUSES: dict[int, ReturnStatus] = {
    10000: ReturnStatus.REQUESTED,  # 待审核领取
    10001: ReturnStatus.REQUESTED,  # 待审核
    10002: ReturnStatus.REQUESTED,  # 待客户反馈
    10004: ReturnStatus.REJECTED,  # 审核关闭
    10005: ReturnStatus.APPROVED,  # 待收货 (approved, goods on their way back)
    10006: ReturnStatus.RECEIVED,  # 待处理领取
    10007: ReturnStatus.RECEIVED,  # 待处理
    10009: ReturnStatus.EXCHANGE_SHIPPED,  # 待用户确认 (processed, the buyer confirms)
    10010: ReturnStatus.CLOSED,  # 完成
    10011: ReturnStatus.CANCELLED,  # 取消
    10012: ReturnStatus.REQUESTED,  # 客户已反馈
    10013: ReturnStatus.REQUESTED,  # 待审核和待客户反馈
    10041: ReturnStatus.REFUNDED,  # 提交退款申请
    1100: ReturnStatus.RECEIVED,  # 待下发维修中心接单
    12000: ReturnStatus.RECEIVED,  # 上门维修中
    13000: ReturnStatus.RECEIVED,  # 商家催收待处理 / 未收货，待收款 / 已收货，待收款
    14000: ReturnStatus.RECEIVED,  # 上门检测中
    # Named only by a third-party JOS integration (IT-jian/e3-plus, its
    # RefundTransformer::serviceStatusMap, citing the JOS 售后 code page
    # open.jd.com doc/common listId=512): a processing step undone, the goods
    # still with the shop awaiting processing, as 10007 待处理.
    7060: ReturnStatus.RECEIVED,  # 原返取消，待处理
    7023: ReturnStatus.RECEIVED,  # 换新取消，待处理
    7090: ReturnStatus.RECEIVED,  # 线下换新取消，待处理
}

#: ``customerExpect`` of a service order and the kind of request it is: 维修 is
#: repair, 补发 reship; installation services (goods stay, people come, nothing
#: is paid) take the exchange path, the canonical kind that never pays.
EXPECTATIONS: dict[int, ReturnKind] = {
    10: ReturnKind.RETURN,  # 退货
    11: ReturnKind.REFUND_ONLY,  # 仅退款
    20: ReturnKind.EXCHANGE,  # 换货
    30: ReturnKind.REPAIR,  # 维修
    40: ReturnKind.EXCHANGE,  # 大家电安装
    50: ReturnKind.EXCHANGE,  # 大家电移机
    60: ReturnKind.EXCHANGE,  # 大家电增值服务
    70: ReturnKind.REPAIR,  # 上门维修
    80: ReturnKind.RESHIP,  # 补发商品
    90: ReturnKind.REFUND_ONLY,  # 优鲜赔 (a compensation)
    100: ReturnKind.RETURN,  # 试用收回
}

#: Reasons buyers give (free text on the wire) and their canonical reason.
REASONS: dict[str, ReturnReason] = {
    "不想要了": ReturnReason.CHANGED_MIND,
    "拍错了": ReturnReason.CHANGED_MIND,
    "订单信息填写错误": ReturnReason.CHANGED_MIND,
    "地址/电话信息填写错误": ReturnReason.CHANGED_MIND,
    "商品无货": ReturnReason.OTHER,
    "发货时间问题": ReturnReason.LATE_DELIVERY,
    "商品降价": ReturnReason.OTHER,
    "商品质量问题": ReturnReason.QUALITY_ISSUE,
    "商品损坏": ReturnReason.DAMAGED_IN_TRANSIT,
    "发错货": ReturnReason.WRONG_ITEM,
    "少件/漏发": ReturnReason.MISSING_ITEM,
    "与描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "七天无理由退货": ReturnReason.NO_REASON,
    "其他": ReturnReason.OTHER,
}


#: A wire time (epoch seconds or milliseconds, or China-time text) as aware UTC:
#: :func:`aftersales.wire.china_time`, naming this platform's payload unless told which.
parse_time = partial(china_time, field="time", payload="jd payload")
#: An order amount, which JD writes as yuan text (``"59.90"``; a JSON integer
#: would be fen): :func:`aftersales.wire.yuan_or_fen` with a JSON number's fraction
#: read as yuan. A refund application's ``applyRefundSum`` is fen in every spelling and
#: is read by :func:`aftersales.wire.whole_fen` instead.
amount = partial(yuan_or_fen, currency=CURRENCY, decimal_numbers=True)


def _count(count: int, field: str, where: str) -> int:
    """A count of pieces: 0 reads as 1, a negative or absurd count is refused."""
    if count < 0 or count > 999_999:
        raise ValidationError("not a count of pieces", field=field, payload=where)
    return max(count, 1)


def split_id(external_id: str) -> tuple[str, str]:
    """(``"refund"`` or ``"afs"``, the platform's id) of a request's ``external_id``.

    Raises:
        ValidationError: an id this adapter did not make.
    """
    for prefix in (REFUND_PREFIX, AFS_PREFIX):
        if external_id.startswith(prefix) and len(external_id) > len(prefix):
            return prefix[:-1], external_id[len(prefix):]
    raise ValidationError("not a JD request id (refund-… or afs-…)", field="external_id",
                          payload="jd return request")


def reason_for(text: str | None) -> ReturnReason:
    """The canonical reason of the buyer's reason text (``other`` when unknown)."""
    return REASONS.get((text or "").strip(), ReturnReason.OTHER)


def refund_status(code: int) -> ReturnStatus:
    """The canonical status of a refund application (``requested`` for a new code)."""
    return REFUND_STATUSES.get(code, ReturnStatus.REQUESTED)


def service_status(code: int) -> ReturnStatus:
    """The canonical status of a service order (``requested`` for a new code)."""
    return SERVICE_STATUSES.get(code, ReturnStatus.REQUESTED)


def refund_to_request(apply: RefundApply, store: str = NAME) -> ReturnRequest:
    """A refund application before shipment as a refund-only :class:`ReturnRequest`.

    The application covers the whole order; its one line is the order itself.
    """
    where = record_name("jd refund application", apply.id)
    changed = apply.checkTime or apply.applyTime
    return ReturnRequest(
        marketplace=store, order_id=apply.orderId, kind=ReturnKind.REFUND_ONLY,
        lines=[ReturnLine(order_line_id=apply.orderId, quantity=1,
                          reason=reason_for(apply.reason), reason_text=apply.reason or None)],
        status=refund_status(apply.status), raw_status=str(apply.status),
        external_id=f"{REFUND_PREFIX}{apply.id}", stage=FulfilmentStage.NOT_SHIPPED,
        requested_amount=whole_fen(apply.applyRefundSum, field="applyRefundSum",
                                   payload=where, currency=CURRENCY),
        created_at=parse_time(apply.applyTime, field="applyTime", payload=where)
        if apply.applyTime else None,
        updated_at=parse_time(changed, field="checkTime", payload=where),
    )


def for_whole_order(request: ReturnRequest, order: Order) -> ReturnRequest:
    """A refund application's request with one line per order line, all of each.

    An application made before shipment cancels the order: it names the
    order, not its lines, so its lines are the order's own.
    """
    first = request.lines[0]
    lines = [ReturnLine(order_line_id=line.external_id, sku=line.sku, quantity=line.quantity,
                        reason=first.reason, reason_text=first.reason_text)
             for line in order.lines]
    return request.model_copy(update={"lines": lines})


def service_to_request(bill: ServiceBill, store: str = NAME) -> ReturnRequest:
    """An after-sales service order as a :class:`ReturnRequest` (one line: the SKU)."""
    where = record_name("jd service order", bill.serviceId)
    changed = bill.updateDate or bill.applyTime
    reason = bill.approveReasonCid1Name or bill.questionDesc
    return ReturnRequest(
        marketplace=store, order_id=bill.orderId,
        kind=EXPECTATIONS.get(bill.customerExpect, ReturnKind.RETURN),
        lines=[ReturnLine(order_line_id=bill.skuId or bill.orderId, sku=bill.skuId or None,
                          quantity=_count(bill.serviceCount, "serviceCount", where),
                          reason=reason_for(reason),
                          reason_text=reason or None)],
        status=service_status(bill.serviceStatus), raw_status=str(bill.serviceStatus),
        external_id=f"{AFS_PREFIX}{bill.serviceId}",
        created_at=parse_time(bill.applyTime, field="applyTime", payload=where)
        if bill.applyTime else None,
        updated_at=parse_time(changed, field="updateDate", payload=where),
    )


def refusal_reasons() -> list[RefusalReason]:
    """The refusal codes of replyRefund as the core's :class:`RefusalReason` list."""
    return [RefusalReason(code=str(code), text=words) for code, words in REJECT_TYPES.items()]


def choose_reject_type(code: str | None, text: str) -> int:
    """The ``rejectType`` to send: ``code`` if JD lists it, else the listed one whose
    words equal ``text``, else 5 (其他).

    Raises:
        ValidationError: a code JD does not list (the message names the codes).
    """
    listed = refusal_reasons()
    if code is None and not any(r.text == text.strip() for r in listed):
        return 5
    chosen = choose_refusal_reason(listed, code, text, payload=_REPLY)
    return int(chosen.code)


#: ``orderState`` values after which the buyer has the goods.
_DELIVERED = frozenset({"FINISHED_L", "TRADE_FINISHED"})


def to_order(order: JdOrder, store: str = NAME) -> Order:
    """A POP order as the core's :class:`Order`: one line per SKU, amounts in yuan.

    ``total`` is what the buyer paid (``orderPayment``); the order-level
    discount is what the lines and freight add up to beyond it.
    """
    where = record_name("jd order", order.orderId)
    if not order.itemInfoList:
        raise ValidationError("an order without items", field="itemInfoList", payload=where)

    yuan = partial(yuan_or_zero, payload=where, currency=CURRENCY, decimal_numbers=True)

    lines = [OrderLine(external_id=item.skuId or f"{order.orderId}-{n}",
                       sku=item.outerSkuId or item.skuId or order.orderId, title=item.skuName,
                       quantity=_count(item.itemTotal, "itemTotal", where),
                       unit_price=yuan(item.jdPrice, field="jdPrice"))
             for n, item in enumerate(order.itemInfoList)]
    shipping = yuan(order.freightPrice, field="freightPrice")
    paid = yuan(order.orderPayment, field="orderPayment")
    shipments = [Shipment(tracking_number=order.waybill, external_id=order.waybill,
                          line_ids=[line.external_id for line in lines])] if order.waybill else []
    return Order(
        marketplace=store, external_id=order.orderId,
        buyer=Buyer(external_id=f"order-{order.orderId}"),  # JD hides buyer identities
        currency=CURRENCY, lines=lines, shipping=shipping,
        discount=discount_beyond_paid([*(line.net for line in lines), shipping], paid),
        total=paid,
        raw_status=order.orderState or None,
        placed_at=parse_time(order.orderStartTime, field="orderStartTime", payload=where),
        updated_at=parse_time(order.modified or order.orderStartTime, field="modified",
                              payload=where),
        delivered_at=parse_time(order.orderEndTime, field="orderEndTime", payload=where)
        if order.orderState in _DELIVERED and order.orderEndTime else None,
        shipments=shipments, taxes_included=True,
    )


def comment_to_review(comment: JdComment, store: str = NAME) -> Review:
    """A buyer's comment as the core's :class:`Review` (score 1–5 is the rating)."""
    where = record_name("jd comment", comment.commentId)
    created = parse_time(comment.creationTime, field="creationTime", payload=where)
    if not 1 <= comment.score <= 5:
        raise ValidationError("a score outside 1–5", field="score", payload=where)
    reply = next((str(r.get("content")) for r in comment.replies if r.get("content")), None)
    return Review(
        marketplace=store, external_id=comment.commentId, rating=comment.score,
        body=comment.content, title=comment.skuName or None, sku=comment.skuid or None,
        order_id=comment.orderId or None, author=comment.nickName or None,
        created_at=created, updated_at=created, reply=reply,
    )


def request_stamp(item: ReturnRequest) -> tuple[datetime, str]:
    """A request's (change time, id)."""
    return item.updated_at or datetime.min.replace(tzinfo=UTC), item.external_id or ""


def review_stamp(item: Review) -> tuple[datetime, str]:
    """A review's (change time, id)."""
    return item.updated_at, item.external_id
