"""Stores from configuration: ``[stores.NAME]`` tables, secrets by reference, hostile input.

Every refusal is one line naming the store and the key, raised before the
database file exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aftersales_shopify import ShopifyMarketplace
from aftersales_taobao import TaobaoMarketplace

from aftersales import AfterSales
from aftersales.config import AfterSalesSettings
from aftersales.errors import ConfigurationError
from aftersales.sandbox import SandboxMarketplace
from aftersales.stores import build_store, check_stores

SECRETS = {
    "SHOPIFY_US_TOKEN": "shpat_us_0000", "SHOPIFY_EU_TOKEN": "shpat_eu_1111",
    "TMALL_APP_SECRET": "tmall-secret-2222", "TMALL_SESSION": "tmall-session-3333",
    "OUTLET_APP_SECRET": "outlet-secret-4444", "OUTLET_SESSION": "outlet-session-5555",
    "OUTLET_MOBILE": "13800000000",
}

FOUR_STORES = """
[stores.shopify-us]
adapter = "shopify"
shop = "us-shop"
access_token = { env = "SHOPIFY_US_TOKEN" }

[stores.shopify-eu]
adapter = "shopify"
shop = "eu-shop.myshopify.com"
access_token = { env = "SHOPIFY_EU_TOKEN" }
page_size = 100

[stores.tmall-flagship]
adapter = "taobao"
app_key = "11110000"
app_secret = { env = "TMALL_APP_SECRET" }
session = { env = "TMALL_SESSION" }
tmall = true

[stores.taobao-outlet]
adapter = "taobao"
app_key = "22220000"
app_secret = { env = "OUTLET_APP_SECRET" }
session = { env = "OUTLET_SESSION" }
seller_address_id = "9"
return_address = { name = "Returns desk", address = "1 Road, Hangzhou", post = "310000", mobile = { env = "OUTLET_MOBILE" } }
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def _write(tmp_path: Path, text: str) -> Path:
    db = tmp_path / "app.db"
    path = tmp_path / "aftersales.toml"
    path.write_text(f'database_url = "sqlite:///{db}"\n{text}', encoding="utf-8")
    return path


def _refused(tmp_path: Path, text: str) -> str:
    """The one-line error building an app from ``text`` raises; asserts nothing was written."""
    with pytest.raises(ConfigurationError) as caught:
        AfterSales(config=_write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    assert not (tmp_path / "app.db").exists(), "the database was touched before the refusal"
    for secret in SECRETS.values():
        assert secret not in message
    return message


def test_two_shopify_and_two_taobao_stores_load_and_build(tmp_path: Path, env: None) -> None:
    with AfterSales(config=_write(tmp_path, FOUR_STORES)) as app:
        markets = app.marketplaces
        assert list(markets) == ["shopify-us", "shopify-eu", "tmall-flagship", "taobao-outlet"]
        us, eu = markets["shopify-us"], markets["shopify-eu"]
        tmall, outlet = markets["tmall-flagship"], markets["taobao-outlet"]
        assert isinstance(us, ShopifyMarketplace)
        assert isinstance(eu, ShopifyMarketplace)
        assert isinstance(tmall, TaobaoMarketplace)
        assert isinstance(outlet, TaobaoMarketplace)
        assert (us.kind, eu.kind, tmall.kind, outlet.kind) == ("shopify",) * 2 + ("taobao",) * 2
        assert (us.settings.shop, eu.settings.shop) == ("us-shop.myshopify.com",
                                                        "eu-shop.myshopify.com")
        assert us.settings.access_token.get_secret_value() == "shpat_us_0000"
        assert eu.settings.access_token.get_secret_value() == "shpat_eu_1111"
        assert eu.settings.page_size == 100
        assert tmall.settings.tmall
        assert not outlet.settings.tmall
        assert tmall.settings.session.get_secret_value() == "tmall-session-3333"
        assert outlet.settings.return_address is not None
        assert outlet.settings.return_address.mobile.get_secret_value() == "13800000000"
        # The settings keep references, never the secrets themselves.
        assert "shpat_" not in repr(app.settings.stores)


def test_stores_come_by_keyword_too(tmp_path: Path) -> None:
    with AfterSales(f"sqlite:///{tmp_path / 'k.db'}", stores={
        "north": {"adapter": "sandbox", "seed": 1, "orders": 5},
        "south": {"adapter": "sandbox", "seed": 1, "orders": 7},
    }) as app:
        north, south = app.marketplace("north"), app.marketplace("south")
        assert isinstance(north, SandboxMarketplace)
        assert isinstance(south, SandboxMarketplace)
        assert (north.name, south.name) == ("north", "south")
        assert sum(len(p.items) for p in north.list_orders()) == 5
        assert sum(len(p.items) for p in south.list_orders()) == 7


def test_given_marketplaces_replace_the_configured_ones(tmp_path: Path, env: None) -> None:
    with AfterSales(config=_write(tmp_path, FOUR_STORES),
                    marketplaces=[SandboxMarketplace(seed=1, orders=3)]) as app:
        assert list(app.marketplaces) == ["sandbox"]


@pytest.mark.parametrize(("table", "wanted"), [
    ('[stores.""]\nadapter = "sandbox"', "store name ''"),
    ('[stores." "]\nadapter = "sandbox"', "store name ' '"),
    ('[stores."shop eu"]\nadapter = "sandbox"', "store name 'shop eu'"),
    (f'[stores.{"x" * 200}]\nadapter = "sandbox"', "store name 'xxxx"),
    ('[stores."shop\\u0000eu"]\nadapter = "sandbox"', "store name 'shop\\x00eu'"),
    ('[stores."shop\\u001b[31m"]\nadapter = "sandbox"', "store name 'shop\\x1b[31m'"),
    ('[stores."shop\\n2"]\nadapter = "sandbox"', "store name 'shop\\n2'"),
    ('[stores.Shop]\nadapter = "sandbox"', "store name 'Shop'"),
])
def test_a_hostile_store_name_is_refused(tmp_path: Path, table: str, wanted: str) -> None:
    message = _refused(tmp_path, table)
    assert wanted in message
    assert len(message) < 300


def test_an_unknown_adapter_kind_names_the_store_and_the_closest_kind(tmp_path: Path) -> None:
    message = _refused(tmp_path, '[stores.eu]\nadapter = "shopfy"')
    assert message.startswith("stores.eu.adapter: unknown adapter kind 'shopfy'")
    assert "did you mean 'shopify'" in message


def test_a_store_without_an_adapter_is_refused(tmp_path: Path) -> None:
    assert _refused(tmp_path, '[stores.eu]\nshop = "x"').startswith(
        'stores.eu: needs adapter = "KIND"')


def test_an_unknown_key_names_the_store_and_suggests(tmp_path: Path) -> None:
    message = _refused(tmp_path, '[stores.eu]\nadapter = "shopify"\nshop = "x"\n'
                                 'acess_token = { env = "SHOPIFY_EU_TOKEN" }')
    assert message == "stores.eu: unknown setting 'acess_token'; did you mean 'access_token'?"


@pytest.mark.parametrize(("key", "table"), [
    ("access_token", '[stores.eu]\nadapter = "shopify"\nshop = "x"\naccess_token = "shpat_eu_1111"'),
    ("app_secret", '[stores.tm]\nadapter = "taobao"\napp_key = "1"\napp_secret = "tmall-secret-2222"'
                   '\nsession = { env = "TMALL_SESSION" }'),
    ("return_address.mobile",
     '[stores.tb]\nadapter = "taobao"\napp_key = "1"\napp_secret = { env = "A" }\n'
     'session = { env = "B" }\nreturn_address = { name = "n", address = "a", post = "p", '
     'mobile = "13800000000" }'),
])
def test_a_plain_secret_in_the_file_is_refused_by_name(tmp_path: Path, key: str,
                                                        table: str) -> None:
    message = _refused(tmp_path, table)
    store = table.split("]")[0].removeprefix("[")
    assert message.startswith(f"{store}.{key}: a secret is never written in the settings")
    assert "{ env = \"VARIABLE\" }" in message


def test_a_plain_secret_by_keyword_is_refused_too() -> None:
    with pytest.raises(ConfigurationError, match=r"stores\.eu\.access_token: a secret"):
        AfterSalesSettings(stores={"eu": {"adapter": "shopify", "shop": "x",
                                          "access_token": "shpat_eu_1111"}})


def test_an_unset_variable_names_the_store_key_and_variable(
    tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPIFY_EU_TOKEN")
    message = _refused(tmp_path, FOUR_STORES)
    assert message == "stores.shopify-eu.access_token: environment variable SHOPIFY_EU_TOKEN " \
                      "is not set"


def test_an_empty_variable_counts_as_unset(
    tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMALL_SESSION", "")
    assert _refused(tmp_path, FOUR_STORES).startswith("stores.tmall-flagship.session:")


@pytest.mark.parametrize("reference", [
    '{ env = "" }', '{ env = " " }', '{ env = "A B" }', '{ env = "A", default = "x" }',
    "{ env = 3 }", '{ env = "A\\nB" }',
])
def test_a_malformed_reference_is_refused(tmp_path: Path, reference: str) -> None:
    message = _refused(tmp_path, f'[stores.eu]\nadapter = "shopify"\nshop = "x"\n'
                                 f"access_token = {reference}")
    assert message.startswith("stores.eu.access_token: write a reference as")


def test_a_value_the_adapter_refuses_names_the_store_and_key_not_the_value(
    tmp_path: Path, env: None
) -> None:
    message = _refused(tmp_path, '[stores.eu]\nadapter = "shopify"\nshop = "bad shop!"\n'
                                 'access_token = { env = "SHOPIFY_EU_TOKEN" }')
    assert message.startswith("stores.eu.shop: shop must be a handle")
    assert "bad shop!" not in message


def test_an_adapter_s_own_refusal_names_the_store(tmp_path: Path, env: None) -> None:
    # A plain Taobao shop needs its return address (the adapter's own rule).
    message = _refused(tmp_path, '[stores.tb]\nadapter = "taobao"\napp_key = "1"\n'
                                 'app_secret = { env = "OUTLET_APP_SECRET" }\n'
                                 'session = { env = "OUTLET_SESSION" }')
    assert message.startswith("stores.tb: taobao: a Taobao (non-Tmall) shop needs return_address")


def test_a_store_named_like_a_configured_kind_clashes(tmp_path: Path) -> None:
    message = _refused(tmp_path, 'marketplaces = ["sandbox"]\n'
                                 '[stores.sandbox]\nadapter = "sandbox"\nseed = 2')
    assert message.startswith("two marketplace adapters are both named 'sandbox'")
    assert "its own name" in message


def test_two_unnamed_adapters_of_one_kind_clash(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="both named 'sandbox'"):
        AfterSales(f"sqlite:///{tmp_path / 'app.db'}",
                   marketplaces=[SandboxMarketplace(seed=1), SandboxMarketplace(seed=2)])
    assert not (tmp_path / "app.db").exists()


def test_stores_must_be_tables() -> None:
    with pytest.raises(ConfigurationError, match="one table per store"):
        check_stores(["eu"])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"stores\.eu: give a table"):
        check_stores({"eu": "shopify"})


def test_build_store_reads_the_given_environment() -> None:
    table = check_stores({"eu": {"adapter": "shopify", "shop": {"env": "EU_SHOP"},
                                 "access_token": {"env": "EU_TOKEN"}}})["eu"]
    market = build_store("eu", table, {"EU_SHOP": "eu-shop", "EU_TOKEN": "t"})
    assert isinstance(market, ShopifyMarketplace)
    assert (market.name, market.settings.shop) == ("eu", "eu-shop.myshopify.com")
