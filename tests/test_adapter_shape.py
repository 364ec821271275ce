"""Every adapter is built the same way (``settings=``, ``api=``, ``name=``) and names are checked.

The shape is read from the classes the entry points register, so an adapter
added later (built in or third party) is held to it without editing this file.
"""

from __future__ import annotations

import inspect

import pytest
from aftersales_judgeme import JudgeMeMarketplace, JudgeMeSettings
from aftersales_shopify import ShopifyMarketplace, ShopifySettings

from aftersales import registry
from aftersales.errors import ConfigurationError
from aftersales.http import ApiClient
from aftersales.naming import MAX_LENGTH, adapter_name, check_store_name
from aftersales.sandbox import SandboxCarrier, SandboxMarketplace

#: Adapters without one of the common arguments, and why.
NO_API = {
    (registry.MARKETPLACES, "sandbox"): "simulated in memory, no HTTP",
    (registry.CARRIERS, "sandbox"): "simulated in memory, no HTTP",
    (registry.CHANNELS, "outbox"): "writes to the app's own database",
    (registry.CHANNELS, "smtp"): "speaks SMTP, not HTTP",
}
NO_SETTINGS = {
    (registry.CHANNELS, "outbox"): "takes the app's store, nothing else",
    (registry.CARRIERS, "sandbox"): "takes its simulation knobs as arguments",
}

ADAPTERS = [(group, name) for group in (registry.MARKETPLACES, registry.CARRIERS,
                                        registry.CHANNELS)
            for name in registry.available(group)]

HOSTILE = [
    "",
    " ",
    "shop eu",
    " shopify",
    "shopify\n",
    "a" * (MAX_LENGTH + 1),
    "x" * 200,
    "shop\x00eu",
    "shop\x1b[31meu",
    "shop\u202eue",  # right-to-left override
    "Shopify-EU",
    "-leading-dash",
    "店铺",
    "shop/eu",
    "shop:eu",
]


@pytest.mark.parametrize(("group", "name"), ADAPTERS)
def test_every_adapter_takes_the_common_arguments(group: str, name: str) -> None:
    cls = registry.load(group, name)
    params = inspect.signature(cls).parameters
    expected = ["name"]
    if (group, name) not in NO_SETTINGS:
        expected.append("settings")
    if (group, name) not in NO_API:
        expected.append("api")
    missing = [p for p in expected if p not in params]
    assert not missing, f"{cls.__name__} lacks {missing}"
    assert params["name"].kind is inspect.Parameter.KEYWORD_ONLY
    if "api" in params:
        assert params["api"].kind is inspect.Parameter.KEYWORD_ONLY
    assert not [p for p in params.values() if p.kind is inspect.Parameter.VAR_KEYWORD], (
        f"{cls.__name__} takes **kwargs: misspelt arguments would pass silently")


@pytest.mark.parametrize("bad", HOSTILE, ids=lambda s: repr(s)[:20])
def test_hostile_store_names_are_one_line_errors(bad: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_store_name(bad)
    text = str(caught.value)
    for raw in ("\n", "\x00", "\x1b", "\u202e"):
        assert raw not in text
    assert len(text) < 300


@pytest.mark.parametrize("bad", HOSTILE, ids=lambda s: repr(s)[:20])
def test_an_adapter_refuses_a_hostile_name(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="store name"):
        SandboxMarketplace(seed=1, orders=3, name=bad)
    with pytest.raises(ConfigurationError, match="store name"):
        ShopifyMarketplace(ShopifySettings(shop="s", access_token="t"), name=bad)


@pytest.mark.parametrize("good", ["shopify-eu", "tmall.flagship", "a", "0", "a" * MAX_LENGTH,
                                  "shop_2"])
def test_good_names_pass(good: str) -> None:
    assert check_store_name(good) == good
    assert SandboxMarketplace(seed=1, orders=3, name=good).name == good


def test_without_a_name_an_adapter_is_named_after_its_kind() -> None:
    assert adapter_name(None, "taobao") == "taobao"
    shop = ShopifyMarketplace(ShopifySettings(shop="s", access_token="t"))
    assert (shop.name, shop.kind) == ("shopify", "shopify")
    eu = ShopifyMarketplace(ShopifySettings(shop="s", access_token="t"), name="shopify-eu")
    assert (eu.name, eu.kind) == ("shopify-eu", "shopify")
    assert SandboxCarrier(name="sandbox-2").kind == "sandbox"


def test_a_given_api_client_is_used_and_masks_the_settings_secrets() -> None:
    settings = JudgeMeSettings(api_token="s3cr3t-token", shop_domain="x.myshopify.com")
    api = ApiClient("judgeme", "https://judge.me/api/v1")
    market = JudgeMeMarketplace(settings, api=api, name="judgeme-eu")
    assert market.client.api is api
    assert "s3cr3t-token" not in api.redact_url("https://judge.me/x?q=s3cr3t-token")
