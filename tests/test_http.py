"""ApiClient: one retry layer, safe re-sends only, errors mapped, secrets masked."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import pytest
import requests
import responses

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
)
from aftersales.http import ApiClient, RateLimit, TokenBucket, parse_retry_after
from aftersales.redact import known_names

BASE = "https://api.example.test"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
PHONE = "13812345678"


class Sleeps(list[float]):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps) -> ApiClient:
    return ApiClient(
        "testshop",
        BASE,
        max_attempts=3,
        sleep=sleeps,
        headers={"X-Shopify-Access-Token": TOKEN},
        secrets=[TOKEN],
    )


def test_429_waits_for_retry_after_then_succeeds(
    http: responses.RequestsMock, client: ApiClient, sleeps: Sleeps
) -> None:
    http.get(f"{BASE}/orders", status=429, headers={"Retry-After": "7"})
    http.get(f"{BASE}/orders", json={"ok": True})
    assert client.get("orders") == {"ok": True}
    assert sleeps == [7.0]
    assert len(http.calls) == 2


def test_503_then_success(http: responses.RequestsMock, client: ApiClient, sleeps: Sleeps) -> None:
    http.get(f"{BASE}/orders", status=503)
    http.get(f"{BASE}/orders", json=[1])
    assert client.get("orders") == [1]
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= client.backoff


def test_read_timeout_is_retried_for_a_get(http: responses.RequestsMock, client: ApiClient) -> None:
    http.get(f"{BASE}/orders", body=requests.exceptions.ReadTimeout("slow"))
    http.get(f"{BASE}/orders", json=[])
    assert client.get("orders") == []


def test_connection_error_is_retried(http: responses.RequestsMock, client: ApiClient) -> None:
    http.get(f"{BASE}/orders", body=requests.exceptions.ConnectionError("reset"))
    http.get(f"{BASE}/orders", json=[])
    assert client.get("orders") == []


def test_gives_up_after_the_configured_attempts(
    http: responses.RequestsMock, client: ApiClient, sleeps: Sleeps
) -> None:
    for _ in range(3):
        http.get(f"{BASE}/orders", status=502)
    with pytest.raises(TransientError) as info:
        client.get("orders")
    assert info.value.status == 502
    assert info.value.adapter == "testshop"
    assert len(http.calls) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, RemoteRejectedError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, RemoteNotFoundError),
        (422, RemoteRejectedError),
    ],
)
def test_client_errors_are_not_retried(
    http: responses.RequestsMock, client: ApiClient, status: int, error: type[Exception]
) -> None:
    http.get(
        f"{BASE}/orders", status=status, json={"error": "no"}, headers={"X-Request-Id": "req-42"}
    )
    with pytest.raises(error) as info:
        client.get("orders")
    assert len(http.calls) == 1
    assert info.value.request_id == "req-42"  # type: ignore[attr-defined]
    assert "req-42" in str(info.value)


@pytest.mark.parametrize(
    "failure", [{"status": 503}, {"body": requests.exceptions.ReadTimeout("slow")}]
)
def test_post_without_idempotency_key_is_not_resent(
    http: responses.RequestsMock, client: ApiClient, failure: dict[str, object]
) -> None:
    http.post(f"{BASE}/refunds", **failure)  # type: ignore[arg-type]
    with pytest.raises(TransientError):
        client.post("refunds", json={"amount": "10.00"})
    assert len(http.calls) == 1


def test_post_with_idempotency_key_is_resent_with_the_same_key(
    http: responses.RequestsMock, client: ApiClient
) -> None:
    http.post(f"{BASE}/refunds", body=requests.exceptions.ReadTimeout("slow"))
    http.post(f"{BASE}/refunds", json={"id": 1})
    assert client.post("refunds", json={"amount": "10.00"}, idempotency_key="rf-1") == {"id": 1}
    assert [c.request.headers["Idempotency-Key"] for c in http.calls] == ["rf-1", "rf-1"]


def test_post_refused_with_429_is_resent_since_it_did_nothing(
    http: responses.RequestsMock, client: ApiClient
) -> None:
    http.post(f"{BASE}/refunds", status=429, headers={"Retry-After": "1"})
    http.post(f"{BASE}/refunds", json={"id": 1})
    assert client.post("refunds", json={}) == {"id": 1}


def test_retry_after_exhausted_raises_rate_limit_with_the_hint(
    http: responses.RequestsMock, client: ApiClient
) -> None:
    for _ in range(3):
        http.get(f"{BASE}/x", status=429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimitError) as info:
        client.get("x")
    assert info.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("body", "ctype", "kind"),
    [
        ("<html><body>Bad gateway</body></html>", "text/html", "HTML"),
        ('{"orders": [', "application/json", "not valid JSON"),
    ],
)
def test_bodies_that_are_not_json(
    http: responses.RequestsMock, client: ApiClient, body: str, ctype: str, kind: str
) -> None:
    http.get(f"{BASE}/orders", body=body, content_type=ctype)
    with pytest.raises(ResponseParseError, match=kind):
        client.get("orders")


def test_token_and_phone_never_reach_logs_or_errors(
    http: responses.RequestsMock, client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aftersales.http")
    body = f'{{"errors": "invalid token {TOKEN} for customer phone {PHONE}", "phone": "{PHONE}"}}'
    http.get(f"{BASE}/customers", status=502, body=body)
    http.get(f"{BASE}/customers", status=502, body=body)
    http.get(f"{BASE}/customers", status=400, body=body)
    with pytest.raises(RemoteRejectedError) as info:
        client.get("customers", params={"phone": PHONE, "access_token": TOKEN})
    texts = [str(info.value), repr(info.value), info.value.body or ""]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records, "the retries should have been logged"
    for text in texts:
        assert TOKEN not in text
        assert PHONE not in text


def test_body_level_errors_go_through_the_adapter_hook(
    sleeps: Sleeps, http: responses.RequestsMock
) -> None:
    def classify(response: requests.Response) -> RateLimitError | None:
        data = response.json()
        if data.get("code") == 7:
            return RateLimitError("call limit", retry_after=float(data["wait"]))
        return None

    client = ApiClient("gateway", BASE, sleep=sleeps, classify_error=classify)
    http.post(f"{BASE}/router", json={"code": 7, "wait": 3})
    http.post(f"{BASE}/router", json={"code": 0, "result": "ok"})
    assert client.post("router", data={"method": "x"}) == {"code": 0, "result": "ok"}
    assert sleeps == [3.0]


@pytest.mark.parametrize(("hint", "waited"), [(1e9, 300.0), (float("nan"), None),
                                             (-5.0, 0.0)])
def test_a_body_level_wait_hint_is_bounded_like_retry_after(
    sleeps: Sleeps, http: responses.RequestsMock, hint: float, waited: float | None,
) -> None:
    def classify(response: requests.Response) -> RateLimitError | None:
        if response.json().get("code") == 7:
            return RateLimitError("call limit", retry_after=hint)
        return None

    client = ApiClient("gateway", BASE, sleep=sleeps, classify_error=classify)
    http.post(f"{BASE}/router", json={"code": 7})
    http.post(f"{BASE}/router", json={"code": 0})
    client.post("router", data={"method": "x"})
    assert len(sleeps) == 1
    assert 0.0 <= sleeps[0] <= 300.0
    if waited is not None:
        assert sleeps == [waited]


def test_timeouts_are_always_set(http: responses.RequestsMock, client: ApiClient) -> None:
    http.get(f"{BASE}/x", json={})
    client.get("x")
    assert http.calls[0].request.req_kwargs["timeout"] == client.timeout


def test_token_bucket_waits_only_when_empty() -> None:
    now = [0.0]
    waits: list[float] = []
    bucket = TokenBucket(RateLimit(per_second=2, burst=2), clock=lambda: now[0], sleep=waits.append)
    bucket.acquire()
    bucket.acquire()
    assert waits == []
    bucket.acquire()
    assert waits == [pytest.approx(0.5)]
    now[0] = 10.0
    bucket.acquire()
    assert len(waits) == 1


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("100000") == 300.0


def test_threads_sharing_a_client_retry_independently(
    http: responses.RequestsMock, client: ApiClient, sleeps: Sleeps, at_once: Any
) -> None:
    # each path fails twice, then answers: every thread needs its own three attempts
    for n in range(4):
        http.get(f"{BASE}/p{n}", status=503)
        http.get(f"{BASE}/p{n}", status=503)
        http.get(f"{BASE}/p{n}", json={"n": n})
    answers, errors = at_once([partial(client.get, f"p{n}") for n in range(4)])
    assert errors == []
    assert sorted(a["n"] for a in answers) == [0, 1, 2, 3]
    assert len(http.calls) == 12
    assert len(sleeps) == 8


def test_a_post_is_still_not_resent_after_safe_calls_shared_the_policy(
    http: responses.RequestsMock, client: ApiClient
) -> None:
    http.get(f"{BASE}/orders", status=503)
    http.get(f"{BASE}/orders", json={"ok": True})
    assert client.get("orders") == {"ok": True}
    http.post(f"{BASE}/refunds", status=503)
    with pytest.raises(TransientError):
        client.post("refunds", json={"amount": "1.00"})
    assert [c.request.method for c in http.calls] == ["GET", "GET", "POST"]


def test_a_text_body_without_charset_is_read_as_utf8_and_masked(
    http: responses.RequestsMock, client: ApiClient
) -> None:
    # requests reads text/plain without a charset as Latin-1: the buyer's name
    # became mojibake that the name check could not recognise.
    http.get(f"{BASE}/orders", status=400, body="收货人 张三 不存在".encode(),
             content_type="text/plain")
    with known_names("张三"), pytest.raises(RemoteRejectedError) as info:
        client.get("orders")
    assert info.value.body == "收货人 *** 不存在"


def _bounded(limit: int) -> ApiClient:
    return ApiClient("testshop", BASE, max_attempts=3, sleep=Sleeps(),
                     max_response_bytes=limit)


@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_larger_than_the_limit_is_refused_without_being_kept(
    http: responses.RequestsMock, status: int
) -> None:
    """A hostile or broken server must not make the client hold gigabytes in memory."""
    http.get(f"{BASE}/orders", status=status, body=b"[" + b"1," * 5000 + b"1]")
    with pytest.raises(ResponseParseError, match="larger than 4096 bytes") as caught:
        _bounded(4096).get("orders")
    assert caught.value.status == status
    assert len(http.calls) == 1  # not fetched again


def test_a_compressed_answer_is_bounded_by_its_decoded_size(
    http: responses.RequestsMock,
) -> None:
    import gzip

    bomb = gzip.compress(b"[" + b"0," * 500_000 + b"0]")
    assert len(bomb) < 4096
    http.get(f"{BASE}/orders", body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ResponseParseError, match="larger than 65536 bytes"):
        _bounded(65536).get("orders")


def test_an_answer_within_the_limit_reads_as_before(http: responses.RequestsMock) -> None:
    http.get(f"{BASE}/orders", json={"orders": list(range(100))})
    assert _bounded(4096).get("orders") == {"orders": list(range(100))}
    assert ApiClient("testshop", BASE).max_response_bytes == 64 * 1024 * 1024


@pytest.mark.parametrize("failure", ["refused", "read timeout", "chunked"])
def test_a_transport_failure_carries_no_secret_in_its_chain(
    http: responses.RequestsMock, failure: str
) -> None:
    """A shop's ``log.exception`` prints the whole chain: requests' texts quote the URL."""
    import traceback

    secret = "SUPERSECRET_query_token_123"
    url = f"{BASE}/orders?access_token={secret}&sign=0123456789ABCDEF0123456789ABCDEF"
    kinds = {"refused": requests.exceptions.ConnectionError,
             "read timeout": requests.exceptions.ReadTimeout,
             "chunked": requests.exceptions.ChunkedEncodingError}
    http.get(f"{BASE}/orders", body=kinds[failure](f"HTTPSConnectionPool: Max retries "
                                                   f"exceeded with url: {url}"))
    api = ApiClient("testshop", BASE, max_attempts=1, secrets=[secret])
    with pytest.raises(RemoteError) as caught:
        api.get("orders", params={"access_token": secret,
                                  "sign": "0123456789ABCDEF0123456789ABCDEF"})
    text = "".join(traceback.format_exception(caught.value))
    assert secret not in text
    assert "0123456789ABCDEF0123456789ABCDEF" not in text
