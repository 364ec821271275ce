"""JudgeMeMarketplace over mocked HTTP: listing, resuming, replies and failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_judgeme import JudgeMeMarketplace, JudgeMeSettings
from responses import matchers

from aftersales.app import AfterSales
from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    ResponseParseError,
    TransientError,
    ValidationError,
)
from aftersales.reviews.alerts import AlertRule

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://judge.me/api/v1"
TOKEN = "PRIVATE-TOKEN"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def settings(**kw: Any) -> JudgeMeSettings:
    return JudgeMeSettings(api_token=TOKEN, shop_domain="example.myshopify.com", per_page=2, **kw)


def adapter(**kw: Any) -> JudgeMeMarketplace:
    return JudgeMeMarketplace(settings(**kw), sleep=lambda _s: None)


def serve(http: responses.RequestsMock, name: str, *, page: int | None = None) -> None:
    data = fixture(name)
    query = dict(data["request"].get("query", {}))
    if page is not None:
        query["page"] = str(page)
    http.add(
        data["request"]["method"],
        data["request"]["url"],
        json=data["response"]["body"],
        status=data["response"]["status"],
        headers=data["response"].get("headers", {}),
        match=[matchers.query_param_matcher(query),
               matchers.header_matcher(data["request"].get("headers", {}))],
    )


def serve_state(http: responses.RequestsMock, review_id: str, *, curated: str = "ok",
                hidden: bool = False) -> None:
    """``GET /reviews/{id}``: the review's current state, on Judge.me's documented example."""
    body = fixture("review_get_docs.json")["response"]["body"]
    body["review"].update(id=int(review_id), curated=curated, hidden=hidden)
    http.add("GET", f"{BASE}/reviews/{review_id}", json=body,
             match=[matchers.query_param_matcher({"shop_domain": "example.myshopify.com"}),
                    matchers.header_matcher({"X-Api-Token": TOKEN})])


def serve_all(http: responses.RequestsMock) -> None:
    for page in (1, 2, 3):
        serve(http, f"reviews_page_{page}.json")
    serve(http, "reviews_page_4_empty.json")


def test_listing_reads_every_page_and_hands_out_changes_oldest_first(
    http: responses.RequestsMock,
) -> None:
    serve_all(http)
    pages = list(adapter().list_reviews())
    ids = [r.external_id for p in pages for r in p.items]
    # Created 02-18, 03-01 … 03-04; the review created 02-20 was edited 03-05: last.
    assert ids == ["465077601", "465077603", "465077604", "465077605", "465077606", "465077602"]
    assert [len(p.items) for p in pages] == [2, 2, 2]
    assert all(p.cursor for p in pages)
    sent = http.calls[0].request
    assert sent.headers["Accept"] == "application/json"


def test_resuming_from_the_last_cursor_hands_out_only_what_changed(
    http: responses.RequestsMock,
) -> None:
    serve_all(http)
    last = list(adapter().list_reviews())[-1].cursor
    http.reset()
    # Next time: one more review edited after the cursor.
    edited = fixture("reviews_page_1.json")
    edited["response"]["body"]["reviews"][0]["updated_at"] = "2026-03-09T00:00:00+00:00"
    edited["response"]["body"]["reviews"][0]["rating"] = 2
    http.add("GET", f"{BASE}/reviews", json=edited["response"]["body"],
             match=[matchers.query_param_matcher({**edited["request"]["query"]})])
    for page in (2, 3):
        serve(http, f"reviews_page_{page}.json")
    serve(http, "reviews_page_4_empty.json")
    pages = list(adapter().list_reviews(last))
    assert [(r.external_id, r.rating) for p in pages for r in p.items] == [("465077606", 2)]


def test_a_malformed_review_is_skipped_and_the_rest_of_the_page_goes_on(
    http: responses.RequestsMock,
) -> None:
    serve(http, "reviews_bad_items.json")
    market = JudgeMeMarketplace(
        JudgeMeSettings(api_token=TOKEN, shop_domain="example.myshopify.com", per_page=100)
    )
    items = [r for p in market.list_reviews() for r in p.items]
    assert [r.external_id for r in items] == ["465077609"]
    assert [rid for rid, _ in market.skipped] == ["465077607", "465077608"]
    assert "rating" in market.skipped[0][1]
    assert "created_at" in market.skipped[1][1]


def test_skipped_holds_the_last_listings_reviews_not_every_listings(
    http: responses.RequestsMock,
) -> None:
    """A worker lists every few minutes; each listing appended its skipped
    reviews again, so the list grew for as long as the process ran."""
    serve(http, "reviews_bad_items.json")
    market = JudgeMeMarketplace(
        JudgeMeSettings(api_token=TOKEN, shop_domain="example.myshopify.com", per_page=100)
    )
    for _ in range(3):
        list(market.list_reviews())
    assert [rid for rid, _ in market.skipped] == ["465077607", "465077608"]


def test_a_body_that_is_not_a_review_list_is_a_parse_error(
    http: responses.RequestsMock,
) -> None:
    http.add("GET", f"{BASE}/reviews", json={"reviews": "nope"})
    with pytest.raises(ResponseParseError) as info:
        list(adapter().list_reviews())
    assert info.value.adapter == "judgeme"


def test_a_bare_array_answer_is_accepted(http: responses.RequestsMock) -> None:
    reviews = fixture("reviews_page_1.json")["response"]["body"]["reviews"][:1]
    http.add("GET", f"{BASE}/reviews", json=reviews)
    items = [r for p in adapter().list_reviews() for r in p.items]
    assert [r.external_id for r in items] == ["465077606"]


def test_a_server_that_ignores_the_page_number_does_not_loop_forever(
    http: responses.RequestsMock,
) -> None:
    body = fixture("reviews_page_1.json")["response"]["body"]
    http.add("GET", f"{BASE}/reviews", json=body)  # the same page, whatever is asked
    items = [r for p in adapter().list_reviews() for r in p.items]
    assert len(items) == 2
    assert len(http.calls) == 2


def test_bad_token_is_an_authentication_error_that_never_shows_the_token(
    http: responses.RequestsMock,
) -> None:
    data = fixture("error_401.json")
    http.add("GET", f"{BASE}/reviews", json=data["response"]["body"], status=401)
    market = JudgeMeMarketplace(
        JudgeMeSettings(api_token="WRONG-TOKEN", shop_domain="example.myshopify.com")
    )
    with pytest.raises(AuthenticationError) as info:
        list(market.list_reviews())
    assert "WRONG-TOKEN" not in str(info.value)
    assert "WRONG-TOKEN" not in (info.value.body or "")
    assert len(http.calls) == 1  # credentials are not retried


def test_throttling_is_retried_after_the_servers_wait(http: responses.RequestsMock) -> None:
    waits: list[float] = []
    data = fixture("error_429.json")
    http.add("GET", f"{BASE}/reviews", json=data["response"]["body"], status=429,
             headers=data["response"]["headers"])
    http.add("GET", f"{BASE}/reviews", json={"reviews": []})
    market = JudgeMeMarketplace(settings(), sleep=waits.append)
    assert list(market.list_reviews()) == []
    assert waits == [2.0]


def test_reply_posts_the_documented_body_and_returns_the_reply_id(
    http: responses.RequestsMock,
) -> None:
    data = fixture("reply_create.json")
    http.add(
        "POST",
        data["request"]["url"],
        json=data["response"]["body"],
        match=[
            matchers.query_param_matcher(data["request"]["query"]),
            matchers.header_matcher(data["request"]["headers"]),
            matchers.json_params_matcher(data["request"]["body"]),
        ],
    )
    serve(http, "reviews_page_1.json")
    serve_state(http, "465077606")
    http.add("GET", f"{BASE}/reviews", json={"reviews": []})
    market = adapter()
    review = next(r for p in market.list_reviews() for r in p.items if r.rating == 1)
    reply_id = market.reply_review(
        review, data["request"]["body"]["reply"]["content"], idempotency_key="k"
    )
    assert reply_id == "9912345"


def test_reply_answer_without_an_id_still_gives_one(http: responses.RequestsMock) -> None:
    serve_state(http, "465077606")
    http.add("POST", f"{BASE}/replies", json={"success": True})
    market = adapter()
    review = _review()
    assert market.reply_review(review, "谢谢", idempotency_key="k") == "reply-to-465077606"


def test_a_failed_reply_post_is_not_resent_blindly(http: responses.RequestsMock) -> None:
    # Judge.me has no idempotency key: a POST that reached the server is never repeated.
    serve_state(http, "465077606")
    http.add("POST", f"{BASE}/replies", status=503)
    with pytest.raises(TransientError):
        adapter().reply_review(_review(), "谢谢", idempotency_key="k")
    assert [c.request.method for c in http.calls] == ["GET", "POST"]


def _review() -> Any:
    from aftersales_judgeme import to_review

    return to_review(fixture("reviews_page_1.json")["response"]["body"]["reviews"][0])


def test_missing_credentials_fail_before_any_request() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        with pytest.raises(ConfigurationError, match="JUDGEME_API_TOKEN"):
            list(JudgeMeMarketplace(JudgeMeSettings(shop_domain="x.myshopify.com")).list_reviews())
        with pytest.raises(ConfigurationError, match="JUDGEME_SHOP_DOMAIN"):
            list(JudgeMeMarketplace(JudgeMeSettings(api_token="t")).list_reviews())


def test_settings_from_the_environment_keep_the_token_secret() -> None:
    env = {"JUDGEME_API_TOKEN": "s3cr3t-token", "JUDGEME_SHOP_DOMAIN": "https://Shop.myshopify.com/"}
    loaded = JudgeMeSettings.from_env(env)
    assert loaded.shop_domain == "shop.myshopify.com"
    assert "s3cr3t-token" not in repr(loaded)
    assert loaded.auth_header() == {"X-Api-Token": "s3cr3t-token"}
    assert loaded.shop() == {"shop_domain": "shop.myshopify.com"}
    assert JudgeMeSettings.from_env(env, per_page=5).per_page == 5


def test_a_bad_cursor_is_refused() -> None:
    with pytest.raises(ValidationError):
        list(adapter().list_reviews("not-a-cursor"))


def test_the_reviews_service_syncs_alerts_and_replies_through_judgeme(
    http: responses.RequestsMock, tmp_path: Path
) -> None:
    serve_all(http)
    market = adapter()
    app = AfterSales(f"sqlite:///{tmp_path}/j.db", marketplaces=[market], carriers=[],
                     channels=["outbox"], migrate=False)
    app.store.create_all()
    assert app.reviews.sync() == {"judgeme": 6}
    rules = {(a.rule, a.subject) for a in app.reviews.alerts()}
    assert (AlertRule.COUNTERFEIT, "judgeme:465077605") in rules
    assert (AlertRule.NEGATIVE, "judgeme:465077606") in rules
    serve_state(http, "465077606")
    http.add("POST", f"{BASE}/replies", json={"reply": {"id": 77}},
             match=[matchers.json_params_matcher(
                 {"review_id": 465077606, "send_reply_email": False,
                  "reply": {"content": "王芳您好，我们马上处理。"}})])
    result = app.reviews.reply("465077606", template="{author}您好，我们马上处理。")
    assert (result.status, result.remote_id) == ("sent", "77")
    assert app.reviews.reply("465077606", template="sorry").status == "already_replied"
    app.close()


def test_a_named_store_writes_its_name_into_every_review(http: responses.RequestsMock) -> None:
    serve_all(http)
    market = JudgeMeMarketplace(settings(), name="judgeme-eu", sleep=lambda _s: None)
    names = {r.marketplace for p in market.list_reviews() for r in p.items}
    assert names == {"judgeme-eu"}
