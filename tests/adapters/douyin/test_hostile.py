"""Payloads Douyin never documented, the way a broken gateway or an attacker sends them.

Every bad value is refused with the library's ``ValidationError`` naming the
payload and the field (its path, never its value: a wrong-typed field may hold
a buyer's words), or read exactly; nothing raises a raw ``KeyError``,
``TypeError``, ``ValueError`` or pydantic error, and no time lands thousands
of years away.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
import responses
from aftersales_douyin import DouyinMarketplace, mapping
from aftersales_douyin.client import error_from_body
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import (
    AfterSalesError,
    RemoteRejectedError,
    ResponseParseError,
    ValidationError,
)
from aftersales.models import ReturnRequest
from aftersales.testing import digest_comparisons

from .conftest import SECRET, TOKEN, FakeDoudian, FakeShop, body, ok

PII = "张三 13800138000 北京市朝阳区建国路88号"


def _page() -> dict[str, Any]:
    data: dict[str, Any] = body("aftersale_list")["data"]
    data["items"] = data["items"][:1]
    data["total"] = 1
    return data


def _item_info(page: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = page["items"][0]["aftersale_info"]
    return info


def _refused(page: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        mapping.requests_page(page)
    return caught.value


@pytest.mark.parametrize(("field", "value"), [
    ("refund_amount", 12.5),  # a float: no exact fen
    ("refund_amount", 1230.0),  # a float, even a whole one: money is never float
    ("refund_amount", -100),  # a negative refund
    ("refund_amount", 10**30),  # more than any price
    ("refund_amount", "abc"),
    ("refund_amount", None),
    ("refund_amount", True),  # a bool is no amount (it read as 1 fen)
    ("refund_amount", "１２"),  # full-width digits
    ("update_time", 1716170000000),  # milliseconds in a seconds field
    ("update_time", 161324234234),  # read as seconds: the year 7082
    ("update_time", -5),
    ("update_time", 10**20),
    ("update_time", None),
    ("update_time", 0),  # no update time: no place in the listing's order
    ("status_deadline", 1716336000000),
    ("apply_time", 1716163200000),
    ("aftersale_type", "x"),
    ("aftersale_status", 6.5),
    ("aftersale_id", None),
    ("aftersale_id", ""),
    ("aftersale_id", "7140\x00001"),
    ("aftersale_id", "7" * 100_000),
    ("aftersale_num", PII),
    ("order_logistics", "x"),
])
def test_a_bad_field_is_refused_by_name(field: str, value: Any) -> None:
    page = _page()
    _item_info(page)[field] = value
    error = _refused(page)
    assert error.field is not None
    assert error.field.endswith(field)
    assert "douyin" in str(error)
    assert "\n" not in str(error)
    assert "张三" not in str(error)
    assert "13800138000" not in str(error)


@pytest.mark.parametrize("data", [
    {"items": "x"}, {"items": {}}, {"items": [1]}, {"items": [{"aftersale_info": []}]},
    {"total": "abc"},
])
def test_a_malformed_page_is_refused_by_name(data: dict[str, Any]) -> None:
    error = _refused(data)
    assert error.payload == "douyin afterSale/List"


def test_a_null_list_is_an_empty_one() -> None:
    """The Go SDK writes an empty slice as null."""
    assert mapping.requests_page({"items": None, "has_more": False, "total": 0}) == ([], 0)
    page = _page()
    page["items"][0]["order_info"]["related_order_info"] = None
    (request,), _ = mapping.requests_page(page)
    assert request.lines[0].order_line_id == _item_info(page)["related_id"]


def test_amounts_written_as_digits_are_read_exactly() -> None:
    page = _page()
    _item_info(page).update(refund_amount="1230", refund_post_amount=1)
    (request,), _ = mapping.requests_page(page)
    assert request.requested_amount is not None
    assert str(request.requested_amount.amount) == "12.31"


def test_an_unknown_dispute_state_counts_as_open() -> None:
    page = _page()
    _item_info(page)["arbitrate_status"] = 77
    (request,), _ = mapping.requests_page(page)
    assert request.dispute is not None
    assert request.dispute.open


@given(st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                 st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))
@settings(max_examples=150, deadline=None)
def test_any_amount_is_read_exactly_or_refused_by_name(value: Any) -> None:
    page = _page()
    _item_info(page)["refund_amount"] = value
    try:
        (request,), _ = mapping.requests_page(page)
    except ValidationError as exc:
        named = str(exc.field)
        assert named.endswith("refund_amount")
        return
    assert isinstance(value, int | str)
    assert not isinstance(value, bool)
    assert request.requested_amount is not None
    assert request.requested_amount.amount * 100 == int(value)
    assert 0 <= int(value) <= 10**12


@given(st.one_of(st.integers(min_value=-(10**22), max_value=10**22), st.floats(),
                 st.text(max_size=20), st.none()))
@settings(max_examples=150, deadline=None)
def test_any_time_lands_between_2000_and_2100_or_is_refused_by_name(value: Any) -> None:
    page = _page()
    _item_info(page)["update_time"] = value
    try:
        (request,), _ = mapping.requests_page(page)
    except ValidationError as exc:
        named = str(exc.field)
        assert named.endswith("update_time")
        return
    assert request.updated_at is not None
    assert request.updated_at.tzinfo is not None
    assert 2000 <= request.updated_at.year < 2100


@pytest.mark.parametrize(("total", "count", "before", "has_more", "trusted"), [
    (None, 2, 0, False, None),
    (-1, 2, 0, False, None),  # below zero
    (1, 2, 0, False, None),  # fewer than this page holds
    (2, 2, 0, True, None),  # "no more" beside has_more
    (5, 2, 4, False, None),  # fewer than the pages read so far
    (7, 2, 0, True, 7),
    (0, 0, 0, False, 0),
])
def test_a_total_the_page_contradicts_is_not_trusted(
        total: int | None, count: int, before: int, has_more: bool, trusted: int | None) -> None:
    assert mapping.trusted_total(total, count, before, has_more=has_more) == trusted


def test_a_lying_total_does_not_cut_the_listing_short(
        market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian) -> None:
    """A total of 1 beside a full page: the walk goes on until a short page."""
    honest = {r.external_id for p in market.list_returns() for r in p.items}
    lister = api.handlers["/afterSale/List"]

    def lying(call: dict[str, Any]) -> dict[str, Any]:
        answer = lister(call)
        answer["data"]["total"] = 1
        answer["data"]["has_more"] = True
        return answer

    api.handle("/afterSale/List", lying)
    found = {r.external_id for p in market.list_returns() for r in p.items}
    assert len(honest) > 2
    assert found == honest


@pytest.mark.parametrize(("answer", "kind"), [
    ({"err_no": 40004, "message": "参数错误"}, RemoteRejectedError),
    ({"err_no": "x", "message": "?"}, ResponseParseError),
    ({"code": True, "msg": "?"}, ResponseParseError),  # a bool is no code
    ({"code": "10000.5"}, ResponseParseError),
])
def test_other_envelopes_are_classed(answer: dict[str, Any], kind: type) -> None:
    assert type(error_from_body(answer)) is kind
    assert error_from_body({"err_no": 0, "data": {}}) is None
    assert error_from_body({"code": "10000", "data": {}}) is None


@pytest.mark.parametrize("reply", [
    (200, "<html><body>502 Bad Gateway</body></html>"),
    (200, '{"code": 10000, "data": {"items": ['),
    ok("not an object"),
    {"err_no": 40004, "message": "参数错误"},
])
def test_a_broken_answer_is_a_named_error(market: DouyinMarketplace, api: FakeDoudian,
                                          reply: Any) -> None:
    api.queue("/afterSale/Detail", reply)
    with pytest.raises(AfterSalesError) as caught:
        market.fetch_detail(ReturnRequest.model_validate({
            "marketplace": "douyin", "order_id": "1", "kind": "refund_only",
            "lines": [{"order_line_id": "1", "quantity": 1}], "external_id": "7140"}))
    assert "douyin" in str(caught.value)


def test_a_detail_with_wrong_types_is_refused_by_name(market: DouyinMarketplace,
                                                      api: FakeDoudian) -> None:
    data = body("aftersale_detail")["data"]
    data["process_info"]["after_sale_info"]["refund_total_amount"] = "12.30"
    api.queue("/afterSale/Detail", ok(data))
    with pytest.raises(ValidationError, match="refund_total_amount"):
        market.fetch_detail(ReturnRequest.model_validate({
            "marketplace": "douyin", "order_id": "1", "kind": "refund_only",
            "lines": [{"order_line_id": "1", "quantity": 1}], "external_id": "7140"}))


def test_a_failing_sync_at_debug_leaks_no_secret_and_no_buyer(
        market: DouyinMarketplace, api: FakeDoudian,
        caplog: pytest.LogCaptureFixture) -> None:
    """A bad page and a refusal quoting the buyer, logged at DEBUG: nothing of either."""
    page = _page()
    _item_info(page)["aftersale_num"] = PII
    api.queue("/afterSale/List", ok(page))
    api.queue("/afterSale/Detail", {"code": 50002, "msg": "业务处理失败",
                                    "sub_code": "isv.business-failed",
                                    "sub_msg": f"收件人{PII}", "log_id": "L"})
    errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ValidationError) as first:
            list(market.list_returns())
        errors.append(str(first.value))
        with pytest.raises(RemoteRejectedError) as second:
            market.fetch_detail(ReturnRequest.model_validate({
                "marketplace": "douyin", "order_id": "1", "kind": "refund_only",
                "lines": [{"order_line_id": "1", "quantity": 1}], "external_id": "7140"}))
        errors.append(str(second.value))
        errors.append(second.value.body or "")
    signs = [c["query"]["sign"] for c in api.calls]
    text = caplog.text + " ".join(errors) + json.dumps([r.args for r in caplog.records],
                                                       default=str)
    assert "POST" in caplog.text
    for secret in (TOKEN, SECRET, *signs, "13800138000", "张三", "建国路88号"):
        assert secret not in text


def test_a_route_with_a_broken_track_info_is_read(market: DouyinMarketplace,
                                                  api: FakeDoudian) -> None:
    data = copy.deepcopy(body("track_no_route_detail")["data"])
    data["track_info"] = "x"
    api.queue("/logistics/trackNoRouteDetail", ok(data))
    assert market.trace("SF1", "shunfeng").number == "SF1"


def test_an_interception_count_that_is_no_number_is_named(market: DouyinMarketplace,
                                                          api: FakeDoudian) -> None:
    api.queue("/afterSale/applyLogisticsIntercept", ok({"success_count": "abc"}))
    with pytest.raises(ResponseParseError, match="success_count"):
        market.intercept(ReturnRequest.model_validate({
            "marketplace": "douyin", "order_id": "1", "kind": "refund_only",
            "lines": [{"order_line_id": "1", "quantity": 1}], "external_id": "7140"}),
            "SF1", "shunfeng")


def _numbered(external_id: str) -> ReturnRequest:
    return ReturnRequest.model_validate({
        "marketplace": "douyin", "order_id": "1", "kind": "refund_only",
        "lines": [{"order_line_id": "1", "quantity": 1}], "external_id": external_id})


@pytest.mark.parametrize("external_id", ["7140-x", "７１４０", "1" * 40])
def test_a_write_on_an_id_that_is_no_number_is_refused_before_sending(
        market: DouyinMarketplace, lenient_http: responses.RequestsMock,
        external_id: str) -> None:
    """It raised a raw ValueError from int()."""
    api = FakeDoudian(lenient_http)
    for call in (lambda r: market.refusal_reasons(r), lambda r: market.extend_deadline(r),
                 lambda r: market.intercept(r, "SF1", "shunfeng")):
        with pytest.raises(ValidationError, match="external_id"):
            call(_numbered(external_id))
    assert api.calls == []


@pytest.mark.parametrize(("status_code", "refused"), [
    (0, False), ("0", False), (None, False), (1, True), ("50002", True),
])
def test_an_operate_outcome_is_read_whatever_its_spelling(
        market: DouyinMarketplace, api: FakeDoudian, status_code: Any, refused: bool) -> None:
    """A "0" written as text is a success: reading it as a refusal would report a paid
    refund as failed."""
    api.queue("/afterSale/operate", ok({"items": [
        {"aftersale_id": 7140, "status_code": status_code, "status_msg": "x"}]}))
    if refused:
        with pytest.raises(RemoteRejectedError):
            market._operate(201, {"aftersale_id": "7140"})
    else:
        market._operate(201, {"aftersale_id": "7140"})


def test_the_sandbox_checks_signatures_in_constant_time() -> None:
    from aftersales_douyin import sandbox

    world = sandbox.DouyinWorld(seed=1, count=2)
    with digest_comparisons() as compared:
        refused = world.answer("/afterSale/List", {"method": "afterSale.List", "timestamp": "1",
                                                   "sign": "0" * 64}, {}, "{}")
    assert refused["sub_code"] == "isv.signature-invalid"
    assert compared


def test_a_server_that_ignores_the_page_number_ends_the_walk(
        market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian) -> None:
    """Page 0 served for every page, with a total that cannot be: the walk ends."""
    lister = api.handlers["/afterSale/List"]
    asked: list[int] = []

    def stuck(call: dict[str, Any]) -> dict[str, Any]:
        asked.append(call["params"]["page"])
        assert len(asked) < 200, "the walk never ended"
        answer = lister({**call, "params": {**call["params"], "page": 0}})
        answer["data"].update(total=1, has_more=True)
        return answer

    api.handle("/afterSale/List", stuck)
    found = [r.external_id for p in market.list_returns() for r in p.items]
    assert found
    assert len(found) == len(set(found))


def test_an_unknown_refund_state_never_reads_as_surely_unpaid(
        market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian) -> None:
    """A refund state the table lacks may be one of paying: the look-up cannot tell, and
    no agree is sent on it."""
    from aftersales.models import Money, Refund

    target = "7140000000000000100"
    shop.info(target).update(aftersale_status=6, refund_status=9)
    request = _numbered(target)
    refund = Refund.model_validate({"order_id": "1", "amount": Money("1.00", "CNY"),
                                    "idempotency_key": "k1"})
    with pytest.raises(ResponseParseError, match="refund state 9"):
        market.find_refund(refund, request)
    with pytest.raises(ResponseParseError, match="refund state 9"):
        market.refund(refund, request)
    assert "/afterSale/operate" not in api.paths()
