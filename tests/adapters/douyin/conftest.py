"""Shared pieces of the Douyin tests: fixtures, an independent signer, a fake shop.

``FakeDoudian`` answers every path under the API host through a
``responses`` callback. It checks each request's signature with
:func:`independent_sign` (written here from the platform's description,
sharing no code with the adapter: its own JSON canonicalisation and a
hand-made HMAC), routes on the path, and records each call. ``FakeShop``
keeps after-sales requests that change as the shop acts on them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from aftersales_douyin import DouyinMarketplace, DouyinSettings

FIXTURES = Path(__file__).parent / "fixtures"
HOST = "https://openapi-fxg.jinritemai.com"
APP_KEY = "7000000000000000001"
SECRET = "douyin-test-secret"
TOKEN = "dy-access-token-0123456789"
#: 2024-05-20 10:00:00 in Shanghai, the time of every reference request.
NOW = datetime(2024, 5, 20, 2, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())


def fx(name: str) -> dict[str, Any]:
    """A fixture file (``_source``, ``_status``, ``body``)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def body(name: str) -> dict[str, Any]:
    """A fixture's answer body (a deep copy, safe to edit)."""
    return copy.deepcopy(fx(name)["body"])


def _hmac_sha256(key: bytes, msg: bytes) -> str:
    # RFC 2104 by hand, so the check does not share the hmac module with the adapter.
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + msg).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()


def independent_json(text: str) -> str:
    """The SDK's re-serialisation, done with the standard library alone (no floats here)."""
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def independent_sign(query: dict[str, str], body_text: str, secret: str) -> str:
    """The Douyin signature, computed independently of the adapter."""
    param = independent_json(body_text or "{}")
    text = (f"{secret}app_key{query['app_key']}method{query['method']}param_json{param}"
            f"timestamp{query['timestamp']}v{query['v']}{secret}")
    return _hmac_sha256(secret.encode(), text.encode())


class Sleeps(list[float]):
    """Records the waits the retry layer asks for, so tests never sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


Reply = dict[str, Any] | Exception | tuple[int, str] | Callable[[dict[str, Any]], Any]


def ok(data: Any) -> dict[str, Any]:
    """A success envelope around ``data``."""
    return {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "L",
            "data": data}


class FakeDoudian:
    """The open platform: verifies signatures, routes on the path, records calls."""

    def __init__(self, rsps: responses.RequestsMock, secret: str = SECRET,
                 host: str = HOST) -> None:
        self.secret = secret
        self.calls: list[dict[str, Any]] = []
        self.queues: dict[str, list[Reply]] = {}
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        rsps.add_callback(responses.POST, re.compile(re.escape(host) + r"/.*"),
                          callback=self._handle)

    def queue(self, path: str, *replies: Reply) -> None:
        """Answer the next calls of ``path`` with ``replies``, in order."""
        self.queues.setdefault(path, []).extend(replies)

    def handle(self, path: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Answer every call of ``path`` (once its queue is empty) with ``handler(call)``."""
        self.handlers[path] = handler

    def paths(self) -> list[str]:
        """The path of every call so far, in order."""
        return [c["path"] for c in self.calls]

    def _handle(self, request: Any) -> Any:
        parts = urlsplit(request.url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = request.body or b""
        raw = raw.encode("utf-8") if isinstance(raw, str) else raw
        ctype = request.headers.get("Content-Type", "")
        files: dict[str, tuple[str, str, bytes]] = {}
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
            text = "{}"
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if part.get_filename():
                    files[name] = (part.get_filename(), part.get_content_type(), payload)
                elif name == "param_json":
                    text = payload.decode("utf-8")
        else:
            text = raw.decode("utf-8")
        call = {"path": parts.path, "query": query, "params": json.loads(text or "{}"),
                "raw": text, "files": files}
        self.calls.append(call)
        assert query.get("sign_method") == "hmac-sha256"
        assert query.get("v") == "2"
        assert query.get("method") == parts.path.strip("/").replace("/", ".")
        if query.get("sign") != independent_sign(query, text, self.secret):
            return self._json({"code": 40004, "msg": "非法的参数", "sub_code":
                               "isv.signature-invalid", "sub_msg": "签名错误", "log_id": "S"})
        queue = self.queues.get(parts.path)
        reply: Any
        if queue:
            reply = queue.pop(0)
        elif parts.path in self.handlers:
            reply = self.handlers[parts.path]
        else:
            raise AssertionError(f"unexpected Douyin call {parts.path}")
        if callable(reply) and not isinstance(reply, Exception):
            reply = reply(call)
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


class FakeShop:
    """A Douyin shop behind :class:`FakeDoudian`: after-sales requests and their orders.

    Request ``i`` was updated ``i * 3`` hours before ``NOW`` minus a minute; its
    type cycles through refund-only before shipment, return and refund-only
    after shipment; two share a second on purpose.
    """

    def __init__(self, api: FakeDoudian, count: int = 9) -> None:
        self.api = api
        template = body("aftersale_list")["data"]["items"]
        self.items: dict[str, dict[str, Any]] = {}
        for i in range(count):
            item = copy.deepcopy(template[i % 2])
            info = item["aftersale_info"]
            stamp = EPOCH - 3 * 3600 * i - 60
            if i == 2:
                stamp = EPOCH - 3 * 3600 - 60  # the same second as request 1
            aid = f"71400000000000001{i:02d}"
            order = f"49000000000000001{i:02d}"
            info.update(aftersale_id=aid, update_time=stamp, apply_time=stamp - 3600,
                        aftersale_type=[2, 0, 1][i % 3], aftersale_status=6 if i % 3 != 1
                        else 11, refund_amount=1000 + 100 * i, refund_post_amount=0,
                        refund_status=1)
            item["order_info"]["shop_order_id"] = order
            item["order_info"]["related_order_info"][0]["sku_order_id"] = order + "1"
            self.items[aid] = item
        self.operated: list[tuple[int, dict[str, Any]]] = []
        self.evidence: list[dict[str, Any]] = []
        self.before_page: Callable[[int], None] = lambda page: None
        api.handle("/afterSale/List", self._list)
        api.handle("/afterSale/Detail", self._detail)
        api.handle("/afterSale/operate", self._operate)
        api.handle("/afterSale/rejectReasonCodeList", lambda c: body("reject_reason_code_list"))
        api.handle("/afterSale/submitEvidence", self._submit)
        api.handle("/afterSale/timeExtend", self._extend)
        api.handle("/afterSale/returnGoodsToWareHouseSuccess", lambda c: ok({}))
        api.handle("/order/orderDetail", self._order)
        api.handle("/order/searchList", self._orders)
        api.handle("/logistics/trackNoRouteDetail", lambda c: body("track_no_route_detail"))
        api.handle("/open/binaryupload", self._upload)
        api.handle("/material/uploadImageSync", self._material)
        api.handle("/material/queryMaterialDetail", self._material_detail)
        self.uploads: list[bytes] = []
        self.materials: dict[str, str] = {}

    def info(self, aid: str) -> dict[str, Any]:
        """The stored ``aftersale_info`` of one request."""
        info: dict[str, Any] = self.items[aid]["aftersale_info"]
        return info

    def _touch(self, aid: str, **changes: Any) -> None:
        info = self.info(aid)
        info.update(changes)
        info["update_time"] = max(info["update_time"] + 1, EPOCH - 30)

    def _list(self, call: dict[str, Any]) -> dict[str, Any]:
        p = call["params"]
        self.before_page(int(p["page"]))
        hits = [it for it in self.items.values()
                if p["update_start_time"] <= it["aftersale_info"]["update_time"]
                <= p["update_end_time"]]
        hits.sort(key=lambda it: it["aftersale_info"]["update_time"], reverse=True)
        size, page = int(p["size"]), int(p["page"])
        got = hits[page * size:(page + 1) * size]
        return ok({"items": got, "has_more": (page + 1) * size < len(hits),
                   "total": len(hits), "page": page, "size": len(got)})

    def _detail(self, call: dict[str, Any]) -> dict[str, Any]:
        aid = str(call["params"]["after_sale_id"])
        if aid not in self.items:
            return ok({})
        info = self.info(aid)
        answer = body("aftersale_detail")
        detail = answer["data"]["process_info"]["after_sale_info"]
        detail.update(after_sale_id=int(aid), after_sale_status=info["aftersale_status"],
                      after_sale_type=info["aftersale_type"],
                      refund_status=info.get("refund_status", 1),
                      refund_total_amount=info["refund_amount"] + info["refund_post_amount"],
                      refund_post_amount=info["refund_post_amount"],
                      update_time=info["update_time"], status_deadline=info["status_deadline"])
        # the rest of the request as this shop lists it, in the detail's own spellings
        order = self.items[aid]["order_info"]
        answer["data"]["order_info"]["shop_order_id"] = int(order["shop_order_id"])
        answer["data"]["order_info"]["sku_order_infos"] = [
            {"sku_order_id": int(sku["sku_order_id"]), "order_status": sku["order_status"],
             "pay_amount": sku["pay_amount"], "item_quantity": sku["item_num"],
             "product_name": sku["product_name"], "shop_sku_code": sku["shop_sku_code"],
             "after_sale_item_count": sku["aftersale_item_num"]}
            for sku in order["related_order_info"]]
        answer["data"]["process_info"]["logistics_info"]["return"].update(
            tracking_no=info["return_logistics_code"],
            company_name=info["return_logistics_company_name"])
        answer["data"]["process_info"]["arbitrate_info"]["arbitrate_status"] = info[
            "arbitrate_status"]
        detail.update(apply_time=info["apply_time"], got_pkg=info["got_pkg"],
                      after_sale_apply_count=info["aftersale_num"],
                      risk_decsison_code=info["risk_decision_code"],
                      risk_decsison_reason=info["risk_decision_reason"],
                      risk_decsison_description=info["risk_decision_description"],
                      reason=self.items[aid]["text_part"]["reason_text"])
        return answer

    def _operate(self, call: dict[str, Any]) -> dict[str, Any]:
        code = int(call["params"]["type"])
        item = call["params"]["items"][0]
        aid = str(item["aftersale_id"])
        info = self.info(aid)
        if "update_time" in item and item["update_time"] != info["update_time"]:
            return body("error_operate_state")
        self.operated.append((code, item))
        moves = {101: 7, 301: 7, 102: 27, 202: 27, 302: 27, 112: 29, 111: 12, 201: 12}
        self._touch(aid, aftersale_status=moves[code],
                    refund_status=3 if code in (111, 201) else info.get("refund_status"))
        answer = body("operate_ok")
        answer["data"]["items"][0]["aftersale_id"] = int(aid)
        return answer

    def _upload(self, call: dict[str, Any]) -> dict[str, Any]:
        # As the official SDKs send it: JSON, file_content a string (base64 here).
        self.uploads.append(base64.b64decode(call["params"]["file_content"], validate=True))
        return ok({"store_uri": f"tos-cn-i-test/upload-{len(self.uploads)}"})

    def _material(self, call: dict[str, Any]) -> dict[str, Any]:
        # byte_url is withdrawn from this answer (【已下线】): the detail gives the link.
        uri = call["params"]["file_uri"]
        material_id = "7000" + uri[-1]
        self.materials[material_id] = uri
        return ok({"material_id": material_id, "folder_id": "0", "is_new": True,
                   "audit_status": 2})

    def _material_detail(self, call: dict[str, Any]) -> dict[str, Any]:
        material_id = call["params"]["material_id"]
        uri = self.materials.get(material_id)
        return ok({"material_info": {
            "material_id": material_id, "audit_status": 3 if uri else 2,
            "byte_url": f"https://p3-aio.ecombdimg.com/{uri}.png" if uri else ""}})

    def _submit(self, call: dict[str, Any]) -> dict[str, Any]:
        self.evidence.append(call["params"])
        return ok({})

    def _extend(self, call: dict[str, Any]) -> dict[str, Any]:
        aid = str(call["params"]["aftersale_id"])
        self._touch(aid, status_deadline=self.info(aid)["status_deadline"] + 2 * 86400)
        return ok({})

    def _order_of(self, order_id: str) -> dict[str, Any]:
        item = next(it for it in self.items.values()
                    if it["order_info"]["shop_order_id"] == order_id)
        info = item["aftersale_info"]
        detail = body("order_detail")["data"]["shop_order_detail"]
        amount = info["refund_amount"]
        sku = dict(detail["sku_order_list"][0], order_id=order_id + "1",
                   origin_amount=amount, pay_amount=amount)
        detail.update(order_id=order_id, pay_amount=amount, post_amount=0, order_amount=amount,
                      update_time=info["update_time"] - 1800, sku_order_list=[sku])
        return detail

    def _order(self, call: dict[str, Any]) -> dict[str, Any]:
        return ok({"shop_order_detail": self._order_of(str(call["params"]["shop_order_id"]))})

    def _orders(self, call: dict[str, Any]) -> dict[str, Any]:
        p = call["params"]
        orders = [self._order_of(it["order_info"]["shop_order_id"])
                  for it in self.items.values()]
        hits = [o for o in orders
                if p["update_time_start"] <= o["update_time"] <= p["update_time_end"]]
        hits.sort(key=lambda o: o["update_time"], reverse=True)
        size, page = int(p["size"]), int(p["page"])
        return ok({"shop_order_list": hits[page * size:(page + 1) * size],
                   "total": len(hits), "page": page, "size": size})


def make_settings(**kw: Any) -> DouyinSettings:
    """Settings matching the reference requests."""
    base: dict[str, Any] = {"app_key": APP_KEY, "app_secret": SECRET, "access_token": TOKEN,
                            "page_size": 2, "lookback": timedelta(days=2),
                            "return_address_id": 900001}
    base.update(kw)
    return DouyinSettings(**base)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def api(http: responses.RequestsMock) -> FakeDoudian:
    return FakeDoudian(http)


@pytest.fixture
def shop(api: FakeDoudian) -> FakeShop:
    return FakeShop(api)


@pytest.fixture
def market(sleeps: Sleeps) -> DouyinMarketplace:
    return DouyinMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)


@pytest.fixture
def lenient_http() -> Iterator[responses.RequestsMock]:
    """For the conformance kit, whose checks each exercise part of the fake."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
