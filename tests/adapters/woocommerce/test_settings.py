"""WooCommerce settings: from arguments or the environment, secrets never shown."""

from __future__ import annotations

import pytest
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings

from aftersales.errors import ConfigurationError

ENV = {"WOOCOMMERCE_URL": "https://shop.example.com/", "WOOCOMMERCE_CONSUMER_KEY": "ck_abcdef",
       "WOOCOMMERCE_CONSUMER_SECRET": "cs_ghijkl"}


def test_environment_gives_the_v3_base_url() -> None:
    s = WooCommerceSettings.from_env(ENV)
    assert s.base_url == "https://shop.example.com/wp-json/wc/v3"
    assert not s.query_string_auth
    assert "ck_abcdef" not in repr(s)
    assert "cs_ghijkl" not in repr(s)


def test_query_string_auth_from_the_environment() -> None:
    s = WooCommerceSettings.from_env({**ENV, "WOOCOMMERCE_QUERY_STRING_AUTH": "true"})
    assert s.query_string_auth


def test_missing_settings_name_the_variables() -> None:
    with pytest.raises(ConfigurationError, match="WOOCOMMERCE_CONSUMER_SECRET"):
        WooCommerceSettings.from_env({k: v for k, v in ENV.items() if "SECRET" not in k})


def test_plain_http_is_refused_without_echoing_secrets() -> None:
    with pytest.raises(ConfigurationError, match="url") as err:
        WooCommerceSettings.from_env({**ENV, "WOOCOMMERCE_URL": "http://shop.example.com"})
    assert "cs_ghijkl" not in str(err.value)


def test_the_adapter_builds_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert WooCommerceMarketplace().settings.url == "https://shop.example.com"
