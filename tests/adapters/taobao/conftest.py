"""Shared pieces of the Taobao tests: fixtures, an independent signer, a fake TOP shop.

``FakeTop`` answers the gateway URL through a ``responses`` callback. It
checks every request's signature with :func:`independent_sign` (written
here from the algorithm's description, sharing no code with the adapter),
routes on the ``method`` parameter, and records each call's form.
``FakeShop`` adds a small stateful shop behind it: refunds and ratings
filtered by modified time and paged by ``page_no``, and the actions that
change a refund's status.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import responses
from aftersales_taobao import TaobaoMarketplace, TaobaoSettings
from aftersales_taobao.settings import ReturnAddress

FIXTURES = Path(__file__).parent / "fixtures"
GATEWAY = "https://gw.api.taobao.com/router/rest"
SECRET = "helloworld"
SESSION = "6100e23657fb0b2d0c78568e55a3031134be9a3a5d4b3a365753805"
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 2024-05-20 10:00:00 in Shanghai, the time of every reference request.
NOW = datetime(2024, 5, 20, 2, 0, tzinfo=UTC)


def fx(name: str) -> dict[str, Any]:
    """A reference fixture envelope."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def body(name: str) -> dict[str, Any]:
    """A fixture's response body (a deep copy, safe to edit)."""
    return copy.deepcopy(fx(name)["response"]["body"])


def _hmac(key: bytes, msg: bytes, algo: str) -> str:
    # RFC 2104 by hand, so the check does not share the hmac module with the adapter.
    block = 64
    if len(key) > block:
        key = hashlib.new(algo, key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.new(algo, bytes(b ^ 0x36 for b in key) + msg).digest()
    return hashlib.new(algo, bytes(b ^ 0x5C for b in key) + inner).hexdigest()


def independent_sign(params: dict[str, str], secret: str, method: str) -> str:
    """The TOP signature, computed independently of the adapter."""
    pieces = []
    for name in sorted(params, key=lambda k: k.encode("utf-8")):
        if name == "sign" or params[name] == "":
            continue
        pieces.append(name + params[name])
    text = "".join(pieces).encode("utf-8")
    if method == "md5":
        return hashlib.md5(secret.encode() + text + secret.encode()).hexdigest().upper()
    algo = {"hmac": "md5", "hmac-sha256": "sha256"}[method]
    return _hmac(secret.encode(), text, algo).upper()


class Sleeps(list[float]):
    """Records the waits the retry layer asks for, so tests never sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


Reply = dict[str, Any] | Exception | tuple[int, str] | Callable[[dict[str, str]], Any]


class FakeTop:
    """The gateway: verifies signatures, routes on ``method``, records calls."""

    def __init__(self, rsps: responses.RequestsMock, secret: str = SECRET) -> None:
        self.secret = secret
        self.calls: list[dict[str, str]] = []
        #: the files of each multipart call, by its index in ``calls``
        self.files: dict[int, dict[str, tuple[str, str, bytes]]] = {}
        self.queues: dict[str, list[Reply]] = {}
        self.handlers: dict[str, Callable[[dict[str, str]], Any]] = {}
        rsps.add_callback(responses.POST, GATEWAY, callback=self._handle)

    def queue(self, method: str, *replies: Reply) -> None:
        """Answer the next calls of ``method`` with ``replies``, in order."""
        self.queues.setdefault(method, []).extend(replies)

    def handle(self, method: str, handler: Callable[[dict[str, str]], Any]) -> None:
        """Answer every call of ``method`` (once its queue is empty) with ``handler(form)``."""
        self.handlers[method] = handler

    def methods(self) -> list[str]:
        """The ``method`` of every call so far, in order."""
        return [c["method"] for c in self.calls]

    def _handle(self, request: Any) -> Any:
        raw = request.body or ""
        ctype = request.headers.get("Content-Type", "")
        query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        files: dict[str, tuple[str, str, bytes]] = {}
        if ctype.startswith("multipart/form-data"):
            form = dict(query)
            head = f"Content-Type: {ctype}\r\n\r\n".encode()
            message = BytesParser(policy=HTTP).parsebytes(head + raw)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if part.get_filename():
                    files[name] = (part.get_filename(), part.get_content_type(), payload)
                else:
                    form[name] = payload.decode("utf-8")
        else:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            form = {**query, **dict(parse_qsl(text, keep_blank_values=True))}
        if files:
            self.files[len(self.calls)] = files
        self.calls.append(form)
        expected = independent_sign(form, self.secret, form.get("sign_method", "md5"))
        if form.get("sign") != expected:
            return self._json(body("error_invalid_signature"))
        method = form["method"]
        queue = self.queues.get(method)
        reply: Any
        if queue:
            reply = queue.pop(0)
        elif method in self.handlers:
            reply = self.handlers[method]
        else:
            raise AssertionError(f"unexpected TOP call {method}")
        if callable(reply) and not isinstance(reply, Exception):
            reply = reply(form)
        if isinstance(reply, Exception):
            return reply
        if isinstance(reply, tuple):
            status, content = reply
            return (status, {"Content-Type": "text/html"}, content)
        return self._json(reply)

    @staticmethod
    def _json(payload: Any) -> tuple[int, dict[str, str], str]:
        return (200, {"Content-Type": "application/json;charset=UTF-8"},
                json.dumps(payload, ensure_ascii=False))


def china_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Shanghai, as TOP writes times."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _read(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


class FakeShop:
    """A Taobao shop behind :class:`FakeTop`: refunds, ratings and a trace.

    Refund ``i`` was modified ``i * 5`` hours before ``NOW`` minus a minute
    (so several fall in each one-day window); two share a second on purpose.
    """

    def __init__(self, top: FakeTop, refunds: int = 9, rates: int = 7) -> None:
        self.top = top
        template = body("refunds_receive_get")["refunds_receive_get_response"]["refunds"]["refund"][0]
        self.refunds: dict[str, dict[str, Any]] = {}
        for i in range(refunds):
            r = dict(template)
            stamp = NOW - timedelta(hours=5 * i, minutes=1)
            if i == 2:
                stamp = NOW - timedelta(hours=5, minutes=1)  # same second as refund 1
            r.update(
                refund_id=f"1000{i:02d}",
                tid=2345678901234567000 + i,
                oid=2345678901234568000 + i,
                modified=china_time(stamp),
                created=china_time(stamp - timedelta(hours=1)),
                refund_fee=f"{10 + i}.50",
                dispute_type="REFUND" if i % 2 else "REFUND_AND_RETURN",
                has_good_return=not i % 2,
            )
            self.refunds[r["refund_id"]] = r
        rate_template = body("traderates_get")["traderates_get_response"]["trade_rates"][
            "trade_rate"
        ][0]
        self.rates: list[dict[str, Any]] = []
        for i in range(rates):
            rate = dict(rate_template)
            rate.update(oid=3000 + i, tid=4000 + i, result=["good", "neutral", "bad"][i % 3],
                        created=china_time(NOW - timedelta(hours=7 * i, minutes=2)))
            self.rates.append(rate)
        self.trades: dict[str, dict[str, Any]] = {}
        trade_template = body("trade_fullinfo_get")["trade_fullinfo_get_response"]["trade"]
        for r in self.refunds.values():
            sub = dict(trade_template["orders"]["order"][0], oid=r["oid"], price=r["refund_fee"],
                       discount_fee="0.00")
            trade = dict(trade_template, tid=r["tid"], payment=r["refund_fee"], post_fee="0.00",
                         modified=china_time(_read(r["modified"]) - timedelta(minutes=30)),
                         orders={"order": [sub]})
            self.trades[str(r["tid"])] = trade
        self.agreed: list[str] = []
        self.before_page: Callable[[str, int], None] = lambda method, page_no: None
        top.handle("taobao.refunds.receive.get", self._refunds)
        top.handle("taobao.trades.sold.increment.get", self._trades)
        top.handle("taobao.trade.fullinfo.get", self._trade_get)
        top.handle("taobao.traderates.get", self._rates)
        top.handle("taobao.refund.get", self._refund_get)
        top.handle("taobao.rp.refunds.agree", self._agree)
        top.handle("taobao.rp.returngoods.agree", self._returngoods_agree)
        top.handle("taobao.refund.refuse", self._refuse)
        top.handle("taobao.rp.returngoods.refuse", self._goods_refuse)
        top.handle("taobao.traderate.explain.add", self._explain)
        top.handle("taobao.logistics.trace.search", lambda f: body("logistics_trace_search"))
        top.handle("taobao.refund.refusereason.get", lambda f: json.loads(
            (FIXTURES / "platform" / "refusereason_get_doc_example.json").read_text("utf-8")
        )["body"])
        top.handle("taobao.refund.message.add", lambda f: {
            "refund_message_add_response": {"refund_message": {"id": 1}}})

    def _page(self, items: list[dict[str, Any]], form: dict[str, str], start: str, end: str,
              stamp: str) -> tuple[list[dict[str, Any]], int]:
        self.before_page(form["method"], int(form["page_no"]))
        lo, hi = _read(form[start]), _read(form[end])
        hits = [x for x in items if lo <= _read(x[stamp]) <= hi]
        hits.sort(key=lambda x: _read(x[stamp]), reverse=True)  # newest first, as TOP does
        size, no = int(form["page_size"]), int(form["page_no"])
        return hits[(no - 1) * size : no * size], len(hits)

    def _refunds(self, form: dict[str, str]) -> dict[str, Any]:
        got, total = self._page(list(self.refunds.values()), form, "start_modified",
                                "end_modified", "modified")
        return {"refunds_receive_get_response": {
            "refunds": {"refund": got}, "total_results": total, "request_id": "r"}}

    def _rates(self, form: dict[str, str]) -> dict[str, Any]:
        if "tid" in form:  # one trade's or sub-order's ratings (TOP: a parent or sub-order id)
            got = [r for r in self.rates if form["tid"] in (str(r["tid"]), str(r["oid"]))]
            total = len(got)
        else:
            got, total = self._page(self.rates, form, "start_date", "end_date", "created")
        return {"traderates_get_response": {
            "trade_rates": {"trade_rate": got}, "total_results": total, "request_id": "r"}}

    def _explain(self, form: dict[str, str]) -> dict[str, Any]:
        """taobao.traderate.explain.add: the rating of ``oid`` gets its ``reply``."""
        for rate in self.rates:
            if str(rate["oid"]) == form["oid"]:
                rate["reply"] = form["reply"]
        return body("traderate_explain_add")

    def _trades(self, form: dict[str, str]) -> dict[str, Any]:
        got, total = self._page(list(self.trades.values()), form, "start_modified",
                                "end_modified", "modified")
        return {"trades_sold_increment_get_response": {
            "trades": {"trade": got}, "total_results": total, "request_id": "r"}}

    def _trade_get(self, form: dict[str, str]) -> dict[str, Any]:
        return {"trade_fullinfo_get_response": {"trade": self.trades[form["tid"]],
                                                "request_id": "r"}}

    def _refund_get(self, form: dict[str, str]) -> dict[str, Any]:
        return {"refund_get_response": {"refund": self.refunds[form["refund_id"]],
                                        "request_id": "r"}}

    def _set(self, refund_id: str, status: str) -> None:
        self.refunds[refund_id] = {**self.refunds[refund_id], "status": status,
                                   "refund_version": self.refunds[refund_id]["refund_version"] + 1}

    def _agree(self, form: dict[str, str]) -> dict[str, Any]:
        refund_id = form["refund_infos"].split("|")[0]
        self.agreed.append(form["refund_infos"])
        self._set(refund_id, "SUCCESS")
        reply = body("rp_refunds_agree")
        reply["rp_refunds_agree_response"]["results"]["refund_mapping_result"][0][
            "refund_id"] = refund_id
        return reply

    def _returngoods_agree(self, form: dict[str, str]) -> dict[str, Any]:
        self._set(form["refund_id"], "WAIT_BUYER_RETURN_GOODS")
        return body("rp_returngoods_agree")

    def _refuse(self, form: dict[str, str]) -> dict[str, Any]:
        self._set(form["refund_id"], "SELLER_REFUSE_BUYER")
        return body("refund_refuse")

    def _goods_refuse(self, form: dict[str, str]) -> dict[str, Any]:
        self._set(form["refund_id"], "SELLER_REFUSE_BUYER")
        return body("rp_returngoods_refuse")


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


#: A plain Taobao shop's return address (the settings of every non-Tmall test shop).
RETURN_ADDRESS = ReturnAddress(name="售后仓", address="浙江省杭州市余杭区文一西路1号",
                               post="311100", mobile="13800000000")


def make_settings(**kw: Any) -> TaobaoSettings:
    """Settings matching the reference requests (app key, secret, session)."""
    base: dict[str, Any] = {"app_key": "12345678", "app_secret": SECRET, "session": SESSION,
                            "seller_address_id": "100200300", "page_size": 2,
                            "lookback": timedelta(days=3), "return_address": RETURN_ADDRESS}
    base.update(kw)
    return TaobaoSettings(**base)


@pytest.fixture
def top(http: responses.RequestsMock) -> FakeTop:
    return FakeTop(http)


@pytest.fixture
def shop(top: FakeTop) -> FakeShop:
    return FakeShop(top)


@pytest.fixture
def market(sleeps: Sleeps) -> TaobaoMarketplace:
    return TaobaoMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)


@pytest.fixture
def tmall(sleeps: Sleeps) -> TaobaoMarketplace:
    return TaobaoMarketplace(make_settings(tmall=True), clock=lambda: NOW, sleep=sleeps)


@pytest.fixture
def lenient_http() -> Iterator[responses.RequestsMock]:
    """For the conformance kit, whose checks each exercise part of the fake."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
