"""Taobao settings: from the constructor or TAOBAO_* variables, secrets never shown."""

from __future__ import annotations

import pytest
from aftersales_taobao import TaobaoMarketplace, TaobaoSettings
from aftersales_taobao.settings import DEFAULT_GATEWAY, ReturnAddress

from aftersales.errors import ConfigurationError
from aftersales.interfaces import Capability

ENV = {"TAOBAO_APP_KEY": "12345678", "TAOBAO_APP_SECRET": "s3cr3t-value",
       "TAOBAO_SESSION": "session-value-123", "TAOBAO_RETURN_NAME": "售后仓",
       "TAOBAO_RETURN_ADDRESS": "杭州市某路2号", "TAOBAO_RETURN_POST": "310000",
       "TAOBAO_RETURN_MOBILE": "13900000000"}


def test_from_environment() -> None:
    s = TaobaoSettings.from_env(ENV)
    assert s.app_key == "12345678"
    assert s.app_secret.get_secret_value() == "s3cr3t-value"
    assert s.session.get_secret_value() == "session-value-123"
    assert s.gateway_url == DEFAULT_GATEWAY
    assert s.sign_method == "md5"
    assert s.tmall is False


def test_options_from_environment_and_overrides_win() -> None:
    env = {**ENV, "TAOBAO_SIGN_METHOD": "hmac-sha256", "TAOBAO_TMALL": "true",
           "TAOBAO_GATEWAY_URL": "https://gw.api.tbsandbox.com/router/rest"}
    s = TaobaoSettings.from_env(env, app_key="override")
    assert (s.sign_method, s.tmall, s.app_key) == ("hmac-sha256", True, "override")
    assert s.gateway_url.startswith("https://gw.api.tbsandbox.com")


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(ConfigurationError, match="TAOBAO_APP_SECRET, TAOBAO_SESSION"):
        TaobaoSettings.from_env({"TAOBAO_APP_KEY": "k"})


def test_bad_value_names_the_field_not_the_secret() -> None:
    with pytest.raises(ConfigurationError, match="sign_method") as info:
        TaobaoSettings.from_env({**ENV, "TAOBAO_SIGN_METHOD": "sha1"})
    assert "s3cr3t-value" not in str(info.value)


def test_secrets_stay_out_of_repr() -> None:
    s = TaobaoSettings.from_env(
        ENV, return_address=ReturnAddress(name="仓库", address="杭州市某路1号", post="310000",
                                          mobile="13812345678"))
    shown = repr(s) + str(s)
    for secret in ("s3cr3t-value", "session-value-123", "13812345678", "杭州市某路1号"):
        assert secret not in shown


def test_adapter_reads_the_environment_when_built_without_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    market = TaobaoMarketplace()
    assert market.settings.app_key == "12345678"
    assert Capability.REPLY_REVIEW not in market.capabilities


def test_adapter_without_credentials_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ENV:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigurationError, match="TAOBAO_APP_KEY"):
        TaobaoMarketplace()


def test_tmall_shops_can_explain_ratings() -> None:
    market = TaobaoMarketplace(TaobaoSettings.from_env({**ENV, "TAOBAO_TMALL": "1"}))
    assert Capability.REPLY_REVIEW in market.capabilities


def test_registered_by_entry_point() -> None:
    from aftersales import registry

    assert registry.load(registry.MARKETPLACES, "taobao") is TaobaoMarketplace


@pytest.mark.parametrize("hours", [0, 25])
def test_listing_window_is_at_most_one_day(hours: int) -> None:
    from datetime import timedelta

    with pytest.raises(ConfigurationError, match="window"):
        TaobaoSettings.from_env(ENV, window=timedelta(hours=hours))
