"""ApiSession: requests' environment rules, with the proxy lookup done once per host."""

from __future__ import annotations

import pytest

from aftersales.http import ApiClient
from aftersales.transport import ApiSession

URL = "https://api.example.com/v1/things"


@pytest.fixture(autouse=True)
def _clean_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                 "no_proxy", "ALL_PROXY", "all_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def test_the_environment_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    settings = ApiSession().merge_environment_settings(URL, {}, None, None, None)
    assert settings["proxies"]["https"] == "http://proxy.internal:3128"


def test_no_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "api.example.com")
    settings = ApiSession().merge_environment_settings(URL, {}, None, None, None)
    assert "https" not in settings["proxies"]


def test_an_explicit_proxy_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    mine = {"https": "http://mine:8080"}
    settings = ApiSession().merge_environment_settings(URL, mine, None, None, None)
    assert settings["proxies"]["https"] == "http://mine:8080"


def test_the_lookup_is_cached_per_host_until_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    session = ApiSession()
    assert "https" not in session.merge_environment_settings(URL, {}, None, None, None)["proxies"]
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    # Same host: the first answer stands; another host reads the environment.
    assert "https" not in session.merge_environment_settings(URL, {}, None, None, None)["proxies"]
    other = session.merge_environment_settings("https://other.example/", {}, None, None, None)
    assert other["proxies"]["https"] == "http://proxy.internal:3128"
    session.forget_environment()
    again = session.merge_environment_settings(URL, {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.internal:3128"


def test_ca_bundle_variables_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/shop-ca.pem")
    settings = ApiSession().merge_environment_settings(URL, {}, None, None, None)
    assert settings["verify"] == "/etc/ssl/shop-ca.pem"
    pinned = ApiSession().merge_environment_settings(URL, {}, None, False, None)
    assert pinned["verify"] is False


def test_trust_env_off_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = ApiSession()
    session.trust_env = False
    assert "https" not in session.merge_environment_settings(URL, {}, None, None, None)["proxies"]


def test_session_level_settings_still_merge() -> None:
    session = ApiSession()
    session.proxies = {"https": "http://session-proxy:1"}
    session.verify = "/session/ca.pem"
    settings = session.merge_environment_settings(URL, {}, None, None, None)
    assert settings["proxies"]["https"] == "http://session-proxy:1"
    assert settings["verify"] == "/session/ca.pem"


def test_api_client_builds_an_api_session() -> None:
    assert isinstance(ApiClient("demo", "https://api.example.com").session, ApiSession)
