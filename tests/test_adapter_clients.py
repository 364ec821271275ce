"""Douyin's and Taobao's clients are the core's AdapterClient: one set-up for every adapter.

An injected ApiClient (tests, a custom transport) is given the client's error
classifier and every secret of the settings to mask, as a built one is.
"""

from __future__ import annotations

from typing import Any

import pytest
from aftersales_douyin.client import DouyinClient
from aftersales_taobao.client import TaobaoClient

from aftersales.http import ApiClient
from aftersales.settings import AdapterClient
from tests.adapters.douyin.conftest import make_settings as douyin_settings
from tests.adapters.taobao.conftest import make_settings as taobao_settings


@pytest.mark.parametrize(("client_class", "settings"), [
    (DouyinClient, douyin_settings), (TaobaoClient, taobao_settings),
], ids=["douyin", "taobao"])
def test_an_injected_api_masks_every_secret_and_classifies_for_the_client(
        client_class: Any, settings: Any) -> None:
    shop = settings()
    api = ApiClient(shop.adapter_name, "https://example.invalid")
    client = client_class(shop, api=api)
    assert isinstance(client, AdapterClient)
    assert client.api is api
    assert api.classify_error == client.classify
    secrets = shop.secret_values()
    assert len(secrets) >= 2
    masked = api.excerpt("answer: " + " ".join(secrets))
    for secret in secrets:
        assert secret not in masked


@pytest.mark.parametrize(("client_class", "settings"), [
    (DouyinClient, douyin_settings), (TaobaoClient, taobao_settings),
], ids=["douyin", "taobao"])
def test_a_built_api_masks_every_secret_too(client_class: Any, settings: Any) -> None:
    shop = settings()
    client = client_class(shop, sleep=lambda _s: None)
    assert client.api.classify_error == client.classify
    masked = client.api.excerpt(" ".join(shop.secret_values()))
    for secret in shop.secret_values():
        assert secret not in masked
