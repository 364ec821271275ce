"""The Douyin adapter's calls: what it sends, what it refuses, what it reads back."""

from __future__ import annotations

import base64
import logging
import tempfile
from datetime import timedelta
from typing import Any

import pytest
import responses
from aftersales_douyin import DouyinMarketplace
from aftersales_douyin.client import error_from_body

from aftersales.app import AfterSales
from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    RemoteRejectedError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.evidence import Evidence
from aftersales.models import FulfilmentStage, ParcelStatus, ReturnRequest, ReturnStatus
from aftersales.multipart import FilePart
from aftersales.testing.samples import SAMPLE_PNG

from .conftest import APP_KEY, NOW, SECRET, TOKEN, FakeDoudian, FakeShop, make_settings

PICTURE = FilePart("damage.png", SAMPLE_PNG, "application/octet-stream")


def _request(market: DouyinMarketplace, aid: str) -> ReturnRequest:
    return next(r for p in market.list_returns() for r in p.items if r.external_id == aid)


def test_the_listing_asks_for_update_windows_newest_first(
    market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian
) -> None:
    listed = [r for p in market.list_returns() for r in p.items]
    assert len(listed) == len(shop.items)
    sent = [c for c in api.calls if c["path"] == "/afterSale/List"]
    assert all(c["params"]["order_by"] == ["update_time desc"] for c in sent)
    assert all(c["params"]["size"] <= 100 and c["params"]["page"] >= 0 for c in sent)
    assert {c["query"]["app_key"] for c in sent} == {APP_KEY}
    stamps = [r.updated_at for r in listed]
    assert stamps == sorted(stamps)  # type: ignore[type-var]


def test_stage_keeps_refunds_before_shipment_apart(market: DouyinMarketplace,
                                                   shop: FakeShop) -> None:
    stages = {r.external_id: r.stage for p in market.list_returns() for r in p.items}
    assert stages["7140000000000000100"] is FulfilmentStage.NOT_SHIPPED
    assert stages["7140000000000000101"] is FulfilmentStage.DELIVERED


def test_approving_a_return_sends_the_address_and_the_version(
    market: DouyinMarketplace, shop: FakeShop
) -> None:
    aid = "7140000000000000101"
    request = _request(market, aid)
    shop._touch(aid, aftersale_status=6)
    market.approve_return(request, note="请寄回")
    code, item = shop.operated[-1]
    assert code == 101
    assert item["logistics"] == {"receiver_address_id": 900001}
    assert item["update_time"] == shop.info(aid)["update_time"] - 1  # the version read first
    assert shop.info(aid)["aftersale_status"] == 7


def test_approving_a_return_without_an_address_is_refused_before_sending(
    shop: FakeShop, sleeps: Any
) -> None:
    market = DouyinMarketplace(make_settings(return_address_id=None), clock=lambda: NOW,
                               sleep=sleeps)
    aid = "7140000000000000101"
    request = _request(market, aid)
    shop._touch(aid, aftersale_status=6)
    with pytest.raises(ConfigurationError, match="return_address_id"):
        market.approve_return(request)
    assert shop.operated == []


def test_a_refusal_takes_a_listed_code_and_uploads_its_pictures(
    market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian
) -> None:
    aid = "7140000000000000101"  # a return whose goods are on their way back (11)
    request = _request(market, aid)
    market.reject_return(request, reason="买家退回的商品影响二次销售", reason_code="1001",
                         evidence=Evidence("吊牌已拆", (PICTURE,)))
    code, item = shop.operated[-1]
    assert code == 112
    assert item["reject_reason_code"] == 1001
    assert item["evidence"] == [{"type": 1, "url":
                                 "https://p3-aio.ecombdimg.com/tos-cn-i-test/upload-1.png",
                                 "desc": "吊牌已拆"}]
    # The picture went as the SDKs send every call: a signed JSON body whose
    # file_content is a string (the bytes base64-encoded), never multipart.
    assert shop.uploads == [SAMPLE_PNG]
    upload = next(c for c in api.calls if c["path"] == "/open/binaryupload")
    assert upload["files"] == {}
    assert list(upload["params"]) == ["file_content"]
    assert base64.b64decode(upload["params"]["file_content"]) == SAMPLE_PNG
    # The link came from material/queryMaterialDetail (uploadImageSync's byte_url is withdrawn).
    assert api.paths().index("/material/queryMaterialDetail") > api.paths().index(
        "/material/uploadImageSync")
    assert shop.info(aid)["aftersale_status"] == 29


def test_a_code_douyin_does_not_list_is_refused_naming_the_listed_ones(
    market: DouyinMarketplace, shop: FakeShop
) -> None:
    request = _request(market, "7140000000000000101")
    with pytest.raises(ValidationError, match=r"reason_code.*1001.*1002"):
        market.reject_return(request, reason="x", reason_code="7")
    assert shop.operated == []


def test_a_reason_that_needs_pictures_is_refused_without_them(
    market: DouyinMarketplace, shop: FakeShop
) -> None:
    request = _request(market, "7140000000000000101")
    with pytest.raises(ValidationError, match=r"evidence.*1001"):
        market.reject_return(request, reason="影响二次销售", reason_code="1001")
    assert shop.operated == []


def test_evidence_is_capped_at_four_pictures_before_any_upload(
    market: DouyinMarketplace, shop: FakeShop
) -> None:
    request = _request(market, "7140000000000000101")
    links = tuple(f"https://p3-aio.ecombdimg.com/x{i}.jpg" for i in range(4))
    with pytest.raises(ValidationError, match="at most 4"):
        market.submit_evidence(request, Evidence("x", (PICTURE,), links))
    assert shop.uploads == []
    market.submit_evidence(request, Evidence("开箱视频截图", (), links))
    assert shop.evidence[-1]["evidence"] == list(links)
    assert shop.evidence[-1]["aftersale_id"] == 7140000000000000101


def test_a_picture_under_review_is_named_not_dropped(
    market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian
) -> None:
    api.queue("/material/uploadImageSync", {"code": 10000, "data": {
        "material_id": "70009", "audit_status": 1, "byte_url": ""}})
    request = _request(market, "7140000000000000101")
    with pytest.raises(RemoteRejectedError, match="70009"):
        market.submit_evidence(request, Evidence("x", (PICTURE,)))
    assert shop.evidence == []


def test_a_deadline_extension_is_read_back(market: DouyinMarketplace, shop: FakeShop) -> None:
    aid = "7140000000000000101"
    request = _request(market, aid)
    assert request.platform_deadline is not None
    extended = market.extend_deadline(request)
    assert extended.due_at == request.platform_deadline.due_at + timedelta(days=2)
    assert extended.status is ReturnStatus.RETURN_SHIPPED
    with pytest.raises(ValidationError, match="by="):
        market.extend_deadline(request, timedelta(days=1))


def test_a_refund_for_another_amount_is_refused_before_sending(
    market: DouyinMarketplace, shop: FakeShop
) -> None:
    from aftersales.models import Money, Refund

    request = _request(market, "7140000000000000100")
    refund = Refund(order_id=request.order_id, amount=Money("1.00", "CNY"), idempotency_key="k")
    with pytest.raises(ValidationError, match=r"asked for \(10\.00 CNY\), not 1\.00 CNY"):
        market.refund(refund, request)
    assert shop.operated == []


def test_a_changed_request_is_refused_by_its_version(
    market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian
) -> None:
    aid = "7140000000000000101"
    request = _request(market, aid)
    shop._touch(aid, aftersale_status=6)
    original = shop._operate

    def racing(call: dict[str, Any]) -> Any:
        shop._touch(aid)  # the buyer changed the request between read and write
        return original(call)

    api.handle("/afterSale/operate", racing)
    with pytest.raises(RemoteRejectedError, match="售后状态错误"):
        market.approve_return(request)


@pytest.mark.parametrize(("douyin_type", "kind"), [
    (6, "price_protection"), (7, "reship"), (8, "repair")])  # 价保, 补寄, 维修
def test_unsupported_kinds_of_operation_name_themselves(
    market: DouyinMarketplace, shop: FakeShop, douyin_type: int, kind: str,
) -> None:
    """No afterSale/operate type for these kinds is in the official material: each
    approval and refusal is refused naming the kind, and nothing is written."""
    aid = "7140000000000000100"
    request = _request(market, aid)
    shop._touch(aid, aftersale_type=douyin_type)
    with pytest.raises(UnsupportedOperationError, match=kind):
        market.approve_return(request)
    with pytest.raises(UnsupportedOperationError, match=kind):
        market.reject_return(request, reason="不符合", reason_code="1002")
    assert shop.operated == []


def test_trace_and_intercept(market: DouyinMarketplace, shop: FakeShop,
                             api: FakeDoudian) -> None:
    tracking = market.trace("YT2400000000001", "yuantong")
    assert [e.status for e in tracking.events] == [
        ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT, ParcelStatus.DELIVERED]
    assert tracking.delivered_at is not None
    api.handle("/afterSale/applyLogisticsIntercept", lambda c: {"code": 10000, "data": {
        "success_count": 1, "failed_count": 0, "intercept_results": []}})
    request = _request(market, "7140000000000000100")
    assert market.intercept(request, "YT2400000000001", "yuantong") is True
    sent = api.calls[-1]["params"]
    assert sent["intercept_targets"] == [{"company_code": "yuantong",
                                          "tracking_no": "YT2400000000001"}]


@pytest.mark.parametrize(("body", "kind"), [
    ({"code": 30002, "msg": "access_token已过期", "sub_code": "isv.access-token-expired"},
     AuthenticationError),
    ({"code": 40004, "msg": "x", "sub_code": "isv.signature-invalid"}, AuthenticationError),
    ({"code": 40004, "msg": "x", "sub_code": "isv.app-call-limited"}, RateLimitError),
])
def test_token_signature_and_limit_errors_by_their_words(body: dict[str, Any],
                                                         kind: type) -> None:
    assert type(error_from_body(body)) is kind


def test_secrets_never_reach_debug_logs(market: DouyinMarketplace, shop: FakeShop,
                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        list(market.list_returns())
    text = caplog.text
    assert "POST" in text  # the calls were logged
    for secret in (TOKEN, SECRET, TOKEN[:15], SECRET[:12]):
        assert secret not in text


def test_two_douyin_stores_keep_their_data_apart() -> None:
    """Two shops on one app, with the same after-sales ids on each side."""
    other = "https://openapi-fxg-b.example.test"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        a_shop = FakeShop(FakeDoudian(mock), count=3)
        b_shop = FakeShop(FakeDoudian(mock, secret="second-secret", host=other), count=2)
        b_shop.info("7140000000000000100")["refund_amount"] = 4321
        stores = [
            DouyinMarketplace(make_settings(), name="dy-flagship", clock=lambda: NOW),
            DouyinMarketplace(make_settings(app_secret="second-secret", base_url=other),
                              name="dy-outlet", clock=lambda: NOW),
        ]
        url = f"sqlite:///{tempfile.mkdtemp()}/two.db"
        with AfterSales(url, marketplaces=stores, carriers=[], clock=lambda: NOW,
                        migrate=False) as app:
            app.store.create_all()
            assert app.returns.sync() == {"dy-flagship": 3, "dy-outlet": 2}
            a = app.returns.list(marketplace="dy-flagship")
            b = app.returns.list(marketplace="dy-outlet")
            assert len(a) == 3
            assert len(b) == 2
            same = "7140000000000000100"
            a_req = next(r for r in a if r.external_id == same)
            b_req = next(r for r in b if r.external_id == same)
            assert a_req.rma_id != b_req.rma_id
            assert b_req.requested_amount is not None
            assert str(b_req.requested_amount.amount) == "43.21"
            # Acting on one store's request reaches only that store's shop.
            app.returns.approve(b_req.rma_id or "")
            app.returns.refund(b_req.rma_id or "")
            assert [c for c, _ in b_shop.operated] == [201]
            assert a_shop.operated == []
            assert app.returns.get(a_req.rma_id or "").status is ReturnStatus.REQUESTED


def test_an_item_stamped_after_its_window_loses_none_of_the_later_windows(
    market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian
) -> None:
    """A stale list index (or a write during the walk) returns a request in an old
    window with its newer ``update_time``: read there, it would move the watermark
    past every window still to read, and their requests would never be listed."""
    oldest = min(shop.items, key=lambda aid: shop.info(aid)["update_time"])
    served = shop._list
    first = True

    def stale(call: dict[str, Any]) -> dict[str, Any]:
        nonlocal first
        answer = served(call)
        if first and any(it["aftersale_info"]["aftersale_id"] == oldest
                         for it in answer["data"]["items"]):
            first = False
            shop.info(oldest)["update_time"] = int(NOW.timestamp()) - 90  # changed since
        return answer

    api.handle("/afterSale/List", stale)
    listed = {r.external_id for p in market.list_returns() for r in p.items}
    assert listed == set(shop.items)
