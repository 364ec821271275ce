"""Shared pieces of the JD tests: fixtures, an independent signer, a fake JOS shop.

``FakeJos`` answers the router URL through a ``responses`` callback. It
checks every request's signature with :func:`independent_sign` (written
here from the developer guide, sharing no code with the adapter), reads the
business parameters out of ``360buy_param_json``, routes on ``method`` and
records each call. ``FakeJdShop`` keeps refund applications, service
orders, comments and orders, filters them by the time parameters each API
takes and pages them, and applies replyRefund.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
import responses
from aftersales_jd import JdMarketplace, JdSettings

FIXTURES = Path(__file__).parent / "fixtures"
ROUTER = "https://api.jd.com/routerjson"
SECRET = "jd-test-secret"
TOKEN = "jd-access-token-0123456789"
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 2024-11-21 10:00:00 in Shanghai.
NOW = datetime(2024, 11, 21, 2, 0, tzinfo=UTC)


def fx(name: str) -> dict[str, Any]:
    """A fixture file."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def body(name: str) -> dict[str, Any]:
    """A fixture's answer body (a deep copy, safe to edit)."""
    return copy.deepcopy(fx(name)["body"])


def independent_sign(params: dict[str, str], secret: str) -> str:
    """The JOS signature, computed independently of the adapter."""
    text = "".join(k + params[k] for k in sorted(params, key=lambda k: k.encode()) if k != "sign")
    return hashlib.md5((secret + text + secret).encode("utf-8")).hexdigest().upper()


def china_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Shanghai."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _read(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


def _responce(method: str) -> str:
    return method.replace(".", "_") + "_responce"


def _token_is_jd(token: str) -> Callable[[Any], tuple[bool, str]]:
    """A ``responses`` matcher: the request carries this shop's access token."""
    def match(request: Any) -> tuple[bool, str]:
        raw = request.body or ""
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        found = dict(parse_qsl(text)).get("access_token") == token
        return found, "" if found else "another shop's token"
    return match


class Sleeps(list[float]):
    """Records the waits the retry layer asks for, so tests never sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FakeJos:
    """The router: verifies signatures, routes on ``method``, records calls."""

    def __init__(self, rsps: responses.RequestsMock, secret: str = SECRET) -> None:
        self.secret = secret
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        rsps.add_callback(responses.POST, ROUTER, callback=self._handle)

    def handle(self, method: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Answer every call of ``method`` with ``handler(business params)``."""
        self.handlers[method] = handler

    def methods(self) -> list[str]:
        """The ``method`` of every call so far."""
        return [m for m, _ in self.calls]

    def _handle(self, request: Any) -> Any:
        raw = request.body or ""
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        form = dict(parse_qsl(text, keep_blank_values=True))
        assert set(form) == {"method", "app_key", "access_token", "timestamp", "v",
                             "360buy_param_json", "sign"}
        params = json.loads(form["360buy_param_json"])
        self.calls.append((form["method"], params))
        if form["sign"] != independent_sign(form, self.secret):
            return self._json({"error_response": {"code": "7", "zh_desc": "签名无效",
                                                  "en_desc": "Invalid signature"}})
        reply = self.handlers[form["method"]](params)
        if isinstance(reply, Exception):
            return reply
        if isinstance(reply, tuple):
            return (reply[0], {"Content-Type": "text/html"}, reply[1])
        return self._json(reply)

    @staticmethod
    def _json(payload: Any) -> tuple[int, dict[str, str], str]:
        return (200, {"Content-Type": "application/json;charset=UTF-8"},
                json.dumps(payload, ensure_ascii=False))


class FakeJdShop:
    """A POP shop behind :class:`FakeJos`.

    Refund application ``i`` was applied ``i * 5`` hours before ``NOW`` minus
    a minute; odd ones were checked (approved) two hours later; applications
    1 and 2 share a second. Service orders (when asked with ``buId``) and
    comments are spread the same way.
    """

    def __init__(self, jos: FakeJos, refunds: int = 9, services: int = 5,
                 comments: int = 7) -> None:
        self.jos = jos
        tpl = body("refundapply_query_page_list")[
            "jingdong_pop_afs_soa_refundapply_queryPageList_responce"]["queryResult"]["result"][0]
        self.refunds: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        order_tpl = body("pop_order_get")["jingdong_pop_order_get_responce"]["orderDetailInfo"][
            "orderInfo"]
        for i in range(refunds):
            applied = NOW - timedelta(hours=5 * i, minutes=1)
            if i == 2:
                applied = NOW - timedelta(hours=5, minutes=1)
            order_id = str(281100300000 + i)
            r = dict(tpl, id=61000100 + i, orderId=order_id, applyTime=china_time(applied),
                     applyRefundSum=1000 + 100 * i, status=0, checkTime=None)
            self.refunds[str(r["id"])] = r
            item = dict(order_tpl["itemInfoList"][0], jdPrice=f"{10 + i}.00")
            self.orders[order_id] = dict(order_tpl, orderId=order_id, orderTotalPrice=f"{10 + i}.00",
                                         orderPayment=f"{10 + i}.00", itemInfoList=[item])
        svc_tpl = body("asc_query_list")["jingdong_asc_query_list_responce"]["pageResult"]["data"][0]
        self.services = []
        for i in range(services):
            changed = NOW - timedelta(hours=7 * i, minutes=3)
            self.services.append(dict(svc_tpl, serviceId=7700100 + i, applyId=8800100 + i,
                                      serviceStatus=10001, sysVersion=1,
                                      updateDate=int(changed.timestamp() * 1000),
                                      customerExpect=[10, 20, 30, 80, 11][i % 5]))
        #: the review writes JD applied: (method, params)
        self.audits: list[tuple[str, dict[str, Any]]] = []
        cm_tpl = body("comments_get_vender_comments")[
            "jingdong_pop_PopCommentJsfService_getVenderCommentsForJos_responce"]["comments"][0]
        self.comments = [dict(cm_tpl, commentId=str(15900000100 + i), score=1 + i % 5,
                              creationTime=china_time(NOW - timedelta(hours=9 * i, minutes=2)))
                         for i in range(comments)]
        self.replies: list[dict[str, Any]] = []
        self.approved: list[str] = []
        self.refused: list[dict[str, Any]] = []
        jos.handle("jingdong.pop.afs.soa.refundapply.queryPageList", self._refund_list)
        jos.handle("jingdong.pop.afs.soa.refundapply.queryById", self._refund_get)
        jos.handle("jingdong.pop.afs.soa.refundapply.replyRefund", self._reply_refund)
        jos.handle("jingdong.asc.query.list", self._service_list)
        jos.handle("jingdong.asc.audit.detail", self._audit_detail)
        jos.handle("jingdong.asc.audit.refuse", self._audit_refuse)
        jos.handle("jingdong.asc.audit.send", self._audit_send)
        jos.handle("jingdong.asc.receive.register", self._receive_register)
        jos.handle("jingdong.pop.PopCommentJsfService.getVenderCommentsForJos", self._comments)
        jos.handle("jingdong.pop.PopCommentJsfService.saveReply", self._save_reply)
        jos.handle("jingdong.pop.order.get", self._order_get)

    @staticmethod
    def _slice(items: list[Any], page: int, size: int) -> list[Any]:
        return items[(page - 1) * size : page * size]

    def _refund_list(self, p: dict[str, Any]) -> dict[str, Any]:
        if "applyTimeStart" in p:
            key, lo, hi = "applyTime", _read(p["applyTimeStart"]), _read(p["applyTimeEnd"])
        else:
            key, lo, hi = "checkTime", _read(p["checkTimeStart"]), _read(p["checkTimeEnd"])
        hits = [r for r in self.refunds.values() if r.get(key) and lo <= _read(r[key]) <= hi]
        hits.sort(key=lambda r: r["id"])
        return {_responce("jingdong.pop.afs.soa.refundapply.queryPageList"): {
            "code": "0", "queryResult": {"success": True, "totalCount": len(hits),
                                         "result": self._slice(hits, p["pageIndex"],
                                                               p["pageSize"])}}}

    def _refund_get(self, p: dict[str, Any]) -> dict[str, Any]:
        found = [self.refunds[str(p["id"])]] if str(p["id"]) in self.refunds else []
        return {_responce("jingdong.pop.afs.soa.refundapply.queryById"): {
            "code": "0", "queryResult": {"success": True, "result": found}}}

    def set_status(self, refund_id: str, status: int) -> None:
        self.refunds[refund_id] = {**self.refunds[refund_id], "status": status,
                                   "checkTime": china_time(NOW - timedelta(minutes=2))}

    def _reply_refund(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["status"] == 1:
            self.approved.append(str(p["id"]))
        else:
            self.refused.append(p)
        self.set_status(str(p["id"]), p["status"])
        return body("refundapply_reply_refund")

    def _service_list(self, p: dict[str, Any]) -> dict[str, Any]:
        if "serviceId" in p:
            hits = [s for s in self.services if s["serviceId"] == p["serviceId"]]
        else:
            lo, hi = _read(p["updateTimeBegin"]), _read(p["updateTimeEnd"])
            hits = [s for s in self.services
                    if lo <= datetime.fromtimestamp(s["updateDate"] / 1000, UTC) <= hi]
        return {_responce("jingdong.asc.query.list"): {"code": "0", "pageResult": {
            "totalCount": len(hits), "data": self._slice(hits, p["pageNumber"], p["pageSize"])}}}

    def service(self, service_id: int) -> dict[str, Any]:
        """The service order ``service_id``."""
        return next(s for s in self.services if s["serviceId"] == service_id)

    def _audit_detail(self, p: dict[str, Any]) -> dict[str, Any]:
        bill = next(s for s in self.services if s["applyId"] == p["applyId"])
        answer = body("asc_audit_detail")
        data = answer["jingdong_asc_audit_detail_responce"]["result"]["data"]
        data.update(serviceIdList=[bill["serviceId"]], sysVersion=bill["sysVersion"],
                    applyDetailList=[{"applyDetailId": bill["applyId"] + 1,
                                      "applyDetailIdLong": bill["applyId"] + 1}])
        return answer

    def _audit(self, method: str, p: dict[str, Any], status: int) -> dict[str, Any]:
        bill = self.service(p["serviceId"])
        if p["sysVersion"] != bill["sysVersion"]:
            return body("asc_audit_stale_version")
        self.audits.append((method, p))
        bill.update(serviceStatus=status, sysVersion=bill["sysVersion"] + 1)
        return body(method.replace("jingdong.", "").replace(".", "_"))

    def _audit_refuse(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._audit("jingdong.asc.audit.refuse", p, 10004)

    def _audit_send(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._audit("jingdong.asc.audit.send", p, 10005)

    def _receive_register(self, p: dict[str, Any]) -> dict[str, Any]:
        """拆包登记: JD takes it only while the goods are awaited (10005), then 待处理."""
        bill = self.service(p["serviceId"])
        if bill["serviceStatus"] != 10005:
            answer = body("asc_audit_stale_version")
            return {_responce("jingdong.asc.receive.register"):
                    answer["jingdong_asc_audit_send_responce"]}
        self.audits.append(("jingdong.asc.receive.register", p))
        bill.update(serviceStatus=10007, sysVersion=bill["sysVersion"] + 1)
        return body("asc_receive_register")

    def _comments(self, p: dict[str, Any]) -> dict[str, Any]:
        lo, hi = _read(p["beginTime"]), _read(p["endTime"])
        hits = [c for c in self.comments if lo <= _read(c["creationTime"]) <= hi]
        return {_responce("jingdong.pop.PopCommentJsfService.getVenderCommentsForJos"): {
            "code": "0", "totalItem": len(hits),
            "comments": self._slice(hits, p["page"], p["pageSize"])}}

    def _save_reply(self, p: dict[str, Any]) -> dict[str, Any]:
        self.replies.append(p)
        return body("comment_save_reply")

    def _order_get(self, p: dict[str, Any]) -> dict[str, Any]:
        info = self.orders.get(str(p["order_id"]))
        return {_responce("jingdong.pop.order.get"): {"code": "0", "orderDetailInfo": {
            "apiResult": {"success": True}, "orderInfo": info}}}


#: The test shop's return address (JD area codes written for the tests).
RETURN_ADDRESS: dict[str, Any] = {
    "return_contact_name": "售后组", "return_contact_tel": "021-55550000",
    "return_zipcode": "200000", "return_province": 2, "return_city": 2813,
    "return_county": 51976, "return_detail_address": "仓库路 1 号",
    "return_address_type": 1}


def make_settings(**kw: Any) -> JdSettings:
    """Settings of the test shop."""
    base: dict[str, Any] = {"app_key": "jd-app-1", "app_secret": SECRET, "access_token": TOKEN,
                            "page_size": 2, "lookback": timedelta(days=2),
                            "operator_pin": "shop_admin"}
    if kw.get("vender_id"):
        base.update(RETURN_ADDRESS)
    base.update(kw)
    return JdSettings(**base)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def jos(http: responses.RequestsMock) -> FakeJos:
    return FakeJos(http)


@pytest.fixture
def shop(jos: FakeJos) -> FakeJdShop:
    return FakeJdShop(jos)


@pytest.fixture
def market(sleeps: Sleeps) -> JdMarketplace:
    return JdMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)


@pytest.fixture
def lenient_http() -> Iterator[responses.RequestsMock]:
    """For the conformance kit, whose checks each exercise part of the fake."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
