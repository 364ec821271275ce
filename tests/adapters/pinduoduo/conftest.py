"""Shared pieces of the Pinduoduo tests: fixtures, an independent signer, a fake mall.

``FakeRouter`` answers the router URL through a ``responses`` callback. It
checks every request's signature with :func:`independent_sign` (written
here from the platform's description, sharing no code with the adapter),
routes on the ``type`` parameter and records each call's form. ``FakeMall``
adds a small stateful shop behind it: after-sales orders and orders
filtered by update time (windows of at most 30 minutes, refused beyond, as
the platform does) and paged, and the actions that change an after-sales
order's status.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
import responses
from aftersales_pinduoduo import PinduoduoMarketplace, PinduoduoSettings

FIXTURES = Path(__file__).parent / "fixtures"
ROUTER = "https://gw-api.pinduoduo.com/api/router"
SECRET = "pdd-test-secret"
TOKEN = "pdd-access-token-0123456789"
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 2024-11-21 10:00:00 in Shanghai.
NOW = datetime(2024, 11, 21, 2, 0, tzinfo=UTC)


def fx(name: str) -> dict[str, Any]:
    """A fixture file (a fresh copy)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def body(name: str) -> dict[str, Any]:
    """A fixture's answer body (a deep copy, safe to edit)."""
    return copy.deepcopy(fx(name)["body"])


def independent_sign(params: dict[str, str], secret: str) -> str:
    """The router signature, computed independently of the adapter."""
    text = "".join(k + params[k] for k in sorted(params, key=lambda k: k.encode()) if k != "sign")
    return hashlib.md5((secret + text + secret).encode("utf-8")).hexdigest().upper()


def china_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Shanghai."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


#: the router's answer to a call missing a required parameter (its error code 10000)
PARAMETER_ERROR: dict[str, Any] = {"error_response": {
    "error_code": 10000, "error_msg": "参数错误", "sub_msg": "request 不能为空"}}


def _fen(amount: Any) -> Any:
    """A listed ``refund_amount`` (yuan text) as the detail writes it (a number in fen)."""
    return int(Decimal(amount) * 100) if isinstance(amount, str) and amount else amount


def _read(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


class Sleeps(list[float]):
    """Records the waits the retry layer asks for, so tests never sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _token_is(token: str) -> Callable[[Any], tuple[bool, str]]:
    """A ``responses`` matcher: the request carries this shop's access token."""
    def match(request: Any) -> tuple[bool, str]:
        raw = request.body or ""
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        found = dict(parse_qsl(text)).get("access_token") == token
        return found, "" if found else "another shop's token"
    return match


class FakeRouter:
    """The router: verifies signatures, routes on ``type``, records calls."""

    def __init__(self, rsps: responses.RequestsMock, secret: str = SECRET,
                 token: str | None = None) -> None:
        self.secret = secret
        self.calls: list[dict[str, str]] = []
        self.queues: dict[str, list[Any]] = {}
        self.handlers: dict[str, Callable[[dict[str, str]], Any]] = {}
        match = [] if token is None else [_token_is(token)]
        rsps.add_callback(responses.POST, ROUTER, callback=self._handle, match=match)

    def queue(self, api_type: str, *replies: Any) -> None:
        """Answer the next calls of ``api_type`` with ``replies``, in order."""
        self.queues.setdefault(api_type, []).extend(replies)

    def handle(self, api_type: str, handler: Callable[[dict[str, str]], Any]) -> None:
        """Answer every call of ``api_type`` (once its queue is empty) with ``handler(form)``."""
        self.handlers[api_type] = handler

    def types(self) -> list[str]:
        """The ``type`` of every call so far."""
        return [c["type"] for c in self.calls]

    def _handle(self, request: Any) -> Any:
        raw = request.body or ""
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        form = dict(parse_qsl(text, keep_blank_values=True))
        self.calls.append(form)
        if form.get("sign") != independent_sign(form, self.secret):
            return self._json(body("error_bad_signature"))
        api_type = form["type"]
        queue = self.queues.get(api_type)
        if queue:
            reply = queue.pop(0)
        elif api_type in self.handlers:
            reply = self.handlers[api_type]
        else:
            raise AssertionError(f"unexpected call {api_type}")
        if callable(reply) and not isinstance(reply, Exception):
            reply = reply(form)
        if isinstance(reply, Exception):
            return reply
        if isinstance(reply, tuple):
            return (reply[0], {"Content-Type": "text/html"}, reply[1])
        return self._json(reply)

    @staticmethod
    def _json(payload: Any) -> tuple[int, dict[str, str], str]:
        return (200, {"Content-Type": "application/json;charset=UTF-8"},
                json.dumps(payload, ensure_ascii=False))


class FakeMall:
    """A Pinduoduo shop behind :class:`FakeRouter`.

    After-sales order ``i`` was updated ``i * 20`` minutes before ``NOW``
    minus two minutes (so pages and 30-minute windows cut through them);
    orders 1 and 2 share a second on purpose. Even ones ask for a refund
    only, odd ones for a return of goods.
    """

    def __init__(self, router: FakeRouter, refunds: int = 9, exchange: bool = False) -> None:
        self.router = router
        template = body("refund_list_increment_get")["refund_increment_get_response"]["refund_list"]
        self.refunds: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        order_template = body("order_information_get")["order_info_get_response"]["order_info"]
        for i in range(refunds):
            base = dict(template[i % 2])
            stamp = NOW - timedelta(minutes=20 * i + 2)
            if i == 2:
                stamp = NOW - timedelta(minutes=22)  # the same second as refund 1
            order_sn = f"241120-{100000000 + i:09d}"
            base.update(id=9000 + i, order_sn=order_sn, updated_time=china_time(stamp),
                        created_time=china_time(stamp - timedelta(hours=1)),
                        refund_amount=f"{10 + i}.50", after_sales_status=2 if i % 2 == 0 else 3,
                        after_sales_type=2 if i % 2 == 0 else 3, sku_id=f"55{i:04d}",
                        tracking_number="", shipping_name="")
            self.refunds[str(base["id"])] = base
            item = dict(order_template["item_list"][0], sku_id=base["sku_id"],
                        goods_price=base["refund_amount"])
            self.orders[order_sn] = dict(
                order_template, order_sn=order_sn, item_list=[item], pay_amount=base["refund_amount"],
                goods_amount=base["refund_amount"], discount_amount="0.00",
                updated_at=china_time(stamp - timedelta(minutes=5)))
        if exchange:  # one exchange awaiting the shop's replacement (换货补寄待商家处理)
            stamp = NOW - timedelta(minutes=7)
            self.refunds["9100"] = dict(
                template[1], id=9100, order_sn="241120-109100000", updated_time=china_time(stamp),
                created_time=china_time(stamp - timedelta(days=2)), refund_amount="0.00",
                after_sales_status=14, after_sales_type=4, sku_id="559100",
                tracking_number="", shipping_name="")
            self.orders["241120-109100000"] = dict(
                order_template, order_sn="241120-109100000",
                item_list=[dict(order_template["item_list"][0], sku_id="559100")],
                updated_at=china_time(stamp - timedelta(minutes=5)))
        #: replacement parcels sent (the request object of each exchange shipping)
        self.exchanges: list[dict[str, Any]] = []
        self.agreed: list[str] = []
        #: the request object of each return agreed (pdd.refund.returngoods.agree)
        self.returns_agreed: list[dict[str, Any]] = []
        self.windows: list[tuple[datetime, datetime]] = []
        router.handle("pdd.refund.list.increment.get", self._refund_list)
        router.handle("pdd.order.number.list.increment.get", self._order_list)
        router.handle("pdd.order.information.get", self._order_get)
        router.handle("pdd.refund.information.get", self._detail)
        router.handle("pdd.refund.agree", self._agree)
        router.handle("pdd.refund.returngoods.agree", self._returngoods_agree)
        router.handle("pdd.refund.status.check", lambda f: body("refund_status_check"))
        router.handle("pdd.logistics.companies.get", lambda f: body("logistics_companies_get"))
        router.handle("pdd.refund.exchange.shipping", self._exchange_shipping)

    def _page(self, items: list[dict[str, Any]], form: dict[str, str],
              stamp: str) -> tuple[list[dict[str, Any]], int] | dict[str, Any]:
        lo = datetime.fromtimestamp(int(form["start_updated_at"]), UTC)
        hi = datetime.fromtimestamp(int(form["end_updated_at"]), UTC)
        if hi - lo > timedelta(minutes=30):
            return {"error_response": {"error_code": 10000, "error_msg": "参数错误",
                                       "sub_msg": "时间间隔不能超过30分钟"}}
        self.windows.append((lo, hi))
        hits = [x for x in items if lo <= _read(x[stamp]) <= hi]
        hits.sort(key=lambda x: _read(x[stamp]), reverse=True)  # newest first
        size, no = int(form["page_size"]), int(form["page"])
        return hits[(no - 1) * size : no * size], len(hits)

    def _refund_list(self, form: dict[str, str]) -> dict[str, Any]:
        got = self._page(list(self.refunds.values()), form, "updated_time")
        if isinstance(got, dict):
            return got
        return {"refund_increment_get_response": {"refund_list": got[0], "total_count": got[1]}}

    def _order_list(self, form: dict[str, str]) -> dict[str, Any]:
        got = self._page(list(self.orders.values()), form, "updated_at")
        if isinstance(got, dict):
            return got
        return {"order_sn_increment_get_response": {"order_sn_list": got[0],
                                                     "total_count": got[1]}}

    def _order_get(self, form: dict[str, str]) -> dict[str, Any]:
        return {"order_info_get_response": {"order_info": self.orders[form["order_sn"]]}}

    def _detail(self, form: dict[str, str]) -> dict[str, Any]:
        r = self.refunds[form["after_sales_id"]]
        assert r["order_sn"] == form["order_sn"]
        detail = body("refund_information_get")["refund_information_get_response"]
        detail.update(id=r["id"], order_sn=r["order_sn"], after_sales_status=r["after_sales_status"],
                      after_sales_type={2: 1, 3: 2, 4: 3, 5: 4, 6: 5}[r["after_sales_type"]],
                      express_no=r.get("tracking_number", ""), sku_id=r["sku_id"],
                      refund_amount=_fen(r["refund_amount"]),
                      shipping_status=0 if r["after_sales_type"] == 2 else 1,
                      expire_time=detail["expire_time"] if r["after_sales_status"] in (2, 3)
                      else None)
        if r.get("exchange_trunk"):  # 换货详情 once the shop sent the replacement
            detail["exchange_shipping_detail"] = {
                "merchant_exchange_trunk_number": r["exchange_trunk"],
                "merchant_exchange_ship_id": r["exchange_ship_id"]}
        return {"refund_information_get_response": detail}

    def set_status(self, after_sales_id: str, status: int) -> None:
        self.refunds[after_sales_id] = {**self.refunds[after_sales_id],
                                        "after_sales_status": status}

    @staticmethod
    def _request(form: dict[str, str]) -> dict[str, Any] | None:
        """The ``request`` object an after-sales write takes (the SDKs' request classes
        hold every business parameter in it); ``None`` when it is missing or partial."""
        try:
            request = json.loads(form["request"])
        except (KeyError, ValueError):
            return None
        if not isinstance(request, dict) or not isinstance(request.get("after_sales_id"), int):
            return None
        return request if request.get("order_sn") else None

    def _agree(self, form: dict[str, str]) -> dict[str, Any]:
        request = self._request(form)
        if request is None:  # as the router answers a call missing a required parameter
            return PARAMETER_ERROR
        after_sales_id = str(request["after_sales_id"])
        self.agreed.append(after_sales_id)
        self.set_status(after_sales_id, 4)
        reply = body("refund_agree")
        reply["response"]["result"].update(after_sales_id=request["after_sales_id"],
                                           order_sn=request["order_sn"])
        return reply

    def _exchange_shipping(self, form: dict[str, str]) -> dict[str, Any]:
        request = json.loads(form["request"])
        if self.refunds[str(request["after_sales_id"])]["after_sales_status"] not in (14, 15):
            return body("refund_exchange_shipping_refused")
        self.exchanges.append(request)
        self.set_status(str(request["after_sales_id"]), 18)
        self.refunds[str(request["after_sales_id"])].update(
            exchange_trunk=request["tracking_number"], exchange_ship_id=request["shipping_id"])
        return body("refund_exchange_shipping")

    def _returngoods_agree(self, form: dict[str, str]) -> dict[str, Any]:
        request = self._request(form)
        if request is None or not request.get("return_address_id"):
            return PARAMETER_ERROR
        self.returns_agreed.append(request)
        self.set_status(str(request["after_sales_id"]), 7)
        return body("refund_returngoods_agree")


def make_settings(**kw: Any) -> PinduoduoSettings:
    """Settings of the test shop."""
    base: dict[str, Any] = {"client_id": "pdd-client-1", "client_secret": SECRET,
                            "access_token": TOKEN, "return_address_id": "77001",
                            "page_size": 2, "lookback": timedelta(hours=3)}
    base.update(kw)
    return PinduoduoSettings(**base)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def router(http: responses.RequestsMock) -> FakeRouter:
    return FakeRouter(http)


@pytest.fixture
def mall(router: FakeRouter) -> FakeMall:
    return FakeMall(router)


@pytest.fixture
def market(sleeps: Sleeps) -> PinduoduoMarketplace:
    return PinduoduoMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)


@pytest.fixture
def lenient_http() -> Iterator[responses.RequestsMock]:
    """For the conformance kit, whose checks each exercise part of the fake."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
