"""The one carrier-name table: the names each platform documents find their carrier."""

from __future__ import annotations

import pytest

from aftersales.logistics.carrier_names import carrier_for_name, known_codes, normalize

#: Taobao/TOP: 中通速递 is the company_name of taobao.logistics.trace.search's own
#: example, 申通快递 that of the Refund example; the rest are the company names
#: TOP and Kuaidi100 print for the same couriers (快递 / 速递 / 速运 / 物流 variants).
TAOBAO = {
    "中通速递": "zto", "中通快递": "zto", "申通快递": "sto", "顺丰速运": "sf", "顺丰快递": "sf",
    "圆通速递": "yto", "圆通快递": "yto", "韵达快递": "yunda", "韵达速递": "yunda",
    "极兔速递": "jtexpress", "德邦快递": "deppon", "德邦物流": "deppon", "京东快递": "jd",
    "京东物流": "jd", "EMS": "ems", "邮政EMS": "ems", "邮政快递包裹": "chinapost",
    "百世快递": "best", "宅急送": "zjs", "菜鸟速递": "cainiao", "申通E物流": "sto",
}

#: Shopify: names from FulfillmentTrackingInfo.company's "Supported tracking companies"
#: (shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentTrackingInfo).
SHOPIFY = {
    "4PX": "4px", "China Post": "chinapost", "DHL eCommerce": "dhl",
    "DHL eCommerce Asia": "dhl", "DHL Express": "dhl", "FedEx": "fedex", "UPS": "ups",
    "USPS": "usps", "SF Express": "sf", "YunExpress": "yunexpress",
}

#: Free text shops type (WooCommerce Shipment Tracking's custom provider, Shopify's
#: "Other"): case, spaces and punctuation vary.
TYPED = {
    "S.F. Express": "sf", " sf-express ": "sf", "ZTO Express": "zto", "J&T Express": "jtexpress",
    "ＳＦ　Ｅｘｐｒｅｓｓ": "sf", "china-post": "chinapost", "JD Logistics": "jd",
}


@pytest.mark.parametrize(("name", "code"), sorted(TAOBAO.items()))
def test_taobao_names(name: str, code: str) -> None:
    assert carrier_for_name(name) == code


@pytest.mark.parametrize(("name", "code"), sorted(SHOPIFY.items()))
def test_shopify_names(name: str, code: str) -> None:
    assert carrier_for_name(name) == code


@pytest.mark.parametrize(("name", "code"), sorted(TYPED.items()))
def test_names_as_shops_type_them(name: str, code: str) -> None:
    assert carrier_for_name(name) == code


@pytest.mark.parametrize("name", ["中通快运", "顺丰快运", "韵达快运", "某某快递", "快递", "", None])
def test_freight_arms_and_unknown_names_find_nothing(name: str | None) -> None:
    """快运 is a separate freight company of the group, never its parcel arm."""
    assert carrier_for_name(name) is None


def test_every_code_is_one_the_tracking_adapters_know_or_passes_through() -> None:
    assert {"sf", "zto", "yto", "sto", "yunda", "jd", "ems", "chinapost", "jtexpress",
            "deppon", "ups", "fedex", "usps", "dhl"} <= known_codes()
    assert normalize("  S.F. Express ") == "sfexpress"


def test_marketplace_adapters_share_the_table() -> None:
    from aftersales_shopify import mapping as shopify
    from aftersales_taobao import mapping as taobao

    assert taobao.carrier_code("中通速递") == "zto"
    assert shopify._carrier("China Post") == "chinapost"  # was "ems" in Shopify's own table
    assert shopify._carrier("Some Local Courier") == "some local courier"
