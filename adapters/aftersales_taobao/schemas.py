"""Tolerant wire models of the TOP answers the adapter reads.

Unknown keys are ignored. Default (non-``simplify``) JSON nests every list
one level, ``{"refunds": {"refund": [...]}}``, and a one-element list may
arrive as a bare object; ``simplify=true`` answers give the plain array.
:func:`_unwrap` accepts all three. Ids are 19-digit numbers on the wire and
strings here; money stays the decimal text Taobao sends, in yuan.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from aftersales.wire import number_text as _text
from aftersales.wire import read_payload as parse
from aftersales.wire import wire_amount
from aftersales.wire import wire_id as _id

__all__ = [
    "AgreeResult",
    "LogisticsTrace",
    "RefundPage",
    "RefuseReason",
    "RefuseReasons",
    "TopOrder",
    "TopRefund",
    "TopTrade",
    "TradePage",
    "TradeRate",
    "TradeRatePage",
    "TransitStep",
    "parse",
]


def _unwrap(value: Any, *item_keys: str) -> list[Any]:
    if value is None or value == "" or value == {}:
        return []
    if isinstance(value, dict):
        for key in item_keys:
            if key in value:
                return _unwrap(value[key])
        return [value]
    if isinstance(value, list):
        return value
    return [value]




#: The longest enumeration value (a status, a phase, a type) the adapter takes.
MAX_TOKEN = 64


def _token(value: Any) -> Any:
    """An enumeration value (``WAIT_SELLER_AGREE``): at most :data:`MAX_TOKEN` printable
    characters, so a hostile one can neither fill a column nor carry a buyer's words."""
    if isinstance(value, str) and (len(value) > MAX_TOKEN or not value.isprintable()):
        raise ValueError(f"a status or type must be at most {MAX_TOKEN} printable characters")
    return value


def _price(value: Any) -> Decimal:
    # TOP writes every Price as yuan text with at most two places: a float is not exact
    return wire_amount(value, numbers=False, places=2)


def _adjustment(value: Any) -> Decimal:
    return wire_amount(value, signed=True, numbers=False, places=2)


#: Yuan, at least zero, at most two places.
Yuan = Annotated[Decimal, BeforeValidator(_price)]
#: A price adjustment in yuan (may be negative), at most two places.
YuanAdjustment = Annotated[Decimal, BeforeValidator(_adjustment)]

class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TopRefund(_Wire):
    """A refund (退款) as ``taobao.refunds.receive.get`` and ``taobao.refund.get`` give it."""

    refund_id: str
    tid: str
    oid: str | None = None
    title: str | None = None
    num: int | None = None
    status: str
    good_status: str | None = None
    order_status: str | None = None
    has_good_return: bool | None = None
    total_fee: Yuan | None = None
    refund_fee: Yuan | None = None
    reason: str | None = None
    desc: str | None = None
    company_name: str | None = None
    sid: str | None = None
    created: str | None = None
    modified: str
    refund_phase: str | None = None
    refund_version: int | None = None
    dispute_type: str | None = None
    cs_status: str | None = None
    sku: str | None = None
    outer_id: str | None = None

    _ids = field_validator("refund_id", "tid", mode="before")(_id)
    _other = field_validator("oid", "sid", "cs_status", mode="before")(_text)
    _tokens = field_validator("status", "good_status", "order_status", "refund_phase",
                              "dispute_type", "cs_status", mode="after")(_token)


class RefundPage(_Wire):
    """One page of ``taobao.refunds.receive.get``."""

    refunds: list[TopRefund] = Field(default_factory=list)
    total_results: int | None = None
    has_next: bool | None = None

    @field_validator("refunds", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        return _unwrap(value, "refund")


class TradeRate(_Wire):
    """A rating (评价) as ``taobao.traderates.get`` gives it."""

    tid: str
    oid: str
    role: str | None = None
    nick: str | None = None
    result: str
    created: str
    rated_nick: str | None = None
    item_title: str | None = None
    item_price: Yuan | None = None
    content: str | None = None
    reply: str | None = None
    num_iid: str | None = None
    valid_score: bool | None = None

    _ids = field_validator("tid", "oid", mode="before")(_id)
    _item = field_validator("num_iid", mode="before")(_text)
    _tokens = field_validator("result", mode="after")(_token)


class TradeRatePage(_Wire):
    """One page of ``taobao.traderates.get``."""

    trade_rates: list[TradeRate] = Field(default_factory=list)
    total_results: int | None = None
    has_next: bool | None = None

    @field_validator("trade_rates", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        # The 2011 SDK names the item trade_rate; newer metadata calls the type Results.
        return _unwrap(value, "trade_rate", "taobao_traderates_get_results", "results")


class TransitStep(_Wire):
    """One step of a logistics trace."""

    status_time: str
    status_desc: str = ""
    action: str | None = None


class LogisticsTrace(_Wire):
    """``taobao.logistics.trace.search``: the outbound parcel of a trade and its steps."""

    out_sid: str | None = None
    company_name: str | None = None
    tid: str | None = None
    status: str | None = None
    trace_list: list[TransitStep] = Field(default_factory=list)

    _ids = field_validator("out_sid", "tid", mode="before")(_text)

    @field_validator("trace_list", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        return _unwrap(value, "transit_step_info")


class AgreeItem(_Wire):
    """The outcome for one refund of a ``taobao.rp.refunds.agree`` call."""

    refund_id: str | None = None
    succ: bool = False
    message: str | None = None

    _ids = field_validator("refund_id", mode="before")(_text)


class AgreeResult(_Wire):
    """``taobao.rp.refunds.agree``: ``OP_SUCC``, ``SOME_OP_SUCC`` or ``OP_FAILURE_UE``."""

    msg_code: str | None = None
    message: str | None = None
    succ: bool = False
    results: list[AgreeItem] = Field(default_factory=list)

    @field_validator("results", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        return _unwrap(value, "refund_mapping_result")


class RefuseReason(_Wire):
    """One reason a seller may give to refuse (taobao.refund.refusereason.get)."""

    reason_id: int
    reason_text: str = ""
    reason_tips: str | None = None


class RefuseReasons(_Wire):
    """``taobao.refund.refusereason.get``: the reasons this refund may be refused for."""

    reasons: list[RefuseReason] = Field(default_factory=list)
    total_results: int | None = None

    @field_validator("reasons", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        return _unwrap(value, "reason")


class TopOrder(_Wire):
    """A sub-order (子订单) of a trade: one item line."""

    oid: str
    title: str = ""
    price: Yuan
    num: int = 1
    num_iid: str | None = None
    sku_id: str | None = None
    outer_iid: str | None = None
    outer_sku_id: str | None = None
    discount_fee: Yuan = Decimal(0)
    adjust_fee: YuanAdjustment = Decimal(0)
    #: 分摊之后的实付金额: what was paid for the sub-order once the trade's discounts
    #: were spread over the items they apply to
    divide_order_fee: Yuan | None = None
    status: str | None = None
    refund_status: str | None = None
    logistics_company: str | None = None
    invoice_no: str | None = None
    consign_time: str | None = None

    _ids = field_validator("oid", mode="before")(_id)
    _other = field_validator("num_iid", "sku_id", mode="before")(_text)
    _tokens = field_validator("status", "refund_status", mode="after")(_token)

    @field_validator("discount_fee", "adjust_fee", mode="before")
    @classmethod
    def _zero(cls, value: Any) -> Any:
        return value if value not in (None, "") else Decimal(0)

    @field_validator("divide_order_fee", mode="before")
    @classmethod
    def _absent(cls, value: Any) -> Any:
        return None if value == "" else value


class TopTrade(_Wire):
    """A trade (交易) as taobao.trade.fullinfo.get and taobao.trades.sold.increment.get give it."""

    tid: str
    status: str | None = None
    payment: Yuan
    post_fee: Yuan = Decimal(0)
    created: str
    modified: str
    end_time: str | None = None
    consign_time: str | None = None
    buyer_nick: str | None = None
    buyer_open_uid: str | None = None
    orders: list[TopOrder] = Field(default_factory=list)

    _ids = field_validator("tid", mode="before")(_id)
    _tokens = field_validator("status", mode="after")(_token)

    @field_validator("post_fee", mode="before")
    @classmethod
    def _zero(cls, value: Any) -> Any:
        return value if value not in (None, "") else Decimal(0)

    @field_validator("orders", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        return _unwrap(value, "order")


class TradePage(_Wire):
    """One page of taobao.trades.sold.increment.get."""

    trades: list[TopTrade] = Field(default_factory=list)
    total_results: int | None = None
    has_next: bool | None = None

    @field_validator("trades", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        return _unwrap(value, "trade")
