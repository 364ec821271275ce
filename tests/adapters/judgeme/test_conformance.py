"""The adapter conformance kit, run against JudgeMeMarketplace on a fake Judge.me."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from aftersales_judgeme import JudgeMeMarketplace, JudgeMeSettings

from aftersales.testing import MarketplaceConformance

FIXTURES = Path(__file__).parent / "fixtures"


def _all_reviews() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in (1, 2, 3):
        data = json.loads((FIXTURES / f"reviews_page_{page}.json").read_text(encoding="utf-8"))
        out.extend(data["response"]["body"]["reviews"])
    return out


def install_fake_judgeme(rsps: responses.RequestsMock) -> None:
    """A Judge.me that pages its six reviews by ``page``/``per_page`` and takes replies."""
    reviews = _all_reviews()
    replies: dict[int, int] = {}

    def authorized(request: Any) -> bool:
        # The token rides in the header only: one in the URL would reach access logs.
        query = parse_qs(urlsplit(request.url).query)
        return request.headers.get("X-Api-Token") == "PRIVATE-TOKEN" and "api_token" not in query

    def listing(request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        if not authorized(request):
            return 401, {}, json.dumps({"error": "Unauthorized"})
        page, size = int(query["page"][0]), int(query["per_page"][0])
        chunk = reviews[(page - 1) * size : page * size]
        body = {"current_page": page, "per_page": size, "reviews": chunk}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def one(request: Any) -> tuple[int, dict[str, str], str]:
        if not authorized(request):
            return 401, {}, json.dumps({"error": "Unauthorized"})
        review_id = urlsplit(request.url).path.rsplit("/", 1)[-1]
        found = [r for r in reviews if str(r["id"]) == review_id]
        if not found:
            return 404, {}, json.dumps({"error": "Review not found"})
        return 200, {"Content-Type": "application/json"}, json.dumps({"review": found[0]})

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        if not authorized(request):
            return 401, {}, json.dumps({"error": "Unauthorized"})
        body = json.loads(request.body)
        review_id = int(body["review_id"])
        if not any(int(r["id"]) == review_id for r in reviews):
            return 404, {}, json.dumps({"error": "Review not found"})
        replies.setdefault(review_id, 5000 + len(replies))
        return 200, {}, json.dumps({"reply": {"id": replies[review_id]}})

    rsps.add_callback("GET", "https://judge.me/api/v1/reviews", callback=listing)
    rsps.add_callback("GET", re.compile(r"https://judge\.me/api/v1/reviews/\d+"), callback=one)
    rsps.add_callback("POST", "https://judge.me/api/v1/replies", callback=reply)


class TestJudgeMeConformance(MarketplaceConformance):
    adapter_class = JudgeMeMarketplace
    min_pages = 3

    @pytest.fixture
    def marketplace(self) -> Iterator[JudgeMeMarketplace]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            install_fake_judgeme(rsps)
            yield JudgeMeMarketplace(
                JudgeMeSettings(
                    api_token="PRIVATE-TOKEN", shop_domain="example.myshopify.com", per_page=2
                ),
                sleep=lambda _s: None,
            )
