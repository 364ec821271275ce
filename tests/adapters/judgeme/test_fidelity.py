"""Judge.me's documented and recorded payloads through the adapter, its auth and moderation.

Each fixture used here names its source in ``_source``. The moderation
values are the ones Judge.me's docs and answers show (checked 2026-12-02).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_judgeme import HiddenReviewError, JudgeMeMarketplace, JudgeMeSettings, to_review
from aftersales_judgeme.mapping import CURATED, visibility
from responses import matchers
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import AuthenticationError
from aftersales.models import ReviewVisibility
from aftersales.store.tables.reviews import ReviewReplyRow

from .test_adapter import BASE, TOKEN, adapter, fixture, serve, serve_all, serve_state

#: ``curated`` values seen in Judge.me's docs ("ok"), in a recorded answer
#: ("not-yet") and set by integrations to reject a review ("spam").
CURATED_VALUES = ["ok", "not-yet", "spam"]

#: Payloads Judge.me itself wrote: its docs' examples and answers its servers gave.
PLATFORM_WRITTEN = ("review_get_docs.json", "reviews_list_recorded.json",
                    "reply_request_docs.json", "reviews_list_recorded_2023.json",
                    "error_401_recorded.json")


def _listed(http: responses.RequestsMock, name: str) -> list[Any]:
    serve(http, name)
    market = JudgeMeMarketplace(JudgeMeSettings(api_token=TOKEN,
                                                shop_domain="example.myshopify.com",
                                                per_page=10), sleep=lambda _s: None)
    return [r for page in market.list_reviews() for r in page.items]


def test_every_new_fixture_names_its_source() -> None:
    for name in PLATFORM_WRITTEN:
        assert fixture(name)["_source"].strip()


# ------------------------------------------------------------ the token is a header


def test_the_token_travels_in_the_header_never_in_the_url(
    http: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    serve_all(http)
    list(adapter().list_reviews())
    for call in http.calls:
        assert TOKEN not in call.request.url  # what urllib3 and access logs print
        assert "api_token" not in call.request.url
        assert call.request.headers["X-Api-Token"] == TOKEN
    assert TOKEN not in caplog.text


def test_a_reply_sends_the_documented_request(http: responses.RequestsMock) -> None:
    data = fixture("reply_request_docs.json")
    request = data["request"]
    serve_state(http, "111")
    http.add("POST", request["url"], json=data["response"]["body"], match=[
        matchers.query_param_matcher(request["query"]),
        matchers.header_matcher(request["headers"]),
        matchers.json_params_matcher(request["body"])])
    review = to_review(fixture("review_get_docs.json")["response"]["body"]["review"])
    assert adapter().reply_review(review, "Thank you!", idempotency_key="k") == "reply-to-111"


# ------------------------------------------------------------ Judge.me's payloads


def test_the_documented_review_maps_right() -> None:
    review = to_review(fixture("review_get_docs.json")["response"]["body"]["review"])
    assert (review.external_id, review.rating, review.sku) == ("111", 5, "999999")
    assert review.visibility is ReviewVisibility.PUBLISHED
    assert review.author == "John Smith"
    assert review.images == []  # its only picture is hidden
    assert review.created_at.utcoffset() is not None
    dumped = review.model_dump_json()
    assert "john@example.com" not in dumped
    assert "+123456789" not in dumped


def test_the_recorded_listing_is_a_review_awaiting_moderation(
    http: responses.RequestsMock,
) -> None:
    (review,) = _listed(http, "reviews_list_recorded.json")
    assert (review.external_id, review.rating, review.sku) == ("309836503", 5, "5280573096092")
    assert review.visibility is ReviewVisibility.PENDING
    assert review.title == "This is a great Addidas shoe"
    assert review.updated_at > review.created_at


def test_the_2023_recorded_listing_maps_a_reviewer_judgeme_knows_only_by_name(
    http: responses.RequestsMock,
) -> None:
    # No reviewer external_id, tags as a list, the phone as the text "null", no pictures key.
    (review,) = _listed(http, "reviews_list_recorded_2023.json")
    assert (review.external_id, review.rating, review.sku) == ("407358111", 5, "8033111867704")
    assert (review.title, review.author) == ("Fits well", "Anonymous")
    assert review.visibility is ReviewVisibility.PENDING  # curated: not-yet
    assert review.images == []
    assert review.created_at.isoformat() == "2023-05-03T06:21:11+00:00"
    assert review.updated_at.isoformat() == "2023-05-03T06:21:40+00:00"
    dumped = review.model_dump_json()
    assert "reviewer@example.com" not in dumped
    assert "Wrote Judge.me web review" not in dumped  # reviewer tags are not copied


def test_the_recorded_401_is_an_authentication_error_naming_judgemes_reason(
    http: responses.RequestsMock,
) -> None:
    data = fixture("error_401_recorded.json")
    request = data["request"]
    http.add("GET", request["url"], json=data["response"]["body"], status=401,
             match=[matchers.query_param_matcher(request["query"]),
                    matchers.header_matcher(request["headers"])])
    market = JudgeMeMarketplace(JudgeMeSettings(api_token="WRONG-TOKEN",
                                                shop_domain="example.myshopify.com"),
                                sleep=lambda _s: None)
    with pytest.raises(AuthenticationError) as info:
        list(market.list_reviews())
    assert info.value.status == 401
    # Judge.me's reason (token or shop domain: it does not say which) stays on the error.
    assert "Shop domain or Api Token is wrong" in (info.value.body or "")
    assert "WRONG-TOKEN" not in str(info.value)
    assert "WRONG-TOKEN" not in (info.value.body or "")
    assert len(http.calls) == 1  # a refused credential is not retried


def test_the_review_created_webhook_body_is_published() -> None:
    body = fixture("webhook_review_created.json")["body"]["review"]
    assert to_review(body).visibility is ReviewVisibility.PUBLISHED


# ------------------------------------------------------------ pagination


def test_a_page_cut_to_the_size_judgeme_applied_is_not_taken_for_the_last(
    http: responses.RequestsMock,
) -> None:
    # Asked for 100 a page, Judge.me answers with the per_page it applied (10, the
    # maximum some versions of its v1 docs give): ten reviews are a full page.
    recorded = fixture("reviews_list_recorded_2023.json")["response"]["body"]["reviews"][0]

    def page(number: int, count: int) -> dict[str, Any]:
        first = 407358111 + (number - 1) * 10
        return {"current_page": number, "per_page": 10,
                "reviews": [{**recorded, "id": first + i} for i in range(count)]}

    for number, count in ((1, 10), (2, 3)):
        http.add("GET", f"{BASE}/reviews", json=page(number, count), match=[
            matchers.query_param_matcher({"shop_domain": "example.myshopify.com",
                                          "page": str(number), "per_page": "100"})])
    market = JudgeMeMarketplace(JudgeMeSettings(api_token=TOKEN,
                                                shop_domain="example.myshopify.com"),
                                sleep=lambda _s: None)
    reviews = [r for p in market.list_reviews() for r in p.items]
    assert len(reviews) == 13
    assert len(http.calls) == 2  # the short second page ends the listing


# ------------------------------------------------------------ moderation


@pytest.mark.parametrize(("curated", "hidden", "published", "expected"), [
    ("ok", False, None, ReviewVisibility.PUBLISHED),
    ("not-yet", False, None, ReviewVisibility.PENDING),
    ("spam", False, None, ReviewVisibility.HIDDEN),
    ("ok", True, None, ReviewVisibility.HIDDEN),
    ("not-yet", True, True, ReviewVisibility.HIDDEN),
    ("not-yet", False, True, ReviewVisibility.PUBLISHED),  # a shop that publishes unmoderated
    ("ok", False, False, ReviewVisibility.PENDING),
    ("spam", False, True, ReviewVisibility.HIDDEN),
    ("something-new", False, None, ReviewVisibility.PENDING),
    (None, None, None, ReviewVisibility.PENDING),
])
def test_visibility(curated: str | None, hidden: bool | None, published: bool | None,
                    expected: ReviewVisibility) -> None:
    assert visibility(curated, hidden, published) is expected


def test_the_curated_table_covers_every_value_judgeme_shows() -> None:
    assert sorted(CURATED) == sorted(CURATED_VALUES)


def test_a_hidden_review_gets_no_public_reply(http: responses.RequestsMock) -> None:
    raw = {**fixture("reviews_list_recorded.json")["response"]["body"]["reviews"][0],
           "hidden": True}
    review = to_review(raw)
    assert review.visibility is ReviewVisibility.HIDDEN
    with pytest.raises(HiddenReviewError, match="hidden"):
        adapter().reply_review(review, "Thanks!", idempotency_key="k")
    assert len(http.calls) == 0  # nothing was asked, nothing was posted


def test_a_review_hidden_since_the_sync_gets_no_public_reply(
    http: responses.RequestsMock,
) -> None:
    review = to_review(fixture("review_get_docs.json")["response"]["body"]["review"])
    assert review.visibility is ReviewVisibility.PUBLISHED  # as it was listed
    serve_state(http, "111", hidden=True)  # and as Judge.me has it now
    with pytest.raises(HiddenReviewError):
        adapter().reply_review(review, "Thanks!", idempotency_key="k")
    assert [c.request.method for c in http.calls] == ["GET"]


def test_a_review_awaiting_moderation_may_be_replied_to(http: responses.RequestsMock) -> None:
    (listed,) = _listed(http, "reviews_list_recorded.json")
    serve_state(http, "309836503", curated="not-yet")
    http.add("POST", f"{BASE}/replies", json={"reply": {"id": 5}})
    assert adapter().reply_review(listed, "Thanks!", idempotency_key="k") == "5"


def test_the_reviews_service_keeps_the_state_and_frees_the_claim_of_a_refused_reply(
    http: responses.RequestsMock, tmp_path: Path
) -> None:
    serve(http, "reviews_list_recorded.json")
    market = JudgeMeMarketplace(JudgeMeSettings(api_token=TOKEN,
                                                shop_domain="example.myshopify.com",
                                                per_page=10), sleep=lambda _s: None)
    app = AfterSales(f"sqlite:///{tmp_path}/j.db", marketplaces=[market], carriers=[],
                     channels=["outbox"], migrate=False)
    app.store.create_all()
    try:
        assert app.reviews.sync() == {"judgeme": 1}
        serve_state(http, "309836503", curated="spam")
        with pytest.raises(HiddenReviewError):
            app.reviews.reply("309836503", template="Thanks {author}")
        # Nothing was posted, so no claim is left behind ("sending" would mean an
        # unknown outcome): a later reply is rendered afresh and goes.
        with app.store.session() as session:
            assert session.scalars(select(ReviewReplyRow)).all() == []
        serve_state(http, "309836503", curated="ok")
        http.add("POST", f"{BASE}/replies", json={"reply": {"id": 9}})
        result = app.reviews.reply("309836503", template="Thank you, {author}")
        assert (result.status, result.remote_id, result.text) == ("sent", "9",
                                                                  "Thank you, aldrien")
    finally:
        app.close()
