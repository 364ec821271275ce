"""Every adapter, failing or redirected, with DEBUG logging on: no credential or personal datum leaks.

Each built-in adapter makes one real call through its own client against a
``responses`` mock that answers every URL. Either the provider's host
answers with an error whose body quotes the buyer (name, phone, e-mail,
street address, nested several levels deep) and echoes the credentials, or
it redirects to another host, which records what it was sent. Nothing the
test planted may then appear in any log record (urllib3's included), in the
raised exception's text, ``repr``, ``body`` or chained causes, or in a
per-number tracking error; and the redirect host must not be called at all
(no adapter allows a redirect to another host), the failure naming it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses
from aftersales_aftership import AfterShipCarrier, AfterShipSettings
from aftersales_judgeme import JudgeMeMarketplace, JudgeMeSettings
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings
from aftersales_shopify import ShopifyMarketplace, ShopifySettings
from aftersales_taobao import TaobaoMarketplace, TaobaoSettings
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings

from aftersales.errors import AfterSalesError
from aftersales.models import TrackQuery

SECRETS = {
    "shopify": "shpat_leakcheck_0123456789abcdef",
    "woo_key": "ck_leakcheck_0123456789abcdef",
    "woo_secret": "cs_leakcheck_0123456789abcdef",
    "taobao_secret": "tb-secret-leakcheck-0123",
    "taobao_session": "6100leakchecksession0123456789",
    "judgeme": "jm-token-leakcheck-0123456789",
    "kuaidi_key": "kd100keyleakcheck0123",
    "kuaidi_customer": "KD100CUSTOMERLEAK0123",
    "seventeen": "17TOKENLEAKCHECK0123456789",
    "aftership": "asat_leakcheck_0123456789abcdef",
}
PERSONAL = {
    "email": "alice.wong@example.com",
    "phone": "13812345678",
    "intl_phone": "+1 415 555 0199",
    "first_name": "Alicia",
    "last_name": "Wongsakul",
    "street": "742 Evergreen Terrace",
    "cn_address": "浙江省杭州市西湖区文三路100号",
    "zip": "310012",
}
PLANTED = [*SECRETS.values(), *PERSONAL.values()]
EVIL = "https://evil.example.net/collect"


def _hostile_body() -> dict[str, Any]:
    """An error body quoting the buyer at several depths and echoing the credentials."""
    return {
        "errors": {
            "customer": [
                {
                    "first_name": PERSONAL["first_name"],
                    "contact": {"details": {"email": PERSONAL["email"], "mobile": PERSONAL["phone"]}},
                }
            ],
            "base": [
                f"{PERSONAL['first_name']} {PERSONAL['last_name']} ({PERSONAL['email']}, "
                f"{PERSONAL['intl_phone']}) at {PERSONAL['street']} is not allowed"
            ],
        },
        "shipping_address": {"address1": PERSONAL["street"], "zip": PERSONAL["zip"]},
        "receiver": {"name": f"{PERSONAL['first_name']} {PERSONAL['last_name']}",
                     "address": PERSONAL["cn_address"]},
        "message": f"收货人 {PERSONAL['cn_address']} 电话 {PERSONAL['phone']}",
        "error_response": {
            "code": 27,
            "msg": "Invalid session",
            "sub_code": "isv.invalid-session",
            "sub_msg": f"session {SECRETS['taobao_session']} for buyer {PERSONAL['email']} expired",
        },
        "meta": {"code": 4001, "message": f"api key {SECRETS['aftership']} refused"},
        "code": 4001,
        "returnCode": "500",
        "result": False,
        "echo": {"token": SECRETS["seventeen"], "key": SECRETS["kuaidi_key"],
                 "consumer_secret": SECRETS["woo_secret"], "apikey": SECRETS["judgeme"]},
    }


def _sleep(_seconds: float) -> None:
    return None


def _shopify() -> Callable[[], Any]:
    m = ShopifyMarketplace(ShopifySettings(shop="leak-shop", access_token=SECRETS["shopify"]),
                           sleep=_sleep)
    return lambda: next(iter(m.list_orders(None)), None)


def _woocommerce() -> Callable[[], Any]:
    m = WooCommerceMarketplace(
        WooCommerceSettings(url="https://shop.example.com", consumer_key=SECRETS["woo_key"],
                            consumer_secret=SECRETS["woo_secret"]),
        sleep=_sleep,
    )
    return lambda: next(iter(m.list_orders(None)), None)


def _taobao() -> Callable[[], Any]:
    m = TaobaoMarketplace(
        TaobaoSettings(app_key="12345678", app_secret=SECRETS["taobao_secret"],
                       session=SECRETS["taobao_session"], lookback=timedelta(days=1),
                       tmall=True),
        sleep=_sleep,
    )
    return lambda: next(iter(m.list_orders(None)), None)


def _judgeme() -> Callable[[], Any]:
    m = JudgeMeMarketplace(JudgeMeSettings(api_token=SECRETS["judgeme"],
                                           shop_domain="leak-shop.myshopify.com"), sleep=_sleep)
    return lambda: next(iter(m.list_reviews(None)), None)


def _kuaidi100_track() -> Callable[[], Any]:
    c = Kuaidi100Carrier(Kuaidi100Settings(key=SECRETS["kuaidi_key"],
                                           customer=SECRETS["kuaidi_customer"], salt="pushsalt"),
                         sleep=_sleep)
    return lambda: c.track([TrackQuery(number="SF1234567890123", carrier="sf")])


def _kuaidi100_detect() -> Callable[[], Any]:
    c = Kuaidi100Carrier(Kuaidi100Settings(key=SECRETS["kuaidi_key"],
                                           customer=SECRETS["kuaidi_customer"]), sleep=_sleep)
    return lambda: c.detect("SF1234567890123")


def _seventeentrack() -> Callable[[], Any]:
    c = SeventeenTrackCarrier(SeventeenTrackSettings(token=SECRETS["seventeen"]), sleep=_sleep)
    return lambda: c.track([TrackQuery(number="SF1234567890123", carrier="sf")])


def _aftership() -> Callable[[], Any]:
    c = AfterShipCarrier(AfterShipSettings(api_key=SECRETS["aftership"]), sleep=_sleep)
    return lambda: c.track([TrackQuery(number="SF1234567890123", carrier="sf")])


ADAPTERS: dict[str, Callable[[], Callable[[], Any]]] = {
    "shopify": _shopify,
    "woocommerce": _woocommerce,
    "taobao": _taobao,
    "judgeme": _judgeme,
    "kuaidi100-track": _kuaidi100_track,
    "kuaidi100-detect": _kuaidi100_detect,
    "seventeentrack": _seventeentrack,
    "aftership": _aftership,
}

#: How the provider's host fails: (HTTP status, body as text).
FAILURES = {
    "json-400": (400, json.dumps(_hostile_body(), ensure_ascii=False)),
    "json-200": (200, json.dumps(_hostile_body(), ensure_ascii=False)),
    "json-500": (500, json.dumps(_hostile_body(), ensure_ascii=False)),
    "text-422": (422, f"customer {PERSONAL['first_name']} {PERSONAL['last_name']} "
                      f"<{PERSONAL['email']}> phone {PERSONAL['phone']} "
                      f"at {PERSONAL['street']}: token={SECRETS['shopify']}"),
}


class Recorder:
    """What the redirect host was sent."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.urls: list[str] = []


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _texts_of(exc: BaseException | None) -> list[str]:
    out: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out += [str(exc), repr(exc), str(getattr(exc, "body", "") or "")]
        exc = exc.__cause__ or exc.__context__
    return out


def _leaks(texts: list[str]) -> list[str]:
    return sorted({p for p in PLANTED for t in texts if p in t})


def _run(op: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return op(), None
    except AfterSalesError as exc:
        return None, exc


def _result_texts(result: Any) -> list[str]:
    if isinstance(result, list):
        return [str(getattr(r, "error", "") or "") + repr(r) for r in result]
    return [repr(result)] if result is not None else []


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_a_failing_adapter_leaks_nothing(
    adapter: str, failure: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    status, body = FAILURES[failure]
    op = ADAPTERS[adapter]()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT"):
            mock.add(method, re.compile(r"https?://.*"), body=body, status=status,
                     content_type="application/json" if body.startswith("{") else "text/plain")
        result, exc = _run(op)
    texts = _texts_of(exc) + _result_texts(result)
    texts += [r.getMessage() for r in debug_logs.records]
    texts += [r.exc_text or "" for r in debug_logs.records]
    assert _leaks(texts) == []


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_no_adapter_follows_a_redirect_to_another_host(
    adapter: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    op = ADAPTERS[adapter]()
    evil = Recorder()

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        url = request.url or ""
        if urlsplit(url).hostname == urlsplit(EVIL).hostname:
            evil.headers.append(dict(request.headers))
            evil.urls.append(url)
            return 503, {"Content-Type": "application/json"}, json.dumps(_hostile_body())
        return 302, {"Location": EVIL}, ""

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT"):
            mock.add_callback(method, re.compile(r"https?://.*"), callback=answer)
        result, exc = _run(op)
    assert evil.urls == [], "the call followed a redirect to a host the shop never set"
    texts = _texts_of(exc) + _result_texts(result)
    assert any("evil.example.net; refused" in t for t in texts), texts
    texts += [r.getMessage() for r in debug_logs.records]
    assert _leaks(texts) == []


def test_a_redirect_to_plain_http_is_refused_before_anything_is_sent(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    op = _shopify()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add("POST", re.compile(r"https://leak-shop\..*"), status=301,
                 headers={"Location": "http://leak-shop.myshopify.com/admin/x"})
        mock.add("GET", re.compile(r"https://leak-shop\..*"), status=301,
                 headers={"Location": "http://leak-shop.myshopify.com/admin/x"})
        _result, exc = _run(op)
        assert exc is not None
        assert "refused" in str(exc)
        assert all(urlsplit(c.request.url or "").scheme == "https" for c in mock.calls)


def test_urllib3_request_lines_lose_query_credentials(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    # urllib3 prints the request line, query string included, at DEBUG; WooCommerce's
    # query-string auth would show its key and secret there. The filter the first
    # ApiClient installs on urllib3's logger masks them whatever handler is used.
    _woocommerce()
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s', "https", "shop.example.com", 443, "GET",
        f"/wp-json/wc/v3/orders?consumer_key={SECRETS['woo_key']}"
        f"&consumer_secret={SECRETS['woo_secret']}&per_page=50", "HTTP/1.1", 200, 12,
    )
    lines = [r.getMessage() for r in debug_logs.records if r.name == "urllib3.connectionpool"]
    assert lines
    assert _leaks(lines) == []
    assert "per_page=50" in lines[0]
