"""Pinduoduo and JD shops configured as ``[stores.NAME]`` tables: built by kind, secrets by reference."""

from __future__ import annotations

import pytest
from aftersales_jd import JdMarketplace
from aftersales_pinduoduo import PinduoduoMarketplace

from aftersales.errors import ConfigurationError
from aftersales.stores import build_stores, check_stores

ENV = {"PDD_A_SECRET": "pdd-a-secret", "PDD_A_TOKEN": "pdd-a-token",
       "PDD_B_SECRET": "pdd-b-secret", "PDD_B_TOKEN": "pdd-b-token",
       "JD_MAIN_SECRET": "jd-secret", "JD_MAIN_TOKEN": "jd-token"}
TABLES = {
    "pdd-a": {"adapter": "pinduoduo", "client_id": "a", "client_secret": {"env": "PDD_A_SECRET"},
              "access_token": {"env": "PDD_A_TOKEN"}, "return_address_id": "1"},
    "pdd-b": {"adapter": "pinduoduo", "client_id": "b", "client_secret": {"env": "PDD_B_SECRET"},
              "access_token": {"env": "PDD_B_TOKEN"}},
    "jd-main": {"adapter": "jd", "app_key": "k", "app_secret": {"env": "JD_MAIN_SECRET"},
                "access_token": {"env": "JD_MAIN_TOKEN"}, "vender_id": "10086"},
}


def test_stores_of_both_platforms_are_built_by_kind_and_name() -> None:
    a, b, jd = build_stores(TABLES, ENV)
    assert isinstance(a, PinduoduoMarketplace)
    assert isinstance(b, PinduoduoMarketplace)
    assert isinstance(jd, JdMarketplace)
    assert (a.name, b.name, jd.name) == ("pdd-a", "pdd-b", "jd-main")
    assert (a.kind, jd.kind) == ("pinduoduo", "jd")
    assert a.settings.access_token.get_secret_value() == "pdd-a-token"
    assert b.settings.access_token.get_secret_value() == "pdd-b-token"
    assert a.client is not b.client
    assert jd.settings.vender_id == "10086"


def test_a_secret_in_plain_text_or_a_window_too_wide_is_refused_by_name() -> None:
    plain = {"pdd-a": {**TABLES["pdd-a"], "client_secret": "written-out"}}
    with pytest.raises(ConfigurationError, match=r"stores\.pdd-a\.client_secret") as info:
        check_stores(plain)
    assert "written-out" not in str(info.value)
    wide = {"pdd-a": {**TABLES["pdd-a"], "window": "PT31M"}}
    with pytest.raises(ConfigurationError, match=r"stores\.pdd-a\.window"):
        build_stores(wide, ENV)
