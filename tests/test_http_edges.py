"""ApiClient at its edges: redirects to other hosts, slow-drip answers, hostile headers."""

from __future__ import annotations

import pytest
import responses

from aftersales.errors import RemoteRejectedError
from aftersales.http import ApiClient

BASE = "https://api.example.test"


def _client(**kw: object) -> ApiClient:
    return ApiClient("edgy", BASE, max_attempts=1, sleep=lambda _: None, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_refused_even_without_secrets(status: int) -> None:
    """No credential on the call, still no hop: data must not go where the shop never pointed."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/orders", status=status,
                 headers={"Location": "https://collector.example.net/grab?token=abc123&x=1"})
        mock.get("https://collector.example.net/grab", json={"ok": True})
        with pytest.raises(RemoteRejectedError) as caught:
            _client().get("orders")
        assert [c.request.url for c in mock.calls] == [f"{BASE}/orders"]
    text = str(caught.value)
    assert "from api.example.test to another host, collector.example.net" in text
    assert "abc123" not in text
    assert "token" not in text
    assert "\n" not in text


def test_a_redirect_to_another_port_of_the_same_host_is_followed() -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/a", status=302, headers={"Location": "https://api.example.test:8443/b"})
        mock.get("https://api.example.test:8443/b", json={"ok": True})
        assert _client().get("a") == {"ok": True}


def test_a_same_host_redirect_chain_is_followed() -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/a", status=301, headers={"Location": "/b"})
        mock.get(f"{BASE}/b", status=307, headers={"Location": "https://API.example.test/c"})
        mock.get(f"{BASE}/c", json={"ok": 3})
        assert _client().get("a") == {"ok": 3}


def test_hosts_an_adapter_allows_may_be_redirected_to() -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/a", status=302, headers={"Location": "https://cdn.example.net/file"})
        mock.get("https://cdn.example.net/file", json={"ok": True})
        assert _client(redirect_hosts={"CDN.example.net"}).get("a") == {"ok": True}


def test_an_allowed_host_cannot_send_the_call_on_to_a_third_one() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/a", status=302, headers={"Location": "https://cdn.example.net/file"})
        mock.get("https://cdn.example.net/file", status=302,
                 headers={"Location": "https://evil.example.org/x"})
        with pytest.raises(RemoteRejectedError, match=r"evil\.example\.org"):
            _client(redirect_hosts={"cdn.example.net"}).get("a")
        assert len(mock.calls) == 2


def test_an_adapter_client_names_the_hosts_it_trusts() -> None:
    from aftersales.settings import AdapterClient, AdapterSettings

    class Settings(AdapterSettings):
        adapter_name = "edgy"
        base_url: str = BASE

    class Trusting(AdapterClient[Settings]):
        redirect_hosts = frozenset({"cdn.example.net"})

    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/a", status=302, headers={"Location": "https://cdn.example.net/f"})
        mock.get("https://cdn.example.net/f", json={"ok": True})
        assert Trusting(Settings()).api.get("a") == {"ok": True}
    assert AdapterClient(Settings()).api.redirect_hosts == frozenset()
