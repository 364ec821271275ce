"""Payloads the platform itself published go through the adapter's own parse path.

Each fixture here carries the example values the official Douyin Shop SDK
gives for its fields (``@OpField(example=...)`` of the Java SDK's
auto-generated classes, field names checked against the Go SDK); its
``_source`` names the classes. Where the SDK's examples are odd (a
12-digit "seconds" timestamp, amounts that do not add up, a ``byte_url``
on a picture not yet approved), the test pins what the adapter makes of
them, so nothing is invented.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aftersales_douyin import DouyinMarketplace, mapping
from aftersales_douyin.client import error_from_body
from aftersales_douyin.schemas import AftersalePage, ShopOrder

from aftersales.errors import RemoteRejectedError
from aftersales.models import (
    FulfilmentStage,
    Money,
    ParcelStatus,
    RefusalReason,
    ReturnKind,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from aftersales.multipart import FilePart
from aftersales.testing.samples import SAMPLE_PNG

from .conftest import FakeDoudian, FakeShop, body, fx

EXAMPLES = ("aftersale_list_sdk_example", "aftersale_detail_sdk_example",
            "reject_reason_code_list_sdk_example", "order_search_list_sdk_example",
            "track_no_route_detail_sdk_example", "binaryupload_sdk_example",
            "upload_image_sync_sdk_example", "query_material_detail_sdk_example")


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _listed() -> ReturnRequest:
    requests, _ = mapping.requests_page(body("aftersale_list_sdk_example")["data"], "dy-flagship")
    return requests[0]


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_names_the_official_sdk_class_it_comes_from(name: str) -> None:
    data = fx(name)
    assert "official" in data["_source"]
    assert "com.doudian.open.api." in data["_source"]
    assert data["_status"].startswith("platform example")


def test_the_list_example_maps_to_a_return_on_its_way_back() -> None:
    data = body("aftersale_list_sdk_example")["data"]
    requests, total = mapping.requests_page(data, "dy-flagship")
    assert total == 1025
    assert AftersalePage.model_validate(data).has_more
    request = requests[0]
    assert (request.external_id, request.order_id) == ("6986853269519810849",
                                                       "4821780700279174718")
    assert (request.kind, request.status, request.raw_status) == (
        ReturnKind.RETURN, ReturnStatus.RETURN_SHIPPED, "11")  # 0 退货退款, 11 待商家二次同意
    assert request.stage is FulfilmentStage.DELIVERED
    assert request.requested_amount == Money(Decimal("0.20"), "CNY")  # 20 + 0 fen
    [line] = request.lines
    assert (line.order_line_id, line.sku, line.quantity) == ("4821780700279174718", None, 1)
    assert (line.reason, line.reason_text) == (ReturnReason.NO_REASON, "无理由退款")
    # remark is 售后商家备注, the shop's own note: never passed off as the buyer's words.
    assert request.buyer_note is None
    assert (request.return_tracking_number, request.return_carrier) == ("XY123123123", "sf")
    assert (request.created_at, request.updated_at) == (_at(1626753592), _at(1626860666))
    assert request.platform_deadline is not None
    assert request.platform_deadline.due_at == _at(1626926420)
    assert request.platform_deadline.extendable  # 11: the shop waits for the goods
    assert request.risk is None
    assert request.dispute is None


def test_the_reject_reason_example_is_listed_by_the_adapter(
    market: DouyinMarketplace, api: FakeDoudian
) -> None:
    api.queue("/afterSale/rejectReasonCodeList", body("reject_reason_code_list_sdk_example"))
    reasons = market.refusal_reasons(_listed())
    assert reasons == [RefusalReason(code="1", text="多拍/错拍/不想要",
                                     tips="请提供发货物流进度截图", needs_evidence=True)]
    assert api.calls[-1]["params"] == {"aftersale_id": 6986853269519810849}


def test_the_order_example_reads_origin_amount_as_the_unit_price() -> None:
    """商品现价 is one unit's price; the SDK gives sum_amount (200) as it times item_num (2)."""
    item = body("order_search_list_sdk_example")["data"]["shop_order_list"][0]
    order = mapping.to_order(ShopOrder.model_validate(item), "dy-outlet")
    assert (order.marketplace, order.external_id, order.raw_status) == (
        "dy-outlet", "4781320682406083640", "3")
    [line] = order.lines
    assert (line.external_id, line.sku, line.title, line.quantity) == (
        "4781320682406083640", "djfafj", "衣服", 2)
    assert line.unit_price == Money(Decimal("1.00"), "CNY")
    assert line.discount is None
    assert line.net == Money(Decimal("2.00"), "CNY")  # = sum_amount
    assert (order.shipping, order.total) == (Money(Decimal("0.10"), "CNY"),
                                             Money(Decimal("5.00"), "CNY"))
    assert order.discount == Money.zero("CNY")  # the examples pay more than they list
    assert order.placed_at == order.updated_at == _at(1617355413)
    assert order.buyer.external_id.startswith("#zuLyd4U4J3p")
    assert order.shipments == []


def test_the_track_example_invents_no_time(market: DouyinMarketplace, api: FakeDoudian) -> None:
    """The SDK's example timestamp (12 digits) is no plausible day as seconds or milliseconds."""
    api.queue("/logistics/trackNoRouteDetail", body("track_no_route_detail_sdk_example"))
    tracking = market.trace("234234234", "shentong")
    assert api.calls[-1]["params"] == {"logistics_code": "shentong", "track_no": "234234234"}
    assert (tracking.number, tracking.carrier) == ("234234234", "shentong")
    assert tracking.events == []
    assert (tracking.status, tracking.delivered_at) == (ParcelStatus.PENDING, None)


@pytest.mark.parametrize(("text", "when"), [
    ("1715652000", _at(1715652000)),  # seconds, as documented
    ("1715652000123", datetime(2024, 5, 14, 2, 0, 0, 123000, UTC)),  # milliseconds
    ("161324234234", None),  # the SDK's example: year 7082 as seconds, 1975 as milliseconds
    ("", None),
    ("17156x", None),
])
def test_route_times(text: str, when: datetime | None) -> None:
    assert mapping.route_moment(text) == when


def test_the_upload_examples_never_take_a_link_before_the_review_passed(
    market: DouyinMarketplace, api: FakeDoudian
) -> None:
    """uploadImageSync's example carries a byte_url with audit_status 2 (under review): the
    link counts only at 3, and is asked of material/queryMaterialDetail (whose example is 5)."""
    api.queue("/open/binaryupload", body("binaryupload_sdk_example"))
    api.queue("/material/uploadImageSync", body("upload_image_sync_sdk_example"))
    api.queue("/material/queryMaterialDetail", body("query_material_detail_sdk_example"))
    with pytest.raises(RemoteRejectedError, match=r"7000254886243811628.*audit status 5"):
        market.upload_picture(FilePart("damage.png", SAMPLE_PNG))
    sent = {c["path"]: c for c in api.calls}
    assert base64.b64decode(sent["/open/binaryupload"]["params"]["file_content"]) == SAMPLE_PNG
    assert sent["/material/uploadImageSync"]["params"]["file_uri"] == (
        "tos-cn-i-7veqoeduo3/fb4613ec70694bf2ad0c548e946af583")
    assert sent["/material/queryMaterialDetail"]["params"] == {
        "material_id": "7000254886243811628"}


def test_an_agree_douyin_will_not_take_through_open_is_refused_once(
    market: DouyinMarketplace, shop: FakeShop, api: FakeDoudian
) -> None:
    """50002 isv.business-failed:11001 (暂不支持通过OPEN处理, "无法重试解决") is not retried."""
    answer = body("error_operate_open_unsupported")
    error = error_from_body(answer)
    assert type(error) is RemoteRejectedError
    assert error.code == "50002/isv.business-failed:11001"
    aid = "7140000000000000101"
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == aid)
    shop._touch(aid, aftersale_status=6)
    api.queue("/afterSale/operate", answer)
    with pytest.raises(RemoteRejectedError, match="11001"):
        market.approve_return(request)
    assert api.paths().count("/afterSale/operate") == 1
    assert shop.info(aid)["aftersale_status"] == 6
