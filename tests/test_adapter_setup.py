"""The Chinese adapters' shared constructor: ``aftersales.adapter_setup.ClientMarketplace``.

Every option reaches the adapter and its client, each adapter's own set-up
(``connected``) still runs, and a misspelt option is refused, never dropped
(a lost ``clock=`` would leave an adapter signing with the wall clock).
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from aftersales_douyin import DouyinMarketplace
from aftersales_jd import JdMarketplace
from aftersales_jd.settings import RECEIVE_CODE_FIELDS
from aftersales_pinduoduo import PinduoduoMarketplace
from aftersales_taobao import TaobaoMarketplace

from aftersales.interfaces import Capability
from tests.adapters.douyin.conftest import make_settings as douyin_settings
from tests.adapters.jd.conftest import make_settings as jd_settings
from tests.adapters.pinduoduo.conftest import make_settings as pdd_settings
from tests.adapters.taobao.conftest import make_settings as taobao_settings

ADAPTERS = [(DouyinMarketplace, douyin_settings), (PinduoduoMarketplace, pdd_settings),
            (JdMarketplace, jd_settings), (TaobaoMarketplace, taobao_settings)]
IDS = ["douyin", "pinduoduo", "jd", "taobao"]
THEN = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(("cls", "settings"), ADAPTERS, ids=IDS)
def test_a_misspelt_option_is_refused_not_dropped(cls: Any, settings: Any) -> None:
    with pytest.raises(TypeError, match="'clocks'"):
        cls(settings(), clocks=lambda: THEN)


@pytest.mark.parametrize(("cls", "settings"), ADAPTERS, ids=IDS)
def test_the_options_reach_the_adapter_and_its_client(cls: Any, settings: Any) -> None:
    shop = cls(settings(), name="shop-a", clock=lambda: THEN, sleep=lambda _s: None)
    assert shop.name == "shop-a"
    assert shop.clock() == THEN
    assert shop.client.clock() == THEN
    assert "name" in inspect.signature(cls).parameters  # stores build it with name=
    plain = cls(settings())
    assert plain.clock().tzinfo is not None


def test_each_adapter_still_does_its_own_set_up() -> None:
    jd = JdMarketplace(jd_settings(vender_id="10086", receive_codes=dict.fromkeys(RECEIVE_CODE_FIELDS, 1)))
    assert jd.services.client is jd.client
    assert Capability.CONFIRM_RETURN_RECEIVED in jd.capabilities
    assert Capability.CONFIRM_RETURN_RECEIVED not in JdMarketplace(jd_settings()).capabilities
    assert Capability.REPLY_REVIEW in TaobaoMarketplace(taobao_settings(tmall=True)).capabilities
    assert Capability.REPLY_REVIEW not in TaobaoMarketplace(taobao_settings()).capabilities
