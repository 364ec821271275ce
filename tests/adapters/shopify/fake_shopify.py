"""A small stateful fake of one Shopify shop, served through ``responses``.

It answers the REST and GraphQL calls the adapter makes, the way Shopify
does: orders sorted by ``updated_at``, ``page_info`` and ``endCursor``
paging, inclusive ``updated_at`` filters, return state changes, and refunds
deduplicated by their ``@idempotent`` key. Used by the conformance kit and
the integration tests.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import responses

from .conftest import BASE, body

JSON = {"Content-Type": "application/json; charset=utf-8"}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeShop:
    """Orders 1..n, each with one requested return, changed one after another."""

    def __init__(self, mock: responses.RequestsMock, n: int = 7, page_size: int = 2,
                 base: str = BASE) -> None:
        self.base = base
        self.orders: dict[int, dict[str, Any]] = {}
        self.returns: dict[int, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.page_size = page_size
        for i in range(1, n + 1):
            stamp = f"2025-07-0{1 + i // 3}T10:00:{i // 2:02d}Z"  # some orders share a second
            order = copy.deepcopy(body("rest_orders_get")["order"])
            order.update(id=i, updated_at=stamp, name=f"#{1000 + i}")
            self.orders[i] = order
            ret = copy.deepcopy(body("graphql_return_get")["data"]["return"])
            ret.update(id=f"gid://shopify/Return/{i}00", name=f"#{1000 + i}-R1")
            ret["order"]["id"] = f"gid://shopify/Order/{i}"
            ret["returnLineItems"]["nodes"][0]["fulfillmentLineItem"]["lineItem"]["id"] = (
                "gid://shopify/LineItem/518995019")
            self.returns[i] = ret
        # One route per method, dispatched here: a test fires both whatever it calls.
        mock.add_callback(responses.GET, re.compile(rf"{re.escape(base)}/.*"), callback=self._get)
        mock.add_callback(responses.POST, re.compile(rf"{re.escape(base)}/.*"),
                          callback=self._post)

    def _get(self, request: Any) -> tuple[int, dict[str, str], str]:
        path = urlsplit(request.url).path
        if path.endswith("/orders.json"):
            return self._orders(request)
        if path.endswith("/fulfillments.json"):
            return self._fulfillments(request)
        return self._order(request)

    def _post(self, request: Any) -> tuple[int, dict[str, str], str]:
        if urlsplit(request.url).path.endswith("/graphql.json"):
            return self._graphql(request)
        return self._calculate(request)

    # ---------------------------------------------------------------- helpers

    def _sorted(self, since: str | None) -> list[dict[str, Any]]:
        rows = sorted(self.orders.values(), key=lambda o: (_when(o["updated_at"]), o["id"]))
        if since:
            rows = [o for o in rows if _when(o["updated_at"]) >= _when(since)]
        return rows

    def _ret_index(self, gid: str) -> int:
        return int(gid.rsplit("/", 1)[-1]) // 100

    def touch(self, i: int) -> None:
        """Shopify bumps the order's ``updated_at`` when its return changes."""
        self.orders[i]["updated_at"] = "2025-07-09T00:00:00Z"

    # ---------------------------------------------------------------- REST

    def _orders(self, request: Any) -> tuple[int, dict[str, str], str]:
        q = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        if "page_info" in q:
            offset, _, since = q["page_info"].partition("|")
            start = int(offset)
        else:
            start, since = 0, q.get("updated_at_min", "")
        rows = self._sorted(since or None)
        size = int(q.get("limit", self.page_size))
        page = rows[start:start + size]
        headers = dict(JSON)
        if start + size < len(rows):
            token = quote(f"{start + size}|{since}")
            headers["Link"] = f'<{self.base}/orders.json?limit={size}&page_info={token}>; rel="next"'
        return 200, headers, json.dumps({"orders": page})

    def _order(self, request: Any) -> tuple[int, dict[str, str], str]:
        i = int(re.findall(r"/orders/(\d+)\.json", request.url)[0])
        if i not in self.orders:
            return 404, JSON, json.dumps({"errors": "Not Found"})
        return 200, JSON, json.dumps({"order": self.orders[i]})

    def _fulfillments(self, request: Any) -> tuple[int, dict[str, str], str]:
        listed = copy.deepcopy(body("rest_fulfillments_list"))
        for f in listed["fulfillments"]:  # Shopify answers about the order asked for
            f["order_id"] = _order_in(request.url)
        return 200, JSON, json.dumps(listed)

    def _calculate(self, request: Any) -> tuple[int, dict[str, str], str]:
        calc = copy.deepcopy(body("rest_refunds_calculate"))
        # The fake values no lines: its suggestion is the payment's whole maximum, so
        # the refund's own amount is what is sent (a real suggestion is the lines' value).
        calc["refund"]["transactions"][0]["maximum_refundable"] = "10000.00"
        calc["refund"]["transactions"][0]["amount"] = "10000.00"
        calc["refund"]["shipping"]["maximum_refundable"] = "10000.00"
        for tx in calc["refund"]["transactions"]:
            tx["order_id"] = _order_in(request.url)
        return 200, JSON, json.dumps(calc)

    # ---------------------------------------------------------------- GraphQL

    def _graphql(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body)
        op = re.search(r"(?:query|mutation)\s+(\w+)", sent["query"])
        handler = getattr(self, f"_op_{op.group(1) if op else ''}")
        return 200, JSON, json.dumps({"data": handler(sent["variables"])})

    def _op_ListReturns(self, v: dict[str, Any]) -> dict[str, Any]:
        since = None
        if v.get("query"):
            since = re.findall(r"updated_at:>='([^']+)'", v["query"])[0]
        rows = self._sorted(since)
        start = int(v["after"]) if v.get("after") else 0
        page = rows[start:start + v["first"]]
        more = start + v["first"] < len(rows)
        return {"orders": {
            "pageInfo": {"hasNextPage": more, "endCursor": str(start + v["first"])},
            "nodes": [{"id": f"gid://shopify/Order/{o['id']}", "updatedAt": o["updated_at"],
                       "returns": {"pageInfo": {"hasNextPage": False},
                                   "nodes": [self.returns[o["id"]]]}} for o in page]}}

    def _mutate(self, gid: str, field: str, allowed: set[str], to: str) -> dict[str, Any]:
        i = self._ret_index(gid)
        ret = self.returns.get(i)
        if ret is None:
            return {field: {"return": None, "userErrors": [
                {"code": "NOT_FOUND", "field": ["id"], "message": "Return not found"}]}}
        if ret["status"] not in allowed:
            return {field: {"return": None, "userErrors": [
                {"code": "INVALID_STATE", "field": ["id"], "message": f"Return is {ret['status']}"}]}}
        ret["status"] = to
        self.touch(i)
        return {field: {"return": {"id": gid, "status": to}, "userErrors": []}}

    def _op_GetReturn(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"return": self.returns.get(self._ret_index(v["id"]))}

    def _op_ReturnApproveRequest(self, v: dict[str, Any]) -> dict[str, Any]:
        return self._mutate(v["input"]["id"], "returnApproveRequest", {"REQUESTED"}, "OPEN")

    def _op_ReturnDeclineRequest(self, v: dict[str, Any]) -> dict[str, Any]:
        return self._mutate(v["input"]["id"], "returnDeclineRequest", {"REQUESTED"}, "DECLINED")

    def _op_ReturnClose(self, v: dict[str, Any]) -> dict[str, Any]:
        return self._mutate(v["id"], "returnClose", {"OPEN"}, "CLOSED")

    def _op_ReturnReverse(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"return": {"id": v["id"], "reverseFulfillmentOrders": {
            "pageInfo": {"hasNextPage": False}, "nodes": [{
            "id": "gid://shopify/ReverseFulfillmentOrder/1", "lineItems": {
                "pageInfo": {"hasNextPage": False}, "nodes": [
                {"id": "gid://shopify/ReverseFulfillmentOrderLineItem/1", "totalQuantity": 1}]}}]}}}

    def _op_Dispose(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"reverseFulfillmentOrderDispose": {
            "reverseFulfillmentOrderLineItems": [{"id": x["reverseFulfillmentOrderLineItemId"]}
                                                 for x in v["inputs"]], "userErrors": []}}

    def _op_RefundCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        key = v["key"]
        if key not in self.refunds:  # @idempotent: one refund per key
            amount = sum(float(t["amount"]) for t in v["input"]["transactions"])
            self.refunds[key] = {
                "id": f"gid://shopify/Refund/{900 + len(self.refunds)}", "note": None,
                "createdAt": "2025-07-10T00:00:00Z",
                "totalRefundedSet": {"shopMoney": {"amount": f"{amount:.2f}",
                                                   "currencyCode": v["input"]["currency"]}}}
        return {"refundCreate": {"refund": self.refunds[key], "userErrors": []}}


def _order_in(url: str) -> int:
    """The order id in a REST path (``/orders/450789469/...``)."""
    return int(re.findall(r"/orders/(\d+)", url)[0])
