"""A small stateful fake of one WooCommerce store, served through ``responses``.

Orders sorted by modification time with ``modified_after`` (strictly after,
GMT), page numbers with ``X-WP-TotalPages``, order notes, refunds that keep
their ``meta_data``, and product reviews. Used by the conformance kit and the
integration tests.
"""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from .conftest import BASE, body

JSON = {"Content-Type": "application/json; charset=UTF-8"}


def _q(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


class FakeStore:
    """Orders 1..n and reviews 1..n, each changed one after another (some share a second)."""

    def __init__(self, mock: responses.RequestsMock, n: int = 7, *, writes: bool = True) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.reviews: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.refunds: dict[int, list[dict[str, Any]]] = {}
        for i in range(1, n + 1):
            stamp = f"2025-07-0{1 + i // 3}T10:00:{i // 2:02d}"
            order = copy.deepcopy(body("orders_get"))
            order.update(id=i, number=str(i), date_modified_gmt=stamp)
            self.orders[i] = order
            review = copy.deepcopy(body("products_reviews_list")[i % 2])
            review.update(id=100 + i, date_created_gmt=stamp, rating=1 + i % 5)
            self.reviews.append(review)
        # One route per method, dispatched here: a test fires both whatever it calls.
        mock.add_callback(responses.GET, re.compile(rf"{re.escape(BASE)}/.*"), callback=self._get)
        if writes:  # a read-only test leaves POST unregistered, so a write would fail it
            mock.add_callback(responses.POST, re.compile(rf"{re.escape(BASE)}/.*"),
                              callback=self._post)

    def _get(self, request: Any) -> tuple[int, dict[str, str], str]:
        path = urlsplit(request.url).path
        if path.endswith("/orders"):
            return self._orders(request)
        if path.endswith("/refunds"):
            return self._list_refunds(request)
        if path.endswith("/products/reviews"):
            return self._reviews(request)
        return self._order(request)

    def _post(self, request: Any) -> tuple[int, dict[str, str], str]:
        if urlsplit(request.url).path.endswith("/notes"):
            return self._note(request)
        return self._refund(request)

    @staticmethod
    def _page(rows: list[dict[str, Any]], q: dict[str, str]) -> tuple[int, dict[str, str], str]:
        size, page = int(q.get("per_page", 10)), int(q.get("page", 1))
        pages = max(1, math.ceil(len(rows) / size))
        headers = {**JSON, "X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)}
        return 200, headers, json.dumps(rows[(page - 1) * size: page * size])

    @staticmethod
    def _id(request: Any) -> int:
        return int(re.findall(r"/orders/(\d+)", request.url)[0])

    def _orders(self, request: Any) -> tuple[int, dict[str, str], str]:
        q = _q(request)
        rows = sorted(self.orders.values(), key=lambda o: (o["date_modified_gmt"], o["id"]))
        if "modified_after" in q:
            after = datetime.fromisoformat(q["modified_after"])
            rows = [o for o in rows if datetime.fromisoformat(o["date_modified_gmt"]) > after]
        return self._page(rows, q)

    def _order(self, request: Any) -> tuple[int, dict[str, str], str]:
        i = self._id(request)
        if i not in self.orders:
            return 404, JSON, json.dumps({"code": "woocommerce_rest_shop_order_invalid_id",
                                          "message": "Invalid ID.", "data": {"status": 404}})
        return 200, JSON, json.dumps(self.orders[i])

    def _note(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body)
        note = dict(body("order_notes_create"), id=300 + len(self.notes), note=sent["note"],
                    customer_note=sent.get("customer_note", False))
        self.notes.append({**note, "order_id": self._id(request)})
        return 201, JSON, json.dumps(note)

    def _list_refunds(self, request: Any) -> tuple[int, dict[str, str], str]:
        return self._page(self.refunds.get(self._id(request), []), _q(request))

    def _refund(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body)
        made = dict(body("order_refunds_create"), id=700 + sum(map(len, self.refunds.values())),
                    amount=sent["amount"], reason=sent.get("reason", ""),
                    meta_data=sent.get("meta_data", []), refunded_payment=sent["api_refund"])
        self.refunds.setdefault(self._id(request), []).append(made)
        return 201, JSON, json.dumps(made)

    def _reviews(self, request: Any) -> tuple[int, dict[str, str], str]:
        q = _q(request)
        rows = sorted(self.reviews, key=lambda r: (r["date_created_gmt"], r["id"]))
        if "after" in q:  # the store's zone is UTC here
            after = datetime.fromisoformat(q["after"])
            rows = [r for r in rows if datetime.fromisoformat(r["date_created_gmt"]) > after]
        return self._page(rows, q)
