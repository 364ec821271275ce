"""Shopify settings: from arguments or the environment, secrets never shown."""

from __future__ import annotations

import pytest
from aftersales_shopify import ShopifySettings

from aftersales.errors import ConfigurationError


def test_handle_or_domain_gives_the_admin_base_url() -> None:
    for shop in ("example-shop", "example-shop.myshopify.com", "https://Example-Shop.myshopify.com/"):
        s = ShopifySettings(shop=shop, access_token="t")
        assert s.base_url == "https://example-shop.myshopify.com/admin/api/2026-01"


def test_environment_and_overrides() -> None:
    env = {"SHOPIFY_SHOP": "a", "SHOPIFY_ACCESS_TOKEN": "shpat_secret_value",
           "SHOPIFY_API_VERSION": "2025-07"}
    s = ShopifySettings.from_env(env, shop="b")
    assert s.shop == "b.myshopify.com"
    assert s.api_version == "2025-07"
    assert "shpat_secret_value" not in repr(s) + str(s)


def test_missing_settings_name_the_variables() -> None:
    with pytest.raises(ConfigurationError, match="SHOPIFY_SHOP and SHOPIFY_ACCESS_TOKEN"):
        ShopifySettings.from_env({})


def test_invalid_settings_name_the_field_never_the_value() -> None:
    env = {"SHOPIFY_SHOP": "a", "SHOPIFY_ACCESS_TOKEN": "shpat_x", "SHOPIFY_API_VERSION": "v9"}
    with pytest.raises(ConfigurationError, match="api_version") as err:
        ShopifySettings.from_env(env)
    assert "shpat_x" not in str(err.value)
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


@pytest.mark.parametrize("shop", ["bad shop!", "evil.com/x"])
def test_a_shop_that_is_not_a_shopify_domain_is_refused(shop: str) -> None:
    with pytest.raises(ConfigurationError, match="shop"):
        ShopifySettings.from_env({"SHOPIFY_SHOP": shop, "SHOPIFY_ACCESS_TOKEN": "t"})
