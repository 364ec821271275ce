"""Uploads to TOP: the exact multipart wire format, and the calls that upload pictures."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import responses
from aftersales_taobao import TaobaoMarketplace
from aftersales_taobao.client import TaobaoClient

from aftersales.errors import UnsupportedOperationError, ValidationError
from aftersales.models import ReturnRequest
from aftersales.multipart import FilePart

from .conftest import (
    GATEWAY,
    NOW,
    SECRET,
    SESSION,
    FakeShop,
    FakeTop,
    Sleeps,
    independent_sign,
    make_settings,
)
from .test_fidelity import doc

#: The smallest PNG header: enough for the picture check, 16 bytes on the wire.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR"
BOUNDARY = "b0undary"


def _refuse_reply(form: dict[str, str]) -> dict[str, Any]:
    return {"rp_returngoods_refuse_response": {"result": True}}


def test_refuse_proof_goes_out_in_the_exact_wire_format_top_requires(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    """System parameters and sign in the query; business ones as text parts; the file last.

    The signature covers the system and business parameters and never the
    file (TOP protocol; official SDKs' getApplicationParameters skip byte[]
    parameters). Every byte of the request is pinned here.
    """
    spec = doc("returngoods_refuse_request_spec")
    assert spec["file_params"] == ["refuse_proof"]
    client = TaobaoClient(make_settings(tmall=True), clock=lambda: NOW, sleep=sleeps)
    client.api.multipart_boundary = lambda: BOUNDARY
    http.post(GATEWAY, json={"rp_returngoods_refuse_response": {"result": True}})

    answer = client.call(
        spec["method"],
        {"refund_id": "100002", "refund_phase": "aftersale", "refund_version": 1716168672000,
         "refuse_reason_id": 1},
        write=True, files={"refuse_proof": FilePart("proof.png", PNG, "image/png")})

    assert answer == {"result": True}
    request = http.calls[0].request
    system = {"method": "taobao.rp.returngoods.refuse", "app_key": "12345678",
              "session": SESSION, "timestamp": "2024-05-20 10:00:00", "format": "json",
              "v": "2.0", "sign_method": "md5"}
    business = {"refund_id": "100002", "refund_phase": "aftersale",
                "refund_version": "1716168672000", "refuse_reason_id": "1"}
    signature = independent_sign({**system, **business}, SECRET, "md5")
    assert request.url == f"{GATEWAY}?{urlencode({**system, 'sign': signature})}"
    assert request.headers["Content-Type"] == f"multipart/form-data; boundary={BOUNDARY}"
    expected = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="refund_id"\r\n\r\n'
        b"100002\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="refund_phase"\r\n\r\n'
        b"aftersale\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="refund_version"\r\n\r\n'
        b"1716168672000\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="refuse_reason_id"\r\n\r\n'
        b"1\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="refuse_proof"; filename="proof.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
        + PNG + b"\r\n"
        b"--b0undary--\r\n"
    )
    assert request.body == expected
    assert int(request.headers["Content-Length"]) == len(expected)


def _goods_on_their_way_back(market: TaobaoMarketplace, shop: FakeShop) -> ReturnRequest:
    shop.refunds["100002"]["status"] = "WAIT_SELLER_CONFIRM_GOODS"
    return next(r for p in market.list_returns() for r in p.items if r.external_id == "100002")


@pytest.fixture
def reasons(top: FakeTop) -> None:
    top.handle("taobao.refund.refusereason.get",
               lambda form: doc("refusereason_get_doc_example")["body"])


def test_tmall_refuses_returned_goods_with_proof_and_a_listed_reason_code(
    tmall: TaobaoMarketplace, shop: FakeShop, top: FakeTop, reasons: None
) -> None:
    request = _goods_on_their_way_back(tmall, shop)
    top.calls.clear()
    tmall.reject_return(request, reason="退回商品已损坏", reason_id=1,
                        proof=FilePart("p.png", PNG, "application/octet-stream"))
    assert top.methods() == ["taobao.refund.get", "taobao.refund.refusereason.get",
                             "taobao.rp.returngoods.refuse"]
    sent = top.calls[2]  # FakeTop checked its signature, computed without the file
    assert (sent["refund_id"], sent["refuse_reason_id"]) == ("100002", "1")
    assert "refuse_proof" not in sent
    name, kind, content = top.files[len(top.calls) - 1]["refuse_proof"]
    assert (name, kind, content) == ("p.png", "image/png", PNG)  # type read from the bytes
    assert top.calls[1]["refund_phase"] == "aftersale"
    assert shop.refunds["100002"]["status"] == "SELLER_REFUSE_BUYER"


def test_reason_may_be_chosen_by_its_listed_text(
    tmall: TaobaoMarketplace, shop: FakeShop, top: FakeTop, reasons: None
) -> None:
    request = _goods_on_their_way_back(tmall, shop)
    tmall.reject_return(request, reason="已经影响商品完好", proof=FilePart("p.png", PNG))
    assert top.calls[-1]["refuse_reason_id"] == "1"
    assert [r.reason_id for r in tmall.refuse_reasons(request)] == [1]


def test_a_reason_code_taobao_does_not_list_is_refused_naming_the_listed_ones(
    tmall: TaobaoMarketplace, shop: FakeShop, top: FakeTop, reasons: None
) -> None:
    request = _goods_on_their_way_back(tmall, shop)
    with pytest.raises(ValidationError, match=r"reason_code.*1 已经影响商品完好"):
        tmall.reject_return(request, reason="退回商品已损坏", reason_id=7,
                            proof=FilePart("p.png", PNG))
    assert "taobao.rp.returngoods.refuse" not in top.methods()
    assert shop.refunds["100002"]["status"] == "WAIT_SELLER_CONFIRM_GOODS"


def test_refusing_goods_without_proof_is_refused_before_any_change(
    tmall: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _goods_on_their_way_back(tmall, shop)
    with pytest.raises(ValidationError, match="proof"):
        tmall.reject_return(request, reason="退回商品已损坏")
    assert "taobao.rp.returngoods.refuse" not in top.methods()


@pytest.mark.parametrize(("content", "why"), [
    (b"", "1 byte to 5 MB"),
    (PNG + b"\x00" * (5 * 1024 * 1024), "1 byte to 5 MB"),
    (b"%PDF-1.7 not a picture", "not a JPEG"),
])
def test_a_proof_that_is_not_a_picture_of_at_most_5_mb_is_refused_before_any_call(
    tmall: TaobaoMarketplace, http: responses.RequestsMock, content: bytes, why: str
) -> None:
    request = ReturnRequest.model_validate({
        "marketplace": "taobao", "order_id": "1", "kind": "return", "external_id": "9",
        "lines": [{"order_line_id": "1", "quantity": 1}]})
    with pytest.raises(ValidationError, match=f"proof.*{why}"):
        tmall.reject_return(request, reason="退回商品已损坏", proof=FilePart("x.png", content))
    assert len(http.calls) == 0


def test_a_picture_of_exactly_5_mb_is_accepted() -> None:
    from aftersales_taobao.proof import MAX_PROOF_BYTES, check_picture

    part = FilePart("big.jpg", b"\xff\xd8\xff" + b"\x00" * (MAX_PROOF_BYTES - 3))
    assert check_picture(part, field="proof", payload="p").content_type == "image/jpeg"


def test_a_plain_taobao_shop_refuses_returned_goods_in_the_seller_console(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    """taobao.rp.returngoods.refuse is documented for Tmall only: nothing is sent."""
    assert doc("returngoods_refuse_request_spec")["tmall_only"].endswith("仅支持天猫退货。")
    request = _goods_on_their_way_back(market, shop)
    top.calls.clear()
    with pytest.raises(UnsupportedOperationError, match="Tmall only"):
        market.reject_return(request, reason="退回商品已损坏", proof=FilePart("p.png", PNG))
    assert top.methods() == ["taobao.refund.get"]
    assert shop.refunds["100002"]["status"] == "WAIT_SELLER_CONFIRM_GOODS"


def test_evidence_is_uploaded_through_the_same_multipart_path(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    top.handle("taobao.refund.message.add",
               lambda form: {"refund_message_add_response": {"refund_message": {"id": 1}}})
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "100001")
    market.add_evidence(request, "破损照片", FilePart("d.jpg", b"\xff\xd8\xff\xe0rest"))
    sent = top.calls[-1]
    assert (sent["method"], sent["refund_id"], sent["content"]) == (
        "taobao.refund.message.add", "100001", "破损照片")
    assert top.files[len(top.calls) - 1]["image"][:2] == ("d.jpg", "image/jpeg")
