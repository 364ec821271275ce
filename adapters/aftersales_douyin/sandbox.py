"""A deterministic, in-process Douyin Shop: the demo's world, reached through the real adapter.

:class:`DouyinWorld` holds after-sales requests of every kind Douyin has
(退货退款, 已发货/未发货仅退款, 换货, 价保, 补寄, 维修) with fen amounts,
``status_deadline`` and the odd risk verdict and dispute, and answers the
paths the adapter calls. :class:`WorldTransport` is a ``requests`` transport
adapter that serves it, so :meth:`DouyinWorld.marketplace` builds a real
:class:`~aftersales_douyin.DouyinMarketplace` whose signed HTTP calls never
leave the process. The world checks every signature like the platform does.
Nothing here is a payload the platform published: it is a simulation.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter

from aftersales_douyin.adapter import DouyinMarketplace
from aftersales_douyin.client import sign
from aftersales_douyin.settings import DouyinSettings

__all__ = ["HOST", "DouyinWorld", "WorldTransport"]

HOST = "https://douyin-sandbox.invalid"
_KEY, _SECRET = "sandbox-app", "sandbox-secret"
#: (aftersale_type, status, product, price in fen) of the world's request kinds.
_KINDS: tuple[tuple[int, int, str, int], ...] = (
    (2, 6, "羊毛围巾", 12990),  # 未发货仅退款, awaiting the shop
    (1, 6, "保温杯", 8990),  # 已发货仅退款
    (0, 11, "登山鞋", 25900),  # 退货退款, goods on their way back
    (0, 6, "连衣裙", 19900),
    (3, 6, "运动T恤", 9900),  # 换货
    (6, 6, "空气炸锅", 39900),  # 价保 (a price drop)
    (7, 6, "零食礼盒", 6990),  # 补寄
    (8, 6, "蓝牙耳机", 29900),  # 维修
)
_REASONS = ("不想要了", "商品质量问题", "少件/漏发", "价格变化", "尺寸不合适", "商品破损/包装破损")


def _ok(data: Any) -> dict[str, Any]:
    return {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "sandbox",
            "data": data}


def _fail(msg: str) -> dict[str, Any]:
    return {"code": 50002, "msg": "业务处理失败", "sub_code": "isv.business-failed",
            "sub_msg": msg, "log_id": "sandbox"}


class DouyinWorld:
    """A Douyin shop with ``count`` after-sales requests, ``now`` fixed for repeatable runs."""

    def __init__(self, *, seed: int = 0, count: int = 24,
                 now: datetime = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) -> None:
        self.now = now
        self.items: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.pictures: list[bytes] = []
        rnd = random.Random(seed)  # noqa: S311 (a repeatable simulation, not a secret)
        epoch = int(now.timestamp())
        for i in range(count):
            type_code, status, product, price = _KINDS[i % len(_KINDS)]
            price += rnd.randint(0, 99)  # odd fen
            aid, order = f"71400{seed:02d}{i:08d}", f"49000{seed:02d}{i:08d}"
            updated = epoch - rnd.randint(300, 5 * 86400)
            refund = price if type_code in (0, 1, 2) else (
                price // 10 if type_code == 6 else 0)
            self.items[aid] = {
                "aftersale_info": {
                    "aftersale_id": aid, "aftersale_type": type_code,
                    "aftersale_status": status, "apply_time": updated - 3600,
                    "update_time": updated, "create_time": updated - 3600,
                    "status_deadline": epoch + rnd.randint(2, 48 if status == 6 else 120) * 3600,
                    "refund_amount": refund, "refund_post_amount": 0, "refund_status": 1,
                    "arbitrate_status": 4 if i % 11 == 5 else 0, "got_pkg": 0 if type_code == 1
                    else 1, "return_logistics_code": f"SF14000000{i:05d}" if status == 11 else "",
                    "return_logistics_company_name": "顺丰速运" if status == 11 else "",
                    "risk_decision_code": 1 if i % 7 == 3 else 0,
                    "risk_decision_reason": "退货物流异常" if i % 7 == 3 else "",
                    "risk_decision_description": "", "remark": ""},
                "order_info": {"shop_order_id": order, "related_order_info": [{
                    "sku_order_id": order + "1", "item_num": 1, "aftersale_item_num": 1,
                    "product_name": product, "shop_sku_code": f"SKU-{i % len(_KINDS)}",
                    "pay_amount": price}]},
                "text_part": {"reason_text": _REASONS[i % len(_REASONS)]},
            }
            self.orders[order] = {
                "order_id": order, "order_status": 2 if type_code == 2 else 5,
                "create_time": updated - 10 * 86400, "update_time": updated - 7200,
                "order_amount": price, "pay_amount": price, "post_amount": 0,
                "doudian_open_id": f"buyer-{i % 9}", "sku_order_list": [{
                    "order_id": order + "1", "item_num": 1, "origin_amount": price,
                    "pay_amount": price, "product_name": product,
                    "code": f"SKU-{i % len(_KINDS)}"}],
                "logistics_info": [] if type_code == 2 else [{
                    "tracking_no": f"YT24000000{i:05d}", "company": "yuantong",
                    "company_name": "圆通快递", "ship_time": updated - 8 * 86400}],
            }
        self.routes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "/afterSale/List": self._list, "/afterSale/Detail": self._detail,
            "/afterSale/operate": self._operate, "/afterSale/timeExtend": self._extend,
            "/afterSale/rejectReasonCodeList": self._reasons,
            "/afterSale/submitEvidence": lambda p: _ok({}),
            "/afterSale/returnGoodsToWareHouseSuccess": lambda p: _ok({}),
            "/order/orderDetail": lambda p: _ok(
                {"shop_order_detail": self.orders[str(p["shop_order_id"])]}),
            "/order/searchList": self._search,
            # byte_url is withdrawn from this answer (【已下线】): the link comes from
            # material/queryMaterialDetail once the review passed.
            "/material/uploadImageSync": lambda p: _ok({
                "material_id": f"7000{p['file_uri'].rsplit('/', 1)[-1]}", "folder_id": "0",
                "is_new": True, "audit_status": 2}),
            "/material/queryMaterialDetail": lambda p: _ok({"material_info": {
                "material_id": p["material_id"], "audit_status": 3,
                "byte_url": f"{HOST}/img/{p['material_id']}.png"}}),
        }

    def marketplace(self, name: str = "douyin-sandbox") -> DouyinMarketplace:
        """A real Douyin adapter wired to this world (no network)."""
        market = DouyinMarketplace(
            DouyinSettings(app_key=_KEY, app_secret=_SECRET, access_token="sandbox-token",  # noqa: S106
                           base_url=HOST, return_address_id=1, lookback=timedelta(days=8),
                           page_size=10),
            name=name, clock=lambda: self.now)
        market.client.api.session.mount(HOST, WorldTransport(self))
        return market

    # ---------------------------------------------------------------- the platform

    def answer(self, path: str, query: dict[str, str], params: dict[str, Any],
               body: str) -> dict[str, Any]:
        """The platform's answer to one signed call."""
        expected = sign(_KEY, _SECRET, query.get("method", ""), body, query.get("timestamp", ""))
        given = query.get("sign", "").encode("utf-8")
        if not hmac.compare_digest(given, expected.encode("ascii")):  # constant time
            return {"code": 40004, "msg": "非法的参数", "sub_code": "isv.signature-invalid",
                    "sub_msg": "签名错误", "log_id": "sandbox"}
        if path == "/open/binaryupload":
            try:
                self.pictures.append(base64.b64decode(params.get("file_content", ""),
                                                      validate=True))
            except (binascii.Error, TypeError):
                return _fail("file_content is not base64")
            return _ok({"store_uri": f"tos-sandbox/{len(self.pictures)}"})
        route = self.routes.get(path)
        return route(params) if route else _fail(f"unknown path {path}")

    def _touch(self, info: dict[str, Any], **changes: Any) -> None:
        info.update(changes)
        info["update_time"] = max(info["update_time"] + 1, int(self.now.timestamp()) - 120)

    def _list(self, p: dict[str, Any]) -> dict[str, Any]:
        hits = sorted((it for it in self.items.values()
                       if p["update_start_time"] <= it["aftersale_info"]["update_time"]
                       <= p["update_end_time"]),
                      key=lambda it: it["aftersale_info"]["update_time"], reverse=True)
        size, page = int(p["size"]), int(p["page"])
        return _ok({"items": hits[page * size:(page + 1) * size], "total": len(hits),
                    "has_more": (page + 1) * size < len(hits), "page": page, "size": size})

    def _search(self, p: dict[str, Any]) -> dict[str, Any]:
        hits = sorted((o for o in self.orders.values()
                       if p["update_time_start"] <= o["update_time"] <= p["update_time_end"]),
                      key=lambda o: o["update_time"], reverse=True)
        size, page = int(p["size"]), int(p["page"])
        return _ok({"shop_order_list": hits[page * size:(page + 1) * size],
                    "total": len(hits), "page": page, "size": size})

    def _detail(self, p: dict[str, Any]) -> dict[str, Any]:
        """afterSale/Detail: the listed request in the detail's own spellings."""
        item = self.items[str(p["after_sale_id"])]
        info, order = item["aftersale_info"], item["order_info"]
        return _ok({"process_info": {
            "after_sale_info": {
                "after_sale_id": info["aftersale_id"],
                "after_sale_status": info["aftersale_status"],
                "after_sale_type": info["aftersale_type"], "refund_status": info["refund_status"],
                "refund_total_amount": info["refund_amount"] + info["refund_post_amount"],
                "refund_post_amount": info["refund_post_amount"],
                "apply_time": info["apply_time"], "update_time": info["update_time"],
                "status_deadline": info["status_deadline"], "got_pkg": info["got_pkg"],
                "reason": item["text_part"]["reason_text"],
                "risk_decsison_code": info["risk_decision_code"],
                "risk_decsison_reason": info["risk_decision_reason"],
                "risk_decsison_description": info["risk_decision_description"]},
            "arbitrate_info": {"arbitrate_status": info["arbitrate_status"]},
            "logistics_info": {"return": {
                "tracking_no": info["return_logistics_code"],
                "company_name": info["return_logistics_company_name"]}}},
            "order_info": {"shop_order_id": order["shop_order_id"], "sku_order_infos": [
                {"sku_order_id": sku["sku_order_id"], "item_quantity": sku["item_num"],
                 "after_sale_item_count": sku["aftersale_item_num"],
                 "product_name": sku["product_name"], "shop_sku_code": sku["shop_sku_code"],
                 "pay_amount": sku["pay_amount"]} for sku in order["related_order_info"]]}})

    def _operate(self, p: dict[str, Any]) -> dict[str, Any]:
        code, item = int(p["type"]), p["items"][0]
        info = self.items[str(item["aftersale_id"])]["aftersale_info"]
        if item.get("update_time") not in (None, info["update_time"]):
            return _fail("售后状态错误")
        moves = {101: 7, 301: 7, 102: 27, 112: 29, 202: 27, 302: 27, 111: 12, 201: 12}
        paid = code in (111, 201)
        self._touch(info, aftersale_status=moves[code], refund_status=3 if paid else 1,
                    status_deadline=0 if paid or code in (102, 112, 202, 302)
                    else info["status_deadline"])
        return _ok({"items": [{"aftersale_id": info["aftersale_id"], "status_code": 0}]})

    def _extend(self, p: dict[str, Any]) -> dict[str, Any]:
        info = self.items[str(p["aftersale_id"])]["aftersale_info"]
        self._touch(info, status_deadline=info["status_deadline"] + 3 * 86400)
        return _ok({})

    def _reasons(self, p: dict[str, Any]) -> dict[str, Any]:
        del p
        return _ok({"items": [
            {"reject_reason_code": 1001, "reason": "退回商品影响二次销售", "evidence_need": "Y",
             "evidence_description": "上传退回商品的实拍图"},
            {"reject_reason_code": 1002, "reason": "买家未退回商品", "evidence_need": "N"}]})


class WorldTransport(BaseAdapter):
    """A ``requests`` transport adapter that hands each call to a :class:`DouyinWorld`."""

    def __init__(self, world: DouyinWorld) -> None:
        super().__init__()
        self.world = world

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        """Serve one prepared request from the world."""
        parts = urlsplit(request.url or "")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = request.body or b""
        raw = raw.encode("utf-8") if isinstance(raw, str) else raw
        text = raw.decode("utf-8") or "{}"
        answer = self.world.answer(parts.path, query, json.loads(text), text)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json;charset=UTF-8"
        response._content = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to release."""
