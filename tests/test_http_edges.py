"""ApiClient at its edges: redirects to other hosts, slow-drip answers, hostile headers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
import responses

from aftersales.errors import (
    AfterSalesError,
    ConfigurationError,
    RemoteError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
)
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


# ---------------------------------------------------------------- real sockets


class Drip:
    """A local HTTP server that answers every connection with ``head`` at once, then
    ``body`` one byte every ``every`` seconds (until the client goes away: then
    :attr:`cut` is set)."""

    def __init__(self, head: bytes, body: bytes, every: float) -> None:
        self.head, self.body, self.every = head, body, every
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        self.cut = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(self.head)
                    for i in range(len(self.body)):
                        if self.stop.wait(self.every if i else 0):
                            return
                        conn.sendall(self.body[i:i + 1])
                except OSError:
                    self.cut.set()  # the client hung up before the whole answer
                    continue

    def close(self) -> None:
        self.stop.set()
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def drip() -> Iterator[Callable[[bytes, bytes, float], Drip]]:
    made: list[Drip] = []

    def start(head: bytes, body: bytes, every: float) -> Drip:
        made.append(Drip(head, body, every))
        return made[-1]

    yield start
    for server in made:
        server.close()


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_a_slow_drip_answer_ends_at_the_call_deadline(
        drip: Callable[[bytes, bytes, float], Drip], framing: str) -> None:
    """One byte every 0.3 s never trips the 2 s read timeout; the 1 s deadline ends it.

    Without the deadline the whole answer arrives after some 12 s (a minute
    chunked) and the call succeeds."""
    body = b'{"orders": [' + b"1," * 12 + b"1]}"
    heads = {
        "length": f"Content-Length: {len(body)}\r\n",
        "chunked": "Transfer-Encoding: chunked\r\n",
        "close": "Connection: close\r\n",
    }
    if framing == "chunked":
        body = b"".join(b"1\r\n" + body[i:i + 1] + b"\r\n" for i in range(len(body))) + b"0\r\n\r\n"
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{heads[framing]}\r\n".encode()
    server = drip(head, body, 0.3)
    api = ApiClient("edgy", f"http://127.0.0.1:{server.port}", timeout=(2.0, 2.0), deadline=1.0,
                    max_attempts=1)
    with pytest.raises(TransientError) as caught:
        api.get("orders?token=abc123")
    assert server.cut.wait(10), "the client read on instead of hanging up at its deadline"
    text = str(caught.value)
    assert "127.0.0.1" in text
    assert "1 s" in text
    assert "abc123" not in text
    assert "\n" not in text


def test_the_deadline_defaults_to_two_minutes_and_never_cuts_a_read_timeout_short() -> None:
    assert ApiClient("edgy", BASE).deadline == 120.0
    assert ApiClient("edgy", BASE, timeout=(10.0, 300.0)).deadline == 310.0
    assert ApiClient("edgy", BASE, timeout=(10.0, 300.0), deadline=5).deadline == 5.0
    with pytest.raises(ValueError, match="deadline"):
        ApiClient("edgy", BASE, deadline=0)


def test_an_adapter_reads_its_deadline_from_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from aftersales.settings import AdapterSettings

    class Settings(AdapterSettings):
        adapter_name = "edgy"
        base_url: str = BASE

    assert Settings().api_client().deadline == 120.0
    assert Settings(deadline=7.5).api_client().deadline == 7.5
    monkeypatch.setenv("EDGY_DEADLINE", "9")
    assert Settings.from_env().api_client().deadline == 9.0
    monkeypatch.setenv("EDGY_DEADLINE", "-1")
    with pytest.raises(ConfigurationError, match="deadline"):
        Settings.from_env()


def test_a_quick_answer_over_a_real_socket_still_reads_whole(
        drip: Callable[[bytes, bytes, float], Drip]) -> None:
    body = b'{"ok": true}'
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    server = drip(head, body, 0.0)
    api = ApiClient("edgy", f"http://127.0.0.1:{server.port}", deadline=5, max_attempts=1)
    assert api.get("x") == {"ok": True}


# ---------------------------------------------------------------- hostile answers


@pytest.fixture
def answer() -> Iterator[Callable[[bytes], ApiClient]]:
    """A client of a local server that answers its first call with these raw bytes."""
    made: list[Drip] = []

    def start(raw: bytes) -> ApiClient:
        made.append(Drip(raw, b"", 0.0))
        return ApiClient("edgy", f"http://127.0.0.1:{made[-1].port}", max_attempts=1,
                         timeout=(2.0, 2.0), deadline=5.0)

    yield start
    for server in made:
        server.close()


def _raw(head: str, body: bytes = b"{}") -> bytes:
    return f"HTTP/1.1 {head}\r\n\r\n".encode("latin-1") + body


HOSTILE_HEADS = {
    "two lengths": ("200 OK\r\nContent-Length: 2\r\nContent-Length: 5", b"{}"),
    "a length list": ("200 OK\r\nContent-Length: 2, 5", b"{}"),
    "a short body": ("200 OK\r\nContent-Length: 10", b"{}"),
    "a bad chunk size": ("200 OK\r\nTransfer-Encoding: chunked", b"zz\r\n{}\r\n0\r\n\r\n"),
    "a gzip that is not": ("200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4", b"abcd"),
    "a status that is not": ("abc OK", b"{}"),
    "200 headers": ("200 OK\r\n" + "".join(f"X-A{i}: 1\r\n" for i in range(200)), b"{}"),
    "a 70 kB header": ("200 OK\r\nX-A: " + "a" * 70000, b"{}"),
    "a bad IPv6 Location": ("302 Found\r\nLocation: http://[::1\r\nContent-Length: 0", b""),
    "a Location port past 65535": ("302 Found\r\nLocation: http://127.0.0.1:99999/x\r\n"
                                   "Content-Length: 0", b""),
}


@pytest.mark.parametrize("case", list(HOSTILE_HEADS))
def test_a_hostile_answer_is_one_line_naming_the_host(
        answer: Callable[[bytes], ApiClient], case: str) -> None:
    head, body = HOSTILE_HEADS[case]
    api = answer(_raw(head, body))
    with pytest.raises(AfterSalesError) as caught:
        api.get("x?token=abc123")
    text = str(caught.value)
    assert "127.0.0.1" in text, text
    assert "abc123" not in text
    assert "\n" not in text


@pytest.mark.parametrize(("case", "body"), [
    ("NaN", b'{"amount": NaN}'),
    ("Infinity", b'{"refund": {"amount": Infinity}}'),
    ("-Infinity", b'[{"amount": -Infinity}]'),
    ("a duplicate key", b'{"amount": "1.00", "amount": "1000.00"}'),
    ("a nested duplicate key", b'{"refund": {"id": 1, "amount": 1, "amount": 2}}'),
    ("invalid UTF-8", b'{"note": "\xff\xfe"}'),
    ("nested 100000 deep", b"[" * 100_000 + b"]" * 100_000),
    ("a lone surrogate escape", b'{"note": "\\ud800"}'),
])
def test_json_no_parser_agrees_on_is_refused_naming_the_host(case: str, body: bytes) -> None:
    """NaN and Infinity are not JSON; a repeated key means what each parser likes."""
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/refunds", body=body, content_type="application/json")
        with pytest.raises(ResponseParseError) as caught:
            _client().get("refunds")
    text = str(caught.value)
    assert "api.example.test" in text, text
    assert "\n" not in text


def test_json_under_another_content_type_is_still_read() -> None:
    """Kuaidi100 and TOP answer JSON as text/html or text/javascript: read by content."""
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/poll", body=b'{"ok": 1}', content_type="text/html;charset=UTF-8")
        assert _client().get("poll") == {"ok": 1}


def _reads_the_body(response: requests.Response) -> RemoteError | None:
    """An adapter's error hook as most are written: json.loads, ValueError means not JSON."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return None if body["ok"] else RemoteRejectedError("refused")


@pytest.mark.parametrize(("case", "body"), [
    ("nested 100000 deep", b"[" * 100_000 + b"]" * 100_000),
    ("a list where an object is", b"[1, 2]"),
    ("an object without the key", b'{"other": 1}'),
])
def test_an_error_hook_failing_on_a_hostile_body_is_a_parse_error_naming_the_host(
        case: str, body: bytes) -> None:
    """The hook sees every answer first: one it cannot read is not a traceback."""
    api = ApiClient("edgy", BASE, max_attempts=1, classify_error=_reads_the_body)
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/x", body=body, content_type="application/json")
        with pytest.raises(ResponseParseError) as caught:
            api.request("GET", "x")
    text = str(caught.value)
    assert "api.example.test" in text
    assert "\n" not in text


def test_headers_dripped_in_end_at_the_call_deadline(
        drip: Callable[[bytes, bytes, float], Drip]) -> None:
    """The status line at once, then the headers a byte every 0.3 s: no answer yet to stream."""
    server = drip(b"HTTP/1.1 200 OK\r\n",
                  b"X-Slow: " + b"a" * 20 + b"\r\nContent-Length: 0\r\n\r\n", 0.3)
    api = ApiClient("edgy", f"http://127.0.0.1:{server.port}", timeout=(2.0, 2.0), deadline=1.0,
                    max_attempts=1)
    with pytest.raises(TransientError) as caught:
        api.get("orders")
    assert server.cut.wait(10), "the client read the headers on past its deadline"
    text = str(caught.value)
    assert "127.0.0.1" in text
    assert "1 s deadline" in text


@pytest.mark.parametrize("base", [
    "https://[::1",
    "https://shop.example.com:99999",
    "https://shop.example.com:abc",
    "https://",
    "https://exa mple.com",
    "https://ex\x00ample.com",
    "https://shop.example.com\r\nX-Injected: 1",
])
def test_a_malformed_url_is_a_configuration_error_before_anything_is_sent(base: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        with pytest.raises(ConfigurationError) as caught:
            ApiClient("edgy", base, max_attempts=1).get("orders")
        assert len(mock.calls) == 0
    text = str(caught.value)
    assert text.isprintable(), text
    assert "edgy" in text



def test_a_short_deadline_taken_after_a_long_one_still_fires() -> None:
    """The watchdog sleeps toward its earliest deadline and is woken for an earlier one."""
    from aftersales import http_deadline

    long_a, long_b = socket.socketpair()
    short_a, short_b = socket.socketpair()
    with long_a, long_b, short_a, short_b:
        slow = http_deadline.watch(long_a, time.monotonic() + 600)
        time.sleep(0.3)  # the watchdog now sleeps toward the long deadline
        quick = http_deadline.watch(short_a, time.monotonic() + 0.2)
        short_a.settimeout(10)
        assert short_a.recv(1) == b""  # shut down by the watchdog, not timed out
        assert quick.fired
        assert not slow.fired
        slow.cancel()
