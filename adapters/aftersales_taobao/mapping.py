"""Pure conversions from TOP payloads to the core's models, and their tables.

One table per concept, each row tested: refund statuses
(:data:`REFUND_STATUSES`), refund reasons (:data:`REASONS`), rating results
(:data:`RATE_RESULTS`) and logistics-trace actions (:data:`TRACE_ACTIONS`);
express company names go through the core's one table
(:mod:`aftersales.logistics.carrier_names`). Times on the wire are China time
without an offset; they become aware UTC datetimes here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aftersales.errors import ValidationError
from aftersales.evidence import choose_refusal_reason
from aftersales.logistics.carrier_names import carrier_for_name
from aftersales.logistics.tracking import StatusRule, build_tracking, lookup
from aftersales.models import (
    Buyer,
    FulfilmentStage,
    Money,
    Order,
    OrderLine,
    ParcelIssue,
    ParcelStatus,
    PlatformDispute,
    RefusalReason,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
    Tracking,
    TrackingEvent,
)
from aftersales.money import to_fen as exact_fen
from aftersales.paging import trusted_total as core_trusted_total
from aftersales.wire import china_time, discount_beyond_paid, record_name, shown_code
from aftersales_taobao.schemas import (
    LogisticsTrace,
    RefundPage,
    RefuseReason,
    TopOrder,
    TopRefund,
    TopTrade,
    TradePage,
    TradeRate,
    TradeRatePage,
    parse,
)

__all__ = [
    "AGREE_CAP_FEN",
    "CURRENCY",
    "GOOD_STATUSES",
    "KINDS",
    "RATE_RESULTS",
    "REASONS",
    "REFUND_STATUSES",
    "TRACE_ACTIONS",
    "TRADE_TYPES",
    "asks_for_verification",
    "carrier_code",
    "choose_reason",
    "order_stamp",
    "parse_time",
    "rate_to_review",
    "rates_page",
    "reason_for",
    "refund_to_request",
    "refunds_page",
    "refusal_reason",
    "request_stamp",
    "return_status",
    "review_stamp",
    "stage_of",
    "to_fen",
    "trace_to_shipment",
    "trace_to_tracking",
    "trade_to_order",
    "trades_page",
    "trusted_total",
]

NAME = "taobao"
CURRENCY = "CNY"

#: Refund ``status`` values (taobao.refunds.receive.get) and their canonical status.
REFUND_STATUSES: dict[str, ReturnStatus] = {
    "WAIT_SELLER_AGREE": ReturnStatus.REQUESTED,  # buyer applied, seller to answer
    "WAIT_BUYER_RETURN_GOODS": ReturnStatus.APPROVED,  # seller agreed, buyer to send back
    "WAIT_SELLER_CONFIRM_GOODS": ReturnStatus.RETURN_SHIPPED,  # buyer sent the goods back
    "SELLER_REFUSE_BUYER": ReturnStatus.REJECTED,
    "CLOSED": ReturnStatus.CANCELLED,  # closed without money: withdrawn or timed out
    "SUCCESS": ReturnStatus.REFUNDED,
    # exchange states (current filter documentation)
    "WAIT_SELLER_CONSIGN_GOODS": ReturnStatus.RECEIVED,  # returned goods in, swap to send
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": ReturnStatus.EXCHANGE_SHIPPED,
    "EXCHANGE_TRANSFORM_TO_REFUND": ReturnStatus.REQUESTED,  # the swap became a refund request
}

#: ``dispute_type`` values (taobao.refund.get, Refund struct) and the kind of request each is.
#: ``None``: the type says nothing about goods or money, so ``has_good_return`` decides.
KINDS: dict[str, ReturnKind | None] = {
    "REFUND": ReturnKind.REFUND_ONLY,  # 仅退款
    "REFUND_AND_RETURN": ReturnKind.RETURN,  # 退货退款
    "TMALL_EXCHANGE": ReturnKind.EXCHANGE,  # 天猫换货
    "TAOBAO_EXCHANGE": ReturnKind.EXCHANGE,  # 淘宝换货
    "REPAIR": ReturnKind.REPAIR,  # 维修
    "RESHIPPING": ReturnKind.RESHIP,  # 补寄
    "OTHERS": None,  # 其他
}

#: ``cs_status`` values (taobao.refund.get, Refund struct: 客服介入, Taobao's staff stepping
#: into a refund) and whether the platform is still deciding. TOP's Refund struct as its SDKs
#: carry it (bububa/opentaobao model/tbrefund/Refund.go) lists 1-11; older SDKs list 1-6.
#: ``1`` (no intervention needed) is no dispute at all.
CS_STATUSES: dict[str, tuple[str, bool]] = {
    "2": ("需要客服介入", True),  # the buyer asked the platform to step in
    "3": ("客服已经介入", True),  # platform staff are on it
    "4": ("客服初审完成", True),  # first review done; a supervisor's review may follow
    "5": ("客服主管复审失败", True),  # the supervisor's review failed: still open
    "6": ("客服处理完成", False),  # platform staff finished
    "7": ("系统撤销(B2B)/维权撤销(集市)", False),  # withdrawn
    "8": ("支持买家", False),  # decided for the buyer
    "9": ("支持卖家", False),  # decided for the seller
    "10": ("举证中", True),  # evidence being given
    "11": ("开放申诉", True),  # open to appeal
}
#: ``cs_status`` values that mean no dispute (1: 不需客服介入; 0 or empty: not given).
NO_DISPUTE = frozenset({"", "0", "1"})


def dispute_of(refund: TopRefund) -> PlatformDispute | None:
    """Taobao's intervention in the refund (``cs_status``) as the core's dispute, if any.

    A value the table does not know counts as open: a new intervention
    state is something a person should look at.
    """
    raw = (refund.cs_status or "").strip()
    if raw in NO_DISPUTE:
        return None
    known = CS_STATUSES.get(raw)
    return PlatformDispute(status=raw, open=True if known is None else known[1])


#: Every trade ``type`` a shop can have, for taobao.refunds.receive.get. Without
#: ``type`` the API covers only guarantee_trade,auto_delivery; the list is the
#: one taobao.trades.sold.get documents (guarantee_trade is fixed + auction, so
#: those two are asked for instead).
TRADE_TYPES: tuple[str, ...] = (
    "fixed", "auction", "step", "independent_simple_trade", "independent_shop_trade",
    "auto_delivery", "ec", "cod", "fenxiao", "game_equipment", "shopex_trade", "netcn_trade",
    "external_trade", "instant_trade", "b2c_cod", "hotel_trade", "super_market_trade",
    "super_market_cod_trade", "taohua", "waimai", "o2o_offlinetrade", "nopaid", "eticket",
    "tmall_i18n", "insurance_plus", "finance", "pre_auth_type",
)

#: The most one taobao.rp.refunds.agree call pays, in fen (API doc: Taobao 20
#: refunds and 6,000 CNY a call, Tmall 30 refunds and 10,000 CNY).
AGREE_CAP_FEN: dict[str, int] = {"taobao": 600_000, "tmall": 1_000_000}

#: Words of an agree answer that mean "send the SMS code". TOP documents that
#: a large refund fails and texts the seller a code, but names no sub_code or
#: msg_code for it: the API page (taobao.rp.refunds.agree, id 22465) lists
#: only OP_SUCC, SOME_OP_SUCC and OP_FAILURE_UE, as does the response type
#: generated from it in bububa/opentaobao (searched 2026-12-02), so the
#: message text is what is matched.
#: Integrations in the wild match "发送二次验证短信成功" in the
#: ``rp_refunds_agree_response`` itself, so it is looked for there too.
_VERIFICATION_WORDS = ("验证码", "短信", "verification", "sms")

#: The reasons buyers pick in the refund form (free text on the wire) and their canonical reason.
REASONS: dict[str, ReturnReason] = {
    "七天无理由退换货": ReturnReason.NO_REASON,
    "7天无理由退换货": ReturnReason.NO_REASON,
    "尺码不合适": ReturnReason.WRONG_SIZE,
    "尺码拍错": ReturnReason.WRONG_SIZE,
    "大小/尺寸与商品描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "颜色/图案/款式与商品描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "材质与商品描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "商品与描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "假冒品牌": ReturnReason.NOT_AS_DESCRIBED,
    "质量问题": ReturnReason.QUALITY_ISSUE,
    "做工粗糙/有瑕疵": ReturnReason.QUALITY_ISSUE,
    "收到商品破损": ReturnReason.DAMAGED_IN_TRANSIT,
    "商品破损/包装破损": ReturnReason.DAMAGED_IN_TRANSIT,
    "少件/漏发": ReturnReason.MISSING_ITEM,
    "空包裹": ReturnReason.MISSING_ITEM,
    "卖家发错货": ReturnReason.WRONG_ITEM,
    "发错货": ReturnReason.WRONG_ITEM,
    "多拍/拍错/不想要": ReturnReason.CHANGED_MIND,
    "不喜欢/效果不好": ReturnReason.CHANGED_MIND,
    "未按约定时间发货": ReturnReason.LATE_DELIVERY,
    "快递一直未送到": ReturnReason.LATE_DELIVERY,
    "快递/物流一直未送到": ReturnReason.LATE_DELIVERY,
    "快递无跟踪记录": ReturnReason.LATE_DELIVERY,
    "与商家协商一致退款": ReturnReason.OTHER,
    "其他": ReturnReason.OTHER,
}

#: Rating ``result`` values and the 1–5 rating each stands for.
RATE_RESULTS: dict[str, int] = {"good": 5, "neutral": 3, "bad": 1}

#: ``transit_step_info.action`` codes. The value set is not documented; these
#: are the codes seen in public TOP/Cainiao material. Unknown codes count as in transit.
TRACE_ACTIONS: dict[str, StatusRule] = {
    "CREATE": StatusRule(ParcelStatus.INFO_RECEIVED),
    "CONSIGN": StatusRule(ParcelStatus.INFO_RECEIVED),
    "GOT": StatusRule(ParcelStatus.PICKED_UP),
    "TMS_ACCEPT": StatusRule(ParcelStatus.PICKED_UP),
    "ARRIVAL": StatusRule(ParcelStatus.IN_TRANSIT),
    "ARRIVE": StatusRule(ParcelStatus.IN_TRANSIT),  # the trace API doc's own example
    "DEPARTURE": StatusRule(ParcelStatus.IN_TRANSIT),
    "TMS_STATION_IN": StatusRule(ParcelStatus.IN_TRANSIT),
    "TMS_STATION_OUT": StatusRule(ParcelStatus.IN_TRANSIT),
    "SENT_SCAN": StatusRule(ParcelStatus.OUT_FOR_DELIVERY),
    "TMS_DELIVERING": StatusRule(ParcelStatus.OUT_FOR_DELIVERY),
    "STA_INBOUND": StatusRule(ParcelStatus.AVAILABLE_FOR_PICKUP),
    "SIGNED": StatusRule(ParcelStatus.DELIVERED),
    "TMS_SIGN": StatusRule(ParcelStatus.DELIVERED),
    "STA_SIGN": StatusRule(ParcelStatus.DELIVERED),
    "FAILED": StatusRule(ParcelStatus.EXCEPTION, ParcelIssue.OTHER),
    "TMS_FAILED": StatusRule(ParcelStatus.FAILED_ATTEMPT),
    "TMS_ERROR": StatusRule(ParcelStatus.EXCEPTION, ParcelIssue.OTHER),
    "TMS_REJECT": StatusRule(ParcelStatus.EXCEPTION, ParcelIssue.REFUSED),
    "TMS_RETURN": StatusRule(ParcelStatus.RETURNING),
}

def parse_time(
    text: str | None, *, field: str = "time", payload: str = "taobao payload"
) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` China time → aware UTC datetime
    (:func:`aftersales.wire.china_time` without epoch numbers: TOP writes every
    time as text, so a number is a wrong field).

    Raises:
        ValidationError: empty, not in that format (ASCII digits only), or
            outside :data:`YEARS` (names field and payload, never the value).
    """
    return china_time(text, field=field, payload=payload, epoch=False, years=YEARS)


#: The years a TOP time is believed in: TOP's own examples write 2000-01-01 00:00:00
#: China time (1999 in UTC), and Taobao opened in 2003.
YEARS = (1970, 2200)


def return_status(raw: str) -> ReturnStatus:
    """The canonical status of a refund ``status``.

    A status Taobao adds later reads as ``requested`` (the raw value is kept
    beside it) rather than failing a whole sync.
    """
    return REFUND_STATUSES.get(raw, ReturnStatus.REQUESTED)


def reason_for(text: str | None) -> ReturnReason:
    """The canonical reason of the buyer's chosen reason text (``other`` when unknown)."""
    return REASONS.get((text or "").strip(), ReturnReason.OTHER)


def carrier_code(company: str | None) -> str | None:
    """The carrier code of an express company name (the core's one table), or ``None``."""
    return carrier_for_name(company)


#: ``good_status`` values (where the goods were when the buyer asked) and the stage each is.
GOOD_STATUSES: dict[str, FulfilmentStage] = {
    "BUYER_NOT_RECEIVED": FulfilmentStage.SHIPPED,  # 买家未收到货
    "BUYER_RECEIVED": FulfilmentStage.DELIVERED,  # 买家已收到货
    "BUYER_RETURNED_GOODS": FulfilmentStage.DELIVERED,  # 买家已退货
}


def stage_of(refund: TopRefund) -> FulfilmentStage | None:
    """How far the sub-order had gone: not shipped while the trade still waited for the
    seller to send (``order_status`` ``WAIT_SELLER_SEND_GOODS``), else by ``good_status``."""
    if refund.order_status == "WAIT_SELLER_SEND_GOODS":
        return FulfilmentStage.NOT_SHIPPED
    return GOOD_STATUSES.get(refund.good_status or "")


def _kind(refund: TopRefund) -> ReturnKind:
    kind = KINDS.get(refund.dispute_type or "")
    if kind is not None:
        return kind
    return ReturnKind.RETURN if refund.has_good_return else ReturnKind.REFUND_ONLY


def asks_for_verification(text: str | None) -> bool:
    """Whether a refused taobao.rp.refunds.agree asks for the SMS verification code."""
    low = (text or "").lower()
    return any(word in low for word in _VERIFICATION_WORDS)


def refusal_reason(reason: RefuseReason) -> RefusalReason:
    """A listed TOP refusal reason as the core's :class:`RefusalReason` (code: ``reason_id``)."""
    return RefusalReason(code=str(reason.reason_id), text=reason.reason_text,
                         tips=reason.reason_tips or None)


def choose_reason(listed: list[RefuseReason], reason_id: int | None, text: str) -> int:
    """The ``refuse_reason_id`` to send: ``reason_id`` if Taobao lists it, else the listed
    reason whose text equals ``text`` (the core's :func:`choose_refusal_reason`).

    Raises:
        ValidationError: no such code (or text) among the listed reasons; the
            message names the codes Taobao offered.
    """
    chosen = choose_refusal_reason(
        [refusal_reason(r) for r in listed], None if reason_id is None else str(reason_id),
        text, payload="taobao.rp.returngoods.refuse")
    return int(chosen.code)


def refund_to_request(refund: TopRefund, *, store: str = NAME) -> ReturnRequest:
    """A Taobao refund as a :class:`ReturnRequest` of ``store`` (one line: the sub-order)."""
    where = record_name("taobao refund", refund.refund_id)
    amount = refund.refund_fee
    return ReturnRequest(
        marketplace=store,
        order_id=refund.tid,
        kind=_kind(refund),
        lines=[
            ReturnLine(
                order_line_id=refund.oid or refund.tid,
                sku=refund.outer_id or None,
                quantity=max(refund.num or 1, 1),
                reason=reason_for(refund.reason),
                reason_text=refund.reason or None,
            )
        ],
        status=return_status(refund.status),
        raw_status=refund.status,
        external_id=refund.refund_id,
        requested_amount=Money(amount, CURRENCY) if amount is not None else None,
        buyer_note=refund.desc or None,
        return_tracking_number=refund.sid or None,
        return_carrier=carrier_code(refund.company_name),
        created_at=parse_time(refund.created, field="created", payload=where)
        if refund.created
        else None,
        updated_at=parse_time(refund.modified, field="modified", payload=where),
        stage=stage_of(refund),
        dispute=dispute_of(refund),
    )


def rate_to_review(rate: TradeRate, *, store: str = NAME) -> Review:
    """A buyer's rating of a sub-order as a :class:`Review` of ``store`` (id: the sub-order)."""
    where = record_name("taobao rating", rate.oid)
    try:
        rating = RATE_RESULTS[rate.result]
    except KeyError:
        raise ValidationError(
            f"unknown rating result {shown_code(rate.result)}", field="result", payload=where
        ) from None
    created = parse_time(rate.created, field="created", payload=where)
    return Review(
        marketplace=store,
        external_id=rate.oid,
        rating=rating,
        body=rate.content or "",
        title=rate.item_title or None,
        order_id=rate.tid,
        order_line_id=rate.oid,
        author=rate.nick or None,
        created_at=created,
        updated_at=created,
        reply=rate.reply or None,
    )


def to_fen(amount: Money) -> int:
    """A CNY amount in fen (1/100 yuan), as ``taobao.rp.refunds.agree`` wants it.

    Raises:
        ValidationError: not CNY, not positive, or finer than a fen (12.345
            CNY is refused, never rounded to 12.35: a refund pays what it says).
    """
    if amount.currency != CURRENCY:
        raise ValidationError(f"Taobao refunds are in CNY, not {amount.currency}", field="amount")
    fen = exact_fen(amount)
    if fen <= 0:
        raise ValidationError("a refund must be more than zero", field="amount")
    return fen


#: Trade statuses after which the buyer has the goods.
_RECEIVED = frozenset({"TRADE_FINISHED", "TRADE_BUYER_SIGNED"})


def _line(sub: TopOrder) -> OrderLine:
    """One sub-order as a line, its discount making its net what was paid for it.

    ``divide_order_fee`` (分摊之后的实付金额) is that amount once the trade's
    discounts were spread over the items they apply to, so when Taobao gives
    it the line's discount is the rest of its price; without it, payment =
    price * num + adjust_fee - discount_fee (a manual adjustment is a negative
    discount) and the trade's own discounts are spread by the core.
    """
    if sub.divide_order_fee is not None:
        discount = sub.price * max(sub.num, 1) - sub.divide_order_fee
    else:
        discount = sub.discount_fee - sub.adjust_fee
    return OrderLine(
        external_id=sub.oid,
        sku=sub.outer_sku_id or sub.sku_id or sub.outer_iid or sub.num_iid or sub.oid,
        title=sub.title,
        quantity=max(sub.num, 1),
        unit_price=Money(sub.price, CURRENCY),
        discount=Money(discount, CURRENCY) if discount else None,
    )


def _shipments(trade: TopTrade, where: str) -> list[Shipment]:
    parcels: dict[str, Shipment] = {}
    for sub in trade.orders:
        if not sub.invoice_no:
            continue
        known = parcels.get(sub.invoice_no)
        if known is not None:
            known.line_ids.append(sub.oid)
            continue
        shipped = sub.consign_time or trade.consign_time
        parcels[sub.invoice_no] = Shipment(
            tracking_number=sub.invoice_no,
            carrier=carrier_code(sub.logistics_company),
            external_id=sub.invoice_no,
            shipped_at=parse_time(shipped, field="consign_time", payload=where)
            if shipped else None,
            line_ids=[sub.oid],
        )
    return list(parcels.values())


def trade_to_order(trade: TopTrade, *, store: str = NAME) -> Order:
    """A Taobao trade as an :class:`Order` of ``store``: one line per sub-order.

    ``total`` is what the buyer paid; the order-level ``discount`` is what
    the lines and postage add up to beyond that (shop coupons and the like),
    nothing when every sub-order gives its ``divide_order_fee``.
    """
    where = record_name("taobao trade", trade.tid)
    if not trade.orders:
        raise ValidationError("a trade without sub-orders", field="orders", payload=where)
    lines = [_line(sub) for sub in trade.orders]
    shipping = Money(trade.post_fee, CURRENCY)
    paid = Money(trade.payment, CURRENCY)
    discount = discount_beyond_paid([*(line.net for line in lines), shipping], paid)
    return Order(
        marketplace=store,
        external_id=trade.tid,
        buyer=Buyer(external_id=trade.buyer_open_uid or trade.buyer_nick or f"trade-{trade.tid}"),
        currency=CURRENCY,
        lines=lines,
        shipping=shipping,
        discount=discount,
        total=paid,
        raw_status=trade.status,
        placed_at=parse_time(trade.created, field="created", payload=where),
        updated_at=parse_time(trade.modified, field="modified", payload=where),
        delivered_at=parse_time(trade.end_time, field="end_time", payload=where)
        if trade.status in _RECEIVED and trade.end_time else None,
        shipments=_shipments(trade, where),
        # Taobao and Tmall prices are what the buyer pays, VAT inside; the
        # trade itemises no tax, so none is shown (a refund carries none).
        taxes_included=True,
    )


def trace_to_tracking(trace: LogisticsTrace) -> Tracking:
    """The outbound parcel's journey; its status is that of the latest step."""
    where = record_name("taobao trace", trace.tid)
    events = [
        TrackingEvent(
            time=parse_time(step.status_time, field="status_time", payload=where),
            status=lookup(TRACE_ACTIONS, step.action).status,
            description=step.status_desc,
            raw_code=step.action,
        )
        for step in trace.trace_list
    ]
    latest = max(zip((e.time for e in events), trace.trace_list, strict=True), default=None,
                 key=lambda pair: pair[0])
    if latest is None:
        rule = StatusRule(ParcelStatus.PENDING)
    else:
        rule = lookup(TRACE_ACTIONS, latest[1].action)
    return build_tracking(
        carrier=carrier_code(trace.company_name),
        number=trace.out_sid or "",
        rule=rule,
        events=events,
        provider=NAME,
        raw_status=trace.status,
    )


def trace_to_shipment(trace: LogisticsTrace) -> Shipment | None:
    """The outbound shipment of a trade, or ``None`` before it ships."""
    if not trace.out_sid:
        return None
    shipped = next((e.time for e in trace_to_tracking(trace).events), None)
    return Shipment(
        tracking_number=trace.out_sid,
        carrier=carrier_code(trace.company_name),
        shipped_at=shipped,
    )


# ------------------------------------------------------------------ listing pages


def refunds_page(
    body: dict[str, Any], *, store: str = NAME
) -> tuple[list[ReturnRequest], int | None]:
    """A taobao.refunds.receive.get answer: its requests (of ``store``) and the total count."""
    page = parse(RefundPage, body, payload="taobao.refunds.receive.get")
    return [refund_to_request(r, store=store) for r in page.refunds], trusted_total(
        page.total_results, len(page.refunds), page.has_next)


def rates_page(body: dict[str, Any], *, store: str = NAME) -> tuple[list[Review], int | None]:
    """A taobao.traderates.get answer: its reviews (of ``store``) and the total count."""
    page = parse(TradeRatePage, body, payload="taobao.traderates.get")
    return [rate_to_review(r, store=store) for r in page.trade_rates], trusted_total(
        page.total_results, len(page.trade_rates), page.has_next)


def trades_page(body: dict[str, Any], *, store: str = NAME) -> tuple[list[Order], int | None]:
    """A taobao.trades.sold.increment.get answer: its orders (of ``store``) and the total count."""
    page = parse(TradePage, body, payload="taobao.trades.sold.increment.get")
    return [trade_to_order(t, store=store) for t in page.trades], trusted_total(
        page.total_results, len(page.trades), page.has_next)


def trusted_total(total: int | None, count: int, has_next: bool | None) -> int | None:
    """A page's ``total_results`` if it agrees with the page itself, else ``None``.

    The listing walks the pages the total announces; a total that cannot be
    (below zero, below the items of one page, or "no more" beside
    ``has_next``) would cut the walk short and lose items silently, so it is
    dropped and the pages are walked until a short one.
    """
    return core_trusted_total(total, count, more=has_next)


def order_stamp(item: Order) -> tuple[datetime, str]:
    """An order's (change time, id), for watermark cursors."""
    return item.updated_at, item.external_id


def request_stamp(item: ReturnRequest) -> tuple[datetime, str]:
    """A request's (change time, id); refund_to_request always sets both."""
    return item.updated_at or datetime.min.replace(tzinfo=UTC), item.external_id or ""


def review_stamp(item: Review) -> tuple[datetime, str]:
    """A review's (change time, id)."""
    return item.updated_at, item.external_id
