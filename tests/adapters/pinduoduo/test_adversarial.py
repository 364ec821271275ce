"""Payloads Pinduoduo's router may send that the documented examples never show.

Missing, null and wrong-typed fields, amounts in every spelling, times in
every form, unknown codes, error envelopes with HTTP 200, HTML pages,
truncated JSON and a window answer stamped outside its window. Each must
end in the library's own error naming the field and payload (never the
value, never a raw ``KeyError``/``TypeError``/``ValueError`` or pydantic
error), or in the right value; nothing secret or personal reaches an error
text or a DEBUG log line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aftersales_pinduoduo import PinduoduoMarketplace, mapping
from aftersales_pinduoduo.schemas import PddOrder, read
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import AfterSalesError, ResponseParseError, ValidationError
from aftersales.models import Money, Refund, ReturnKind, ReturnRequest, ReturnStatus

from .conftest import NOW, SECRET, TOKEN, FakeMall, FakeRouter, body, china_time

PHONE = "13812345678"
NAME = "张小凡"
STREET = "幸福路88号3栋502室"
#: a record of pdd.refund.list.increment.get with only what the adapter needs
RECORD: dict[str, Any] = {"id": "9001", "order_sn": "241120-100000001", "after_sales_status": 2,
                          "after_sales_type": 2, "updated_time": "2024-11-21 09:40:00",
                          "refund_amount": "39.90"}
WHERE = "pinduoduo after-sales 9001"


def listed(**change: Any) -> ReturnRequest:
    record = {k: v for k, v in {**RECORD, **change}.items() if v is not ...}
    found, _ = mapping.refunds_page({"refund_list": [record], "total_count": 1})
    return found[0]


# ------------------------------------------------------------------ bad records


@pytest.mark.parametrize(("change", "field"), [
    ({"id": ...}, "refund_list.0.id"),
    ({"id": None}, "refund_list.0.id"),
    # ids that name no record (or a wrong one): pdd.refund.agree would be sent "nan"
    ({"id": float("nan")}, "refund_list.0.id"), ({"id": 9001.5}, "refund_list.0.id"),
    ({"id": ""}, "refund_list.0.id"), ({"id": "\u202e9001"}, "refund_list.0.id"),
    ({"order_sn": float("inf")}, "refund_list.0.order_sn"),
    ({"order_sn": " "}, "refund_list.0.order_sn"),
    ({"order_sn": [PHONE]}, "refund_list.0.order_sn"),
    ({"after_sales_status": ...}, "refund_list.0.after_sales_status"),
    ({"after_sales_status": None}, "refund_list.0.after_sales_status"),
    ({"after_sales_status": "退款中"}, "refund_list.0.after_sales_status"),
    ({"after_sales_status": 3.5}, "refund_list.0.after_sales_status"),
    ({"after_sales_type": {"v": 2}}, "refund_list.0.after_sales_type"),
    ({"updated_time": None}, "refund_list.0.updated_time"),
    ({"updated_time": ""}, "updated_time"),
    ({"updated_time": "²"}, "updated_time"),  # a digit to str.isdigit, not to int()
    ({"updated_time": "9" * 30}, "updated_time"),  # no platform time_t holds it
    ({"updated_time": 253_402_300_800_000}, "updated_time"),  # year 10000 in ms
    ({"updated_time": "9" * 13}, "updated_time"),  # year 2286 in ms
    ({"updated_time": "0"}, "updated_time"),  # 1970: a null written as a number
    ({"updated_time": "1" * 12}, "updated_time"),  # milliseconds of 1973
    ({"updated_time": "2024-02-30 10:00:00"}, "updated_time"),
    ({"updated_time": "2024-11-21 09:40:00 " + PHONE}, "updated_time"),
    ({"updated_time": "2024-11-21 09:40:00+25:00"}, "updated_time"),
    ({"updated_time": "2024/11/21 09:40:00"}, "updated_time"),
    ({"updated_time": "2024-11-21\x0009:40:00"}, "updated_time"),
    ({"created_time": "x" * 100_000}, "created_time"),
    ({"refund_amount": 39.9}, "refund_amount"),  # a JSON number is fen, and whole
    ({"refund_amount": 3990.0}, "refund_amount"),  # was read as 3990 yuan
    ({"refund_amount": True}, "refund_amount"),  # was 0.01 yuan
    ({"refund_amount": "-39.90"}, "refund_amount"),
    ({"refund_amount": -3990}, "refund_amount"),
    ({"refund_amount": "39.905"}, "refund_amount"),  # finer than a fen
    ({"refund_amount": "3.99e1"}, "refund_amount"),
    ({"refund_amount": "３９.９０"}, "refund_amount"),  # full-width digits
    ({"refund_amount": "NaN"}, "refund_amount"),
    ({"refund_amount": "Infinity"}, "refund_amount"),
    ({"refund_amount": "9" * 5000}, "refund_amount"),
    ({"refund_amount": 10**30}, "refund_amount"),
    ({"refund_amount": [3990]}, "refund_amount"),
    ({"refund_amount": PHONE + NAME}, "refund_amount"),
    ({"goods_number": "-3"}, "goods_number"),  # was read as 1
    ({"goods_number": "1.5"}, "goods_number"),
    ({"goods_number": "²"}, "goods_number"),
])
def test_bad_record_is_a_named_validation_error(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        listed(**change)
    assert info.value.field == field
    assert info.value.payload in (WHERE, "pdd.refund.list.increment.get")
    text = str(info.value)
    assert "\n" not in text
    assert PHONE not in text
    assert NAME not in text
    assert "input_value" not in text
    assert "pydantic" not in text


@pytest.mark.parametrize("page", [
    {"refund_list": None}, {"refund_list": "x"}, {"refund_list": ["x"]},
    {"refund_list": [], "total_count": "many"}, {"refund_list": [None]},
])
def test_bad_page_is_a_named_validation_error(page: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        mapping.refunds_page(page)
    assert info.value.payload == "pdd.refund.list.increment.get"
    assert info.value.field


@pytest.mark.parametrize(("change", "field"), [
    ({"pay_amount": "-1.00"}, "pay_amount"),
    ({"pay_amount": "10.001"}, "pay_amount"),
    ({"postage": "1e2"}, "postage"),
    ({"item_list": None}, "order_sn_list.0.item_list"),
    ({"item_list": [{"goods_price": "1.00", "goods_count": -2}]}, "goods_count"),
    ({"item_list": [{"goods_price": "1.00", "goods_count": "两"}]},
     "order_sn_list.0.item_list.0.goods_count"),
    ({"order_status": "已签收"}, "order_sn_list.0.order_status"),
    ({"created_time": None}, "order_sn_list.0.created_time"),
])
def test_bad_order_is_a_named_validation_error(change: dict[str, Any], field: str) -> None:
    order = {"order_sn": "o1", "created_time": "2024-11-21 10:00:00",
             "updated_at": "2024-11-21 10:00:00", "pay_amount": "10.00",
             "item_list": [{"goods_price": "10.00", "goods_count": 1}], **change}
    with pytest.raises(ValidationError) as info:
        mapping.orders_page({"order_sn_list": [order]})
    assert info.value.field == field


# ------------------------------------------------------------------ odd but right


@pytest.mark.parametrize(("wire", "utc"), [
    ("2024-11-21 09:40:00", datetime(2024, 11, 21, 1, 40, tzinfo=UTC)),  # +08:00, no DST
    ("2024-07-01 09:40:00", datetime(2024, 7, 1, 1, 40, tzinfo=UTC)),  # summer: still +08:00
    ("2024-11-21T09:40:00+08:00", datetime(2024, 11, 21, 1, 40, tzinfo=UTC)),
    ("2024-11-21 09:40:00+0000", datetime(2024, 11, 21, 9, 40, tzinfo=UTC)),  # offset honoured
    ("2024-11-21 01:40:00Z", datetime(2024, 11, 21, 1, 40, tzinfo=UTC)),
    ("2024-11-21 09:40:00.250", datetime(2024, 11, 21, 1, 40, 0, 250000, tzinfo=UTC)),
    (" 1732153200 ", datetime(2024, 11, 21, 1, 40, tzinfo=UTC)),  # seconds
    (1732153200, datetime(2024, 11, 21, 1, 40, tzinfo=UTC)),
    ("1732153200000", datetime(2024, 11, 21, 1, 40, tzinfo=UTC)),  # milliseconds
    (1732153200123, datetime(2024, 11, 21, 1, 40, 0, 123000, tzinfo=UTC)),
])
def test_times_in_every_documented_form(wire: Any, utc: datetime) -> None:
    assert listed(updated_time=wire).updated_at == utc


@pytest.mark.parametrize(("wire", "money"), [
    ("39.90", Money("39.90", "CNY")), (" 39.9 ", Money("39.90", "CNY")),
    ("0", Money("0", "CNY")), (3990, Money("39.90", "CNY")), (1, Money("0.01", "CNY")),
    (None, None), ("", None),
])
def test_amounts_read_exactly(wire: Any, money: Money | None) -> None:
    assert listed(refund_amount=wire).requested_amount == money


def test_unknown_codes_map_to_safe_values_and_keep_the_raw_code() -> None:
    found = listed(after_sales_status=99, after_sales_type=77)
    assert found.status is ReturnStatus.REQUESTED
    assert found.raw_status == "99"
    assert found.kind is ReturnKind.RETURN  # never a refund of money only by default


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                 st.text(max_size=40), st.lists(st.integers(), max_size=2)))
def test_any_amount_is_exact_or_a_library_error(value: Any) -> None:
    try:
        money = mapping.amount(value, field="refund_amount", payload=WHERE)
    except ValidationError:
        return
    if money is not None:
        assert isinstance(money.amount, Decimal)
        assert money.currency == "CNY"
        assert money.amount >= 0
        assert money.amount == money.amount.quantize(Decimal("0.01"))
        if isinstance(value, int):
            assert money.amount * 100 == value


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                 st.text(max_size=40), st.from_regex(r"\A\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\Z")))
def test_any_time_is_aware_or_a_library_error(value: Any) -> None:
    try:
        moment = mapping.parse_time(value, field="updated_time", payload=WHERE)
    except ValidationError:
        return
    assert moment.tzinfo is UTC
    assert 2000 <= moment.year < 2100


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**11))
def test_fen_integers_convert_exactly(fen: int) -> None:
    assert listed(refund_amount=fen).requested_amount == Money(Decimal(fen) / 100, "CNY")


# ------------------------------------------------------------------ through the router


def test_error_envelope_with_http_200_hides_secrets_and_buyer(
        router: FakeRouter, mall: FakeMall, caplog: pytest.LogCaptureFixture) -> None:
    router.queue("pdd.order.information.get", {"error_response": {
        "error_code": 10000, "error_msg": "参数错误",
        "sub_msg": f"access_token {TOKEN} 与订单不匹配, 收件人 {NAME} 手机 {PHONE} {STREET}",
        "request_id": "req-1"}})
    market = PinduoduoMarketplace(_settings(), clock=lambda: NOW)
    with caplog.at_level(logging.DEBUG), pytest.raises(AfterSalesError) as info:
        market.get_order("241120-100000001")
    _clean(str(info.value) + caplog.text, router)


@pytest.mark.parametrize("answer", [
    (200, "<html><body>502 Bad Gateway</body></html>"),
    (502, "<html><body>502 Bad Gateway</body></html>"),
    (200, '{"order_info_get_response": {"order_info": {"order_sn": "2411'),
    (200, ""),
    (200, "[]"),
    (200, "null"),
    (200, '{"error_response": "系统繁忙"}'),
    (200, '{"order_info_get_response": []}'),
    (200, '{"order_info_get_response": {"order_info": ["x"]}}'),
    (200, '{"order_info_get_response": {"order_info": "x"}}'),
    (200, "[" * 100_000),  # nested past the parser's recursion limit
    (502, "[" * 100_000),
    (200, '{"error_response": {"error_code": Infinity, "error_msg": "x"}}'),
    (200, '{"error_response": {"error_code": NaN, "error_msg": "x"}}'),
])
def test_broken_answers_are_library_errors(router: FakeRouter, answer: tuple[int, str],
                                           caplog: pytest.LogCaptureFixture) -> None:
    router.queue("pdd.order.information.get", *[answer] * 4)  # a tuple: sent as it is
    market = PinduoduoMarketplace(_settings(), clock=lambda: NOW, sleep=lambda s: None)
    with caplog.at_level(logging.DEBUG), pytest.raises(AfterSalesError) as info:
        market.get_order("241120-100000001")
    assert "\n" not in str(info.value)
    _clean(str(info.value) + caplog.text, router)


def test_detail_of_another_after_sales_order_is_never_acted_on(
        router: FakeRouter, mall: FakeMall) -> None:
    market = PinduoduoMarketplace(_settings(), clock=lambda: NOW)
    request = next(r for p in market.list_returns() for r in p.items
                   if r.status is ReturnStatus.REQUESTED)
    other = next(k for k in mall.refunds if k != request.external_id)
    real = router.handlers["pdd.refund.information.get"]
    router.handle("pdd.refund.information.get",
                  lambda f: real({**f, "after_sales_id": other,
                                  "order_sn": mall.refunds[other]["order_sn"]}))
    refund = Refund(order_id=request.order_id, amount=request.requested_amount
                    or Money("1.00", "CNY"), idempotency_key="k1")
    with pytest.raises(ResponseParseError):
        market.refund(refund, request)
    assert mall.agreed == []
    assert "pdd.refund.agree" not in router.types()


def test_a_record_stamped_after_its_window_loses_nothing(router: FakeRouter,
                                                          mall: FakeMall) -> None:
    real = router.handlers["pdd.refund.list.increment.get"]
    skewed = dict(mall.refunds["9003"], id=9999, updated_time=china_time(NOW + timedelta(hours=1)))
    mall.refunds["9999"] = skewed  # its detail can be read; the fake lists it in no window

    def answer(form: dict[str, str]) -> dict[str, Any]:
        reply = real(form)
        if form["page"] == "1" and "refund_increment_get_response" in reply:
            reply["refund_increment_get_response"]["refund_list"].insert(0, skewed)
        return reply
    router.handle("pdd.refund.list.increment.get", answer)
    market = PinduoduoMarketplace(_settings(), clock=lambda: NOW)
    got = {r.external_id for p in market.list_returns() for r in p.items}
    assert got == set(mall.refunds) - {"9999"}  # every real record; the skewed one waits for its window


def test_empty_pages_under_a_total_that_promises_more(router: FakeRouter) -> None:
    router.handle("pdd.refund.list.increment.get", lambda f: {"refund_increment_get_response": {
        "refund_list": [], "total_count": 7}})
    market = PinduoduoMarketplace(_settings(lookback=timedelta(minutes=45)), clock=lambda: NOW)
    pages = list(market.list_returns())
    assert all(not p.items for p in pages)
    spans = [int(c["end_updated_at"]) - int(c["start_updated_at"]) for c in router.calls]
    assert spans
    assert max(spans) <= 30 * 60


def test_failing_listing_at_debug_logs_no_secret_or_buyer(
        router: FakeRouter, mall: FakeMall, caplog: pytest.LogCaptureFixture) -> None:
    real = router.handlers["pdd.refund.information.get"]

    def detail(form: dict[str, str]) -> dict[str, Any]:
        reply = real(form)
        reply["refund_information_get_response"].update(
            receiver_name=NAME, receiver_phone=PHONE, address=STREET,
            images=[f"{NAME} {PHONE}"], shipping_status=f"{NAME}{PHONE}")
        return reply
    router.handle("pdd.refund.information.get", detail)
    market = PinduoduoMarketplace(_settings(), clock=lambda: NOW)
    with caplog.at_level(logging.DEBUG), pytest.raises(ValidationError) as info:
        list(market.list_returns())
    assert info.value.field == "shipping_status"
    _clean(str(info.value) + caplog.text, router)


# ------------------------------------------------------------------ helpers


def _settings(**kw: Any) -> Any:
    from .conftest import make_settings
    return make_settings(**kw)


def _clean(text: str, router: FakeRouter) -> None:
    signs = [c["sign"] for c in router.calls if c.get("sign")]
    for secret in (SECRET, TOKEN, PHONE, NAME, STREET, "幸福路", *signs):
        assert secret not in text, secret


def test_a_total_that_grows_mid_walk_loses_nothing() -> None:
    """Newest first, size 2: E D | C B | A. After page 3 is read, X comes in
    at the top (a late write), so B moves onto page 3, already read."""
    from aftersales.paging import window_newest_first

    items = ["A", "B", "C", "D", "E"]  # oldest first
    calls: list[int] = []

    def fetch(page: int) -> tuple[list[tuple[datetime, str]], int]:
        calls.append(page)
        if len(calls) == 3:  # after the last page was read
            items.append("X")
        newest = list(reversed(items))
        stamps = [(NOW + timedelta(seconds=ord(k)), k) for k in newest]
        return stamps[(page - 1) * 2 : page * 2], len(items)

    found = {key for _, key in window_newest_first(fetch, 2, lambda x: x)}
    assert found == {"A", "B", "C", "D", "E", "X"}


@pytest.mark.parametrize("field", ["order_sn"])
def test_an_id_carrying_personal_data_is_not_echoed_in_an_error(field: str) -> None:
    """A hostile answer can put a buyer's name or phone in an id field; the error
    names the record only by a plain id, never by such text."""
    info = body("order_information_get")["order_info_get_response"]["order_info"]
    order = read(PddOrder, {**info, field: "张三 13800138000", "pay_amount": "-1"},
                 payload="pdd.order.information.get")
    with pytest.raises(ValidationError) as info:
        mapping.to_order(order)
    assert "13800138000" not in str(info.value)
    assert "张三" not in str(info.value)
    assert info.value.field == "pay_amount"
