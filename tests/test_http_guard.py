"""https only, and credentials kept on their own origin across redirects."""

from __future__ import annotations

import logging

import pytest
import responses

from aftersales.errors import ConfigurationError, RemoteError, RemoteRejectedError
from aftersales.http import ApiClient
from aftersales.http_guard import check_url, same_origin
from aftersales.redact import RedactingFilter

TOKEN = "shpat_guard_0123456789abcdef"


def client(**kw: object) -> ApiClient:
    return ApiClient("guarded", "https://api.example.test", max_attempts=1,
                     headers={"X-Shopify-Access-Token": TOKEN}, secrets=[TOKEN], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", [
    "http://api.example.test/orders",
    "ftp://api.example.test/orders",
    "https://user:hunter22@api.example.test/orders",
])
def test_non_https_or_credentialed_urls_are_refused_before_sending(url: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        with pytest.raises(ConfigurationError) as caught:
            client().get(url)
        assert len(mock.calls) == 0
    assert "hunter22" not in str(caught.value)


def test_loopback_and_explicitly_allowed_hosts_may_use_http() -> None:
    check_url("http://127.0.0.1:8080/x", "t")
    check_url("http://localhost/x", "t")
    check_url("http://fake-shop.internal/x", "t", {"fake-shop.internal"})
    with pytest.raises(ConfigurationError):
        check_url("http://fake-shop.internal/x", "t")


def test_a_same_origin_redirect_keeps_the_credential() -> None:
    with responses.RequestsMock() as mock:
        mock.get("https://api.example.test/a", status=302,
                 headers={"Location": "/b"})
        mock.get("https://api.example.test/b", json={"ok": True})
        assert client().get("a") == {"ok": True}
        assert mock.calls[1].request.headers["X-Shopify-Access-Token"] == TOKEN


def test_a_307_to_an_allowed_host_keeps_method_and_body_but_not_the_credential() -> None:
    with responses.RequestsMock() as mock:
        mock.post("https://api.example.test/a", status=307,
                  headers={"Location": "https://other.example.net/b"})
        mock.post("https://other.example.net/b", json={"ok": True})
        allowed = client(redirect_hosts={"other.example.net"})
        assert allowed.post("a", json={"x": 1}, idempotent=True) == {"ok": True}
        moved = mock.calls[1].request
        assert moved.method == "POST"
        assert moved.body == b'{"x": 1}'
        assert "X-Shopify-Access-Token" not in moved.headers


def test_a_redirect_loop_ends() -> None:
    with responses.RequestsMock() as mock:
        mock.get("https://api.example.test/a", status=302,
                 headers={"Location": "https://api.example.test/a"})
        with pytest.raises(RemoteError, match="redirects"):
            client().get("a")


def test_origins() -> None:
    assert same_origin("https://a.test/x", "https://a.test:443/y")
    assert not same_origin("https://a.test/x", "http://a.test/x")
    assert not same_origin("https://a.test/x", "https://b.test/x")


def test_the_filter_masks_any_record(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tests.filtered")
    log.addFilter(RedactingFilter())
    caplog.set_level(logging.INFO)
    log.info("buyer %s called from %s", "alice@example.com", "13812345678")
    assert caplog.records[0].getMessage() == "buyer a***@example.com called from ***5678"


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("body", [
    {"data": {"access_token": TOKEN, "type": "pdd.refund.list.increment.get"}},  # router form
    {"json": {"token": TOKEN}},
    {"data": f"access_token={TOKEN}&x=1"},
    {"data": f"access_token={TOKEN}".encode()},
    {"data": "access_token=" + "".join(f"%{ord(c):02X}" for c in TOKEN)},  # encoded by hand
])
def test_a_307_or_308_to_another_host_never_carries_a_secret_in_the_body(
    status: int, body: dict[str, object]
) -> None:
    """The body goes along on 307/308; a token in a router's form must not reach another host."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post("https://api.example.test/a", status=status,
                  headers={"Location": "https://collector.example.net/b"})
        mock.post("https://collector.example.net/b", json={"ok": True})
        allowed = client(redirect_hosts={"collector.example.net"})  # the host rule aside
        with pytest.raises(RemoteRejectedError, match=r"credential in the body") as caught:
            allowed.post("a", idempotent=True, **body)  # type: ignore[arg-type]
        assert [c.request.url for c in mock.calls] == ["https://api.example.test/a"]
    assert TOKEN not in str(caught.value)
