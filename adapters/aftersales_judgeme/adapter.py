"""``JudgeMeMarketplace``: Judge.me as a review source for a Shopify shop.

Checked against Judge.me's REST API v1 reference (judge.me/api/docs and its
OpenAPI file) and help centre on 2026-12-02:

* auth: the private (or OAuth) token in ``X-Api-Token``, the shop in
  ``shop_domain``;
* moderation: ``curated``/``hidden``/``published``, mapped in
  :mod:`.mapping` onto :class:`~aftersales.models.ReviewVisibility`;
* pagination: ``page``/``per_page`` with no total and no documented order
  (hence the full scan below); the answer echoes the ``per_page`` it applied,
  which may be below the one asked for (some versions of the v1 docs cap it
  at 10), so a page is "short", and the last, only against that figure;
* errors: HTTP status only (401 token, 404, 422, 429); Judge.me documents no
  error codes in the body;
* rate limits: Judge.me says it throttles per shop but publishes no figures;
  429 is waited out by the core's retry layer;
* webhooks: Judge.me offers ``review/created`` and ``review/updated``; this
  adapter does not receive them (a sync lists reviews instead).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from aftersales.errors import (
    NotEligibleError,
    RemoteError,
    ResponseParseError,
    ValidationError,
)
from aftersales.http import ApiClient
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import Page, Review, ReviewVisibility
from aftersales.paging import MAX_AHEAD, Watermark, ahead_of_clock, watermarked_pages
from aftersales.wire import read_answer
from aftersales_judgeme.client import JudgeMeClient
from aftersales_judgeme.mapping import MARKETPLACE, review_ref, to_review, visibility
from aftersales_judgeme.schemas import JudgeMeReply, JudgeMeReview, JudgeMeReviewList
from aftersales_judgeme.settings import JudgeMeSettings

__all__ = ["HiddenReviewError", "JudgeMeMarketplace"]


class HiddenReviewError(NotEligibleError):
    """The review is hidden from shoppers, so no public reply is posted to it.

    Raised by :meth:`JudgeMeMarketplace.reply_review` before anything is sent.
    """

log = logging.getLogger("aftersales.judgeme")

#: Stop a listing that never ends (a server ignoring ``page``) after this many pages.
MAX_PAGES = 10_000


class JudgeMeMarketplace(MarketplaceBase):
    """Judge.me product and store reviews (Shopify has no review API of its own).

    Alias ``judgeme``; REST API v1 at ``https://judge.me/api/v1``, documented
    at https://judge.me/api/docs. Capabilities: ``LIST_REVIEWS``
    (``GET /reviews``) and ``REPLY_REVIEW`` (``POST /replies``, a public
    reply shown on the review widgets; needs the private token).

    Quirks: the list has no "changed since" filter and no documented sort
    order, so every listing pages through all reviews and keeps those past
    the cursor's watermark, sorted by change time (Airbyte's Judge.me
    connector filters the same way, client-side). Replies are not in the
    list, so ``Review.reply`` is never set here. A review the mapping
    refuses (no rating, no date) is skipped, logged and kept in
    :attr:`skipped` (the last listing's), and the rest of its page goes on;
    so is one changed more than :data:`~aftersales.paging.MAX_AHEAD` after
    this machine's clock
    (``updated_at`` in 2099 would move the cursor past every review to
    come), which a later listing hands out once its time has come.

    Args:
        settings: token, shop domain and options (default: from the environment).
        api: a ready :class:`~aftersales.http.ApiClient` (tests, custom transports).
        name: the store's name (default ``judgeme``).
        sleep: how the retry layer waits.
        clock: what "now" is for the change times' bound (default: UTC now).
    """

    name = MARKETPLACE
    capabilities = frozenset({Capability.LIST_REVIEWS, Capability.REPLY_REVIEW})

    def __init__(
        self,
        settings: JudgeMeSettings | None = None,
        *,
        api: ApiClient | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(name=name)
        self.clock = clock
        self.settings = settings or JudgeMeSettings.from_env()
        self.client = JudgeMeClient(self.settings, api=api, sleep=sleep)
        #: ``(review id, reason)`` of every review the last listing skipped as malformed
        #: (each listing starts it afresh: a worker listing for months keeps no backlog).
        self.skipped: list[tuple[str, str]] = []

    def _reviews(self, body: Any, page: int) -> JudgeMeReviewList:
        if isinstance(body, list):  # some shops' answers are a bare array
            body = {"reviews": body}
        return read_answer(JudgeMeReviewList, body, adapter=self.name,
                           payload=f"page {page} of GET /reviews")

    def _scan(self, start: Watermark | None) -> list[Review]:
        per_page = self.settings.per_page
        self.skipped = []
        now = self.clock()
        changed: dict[str, Review] = {}
        pages_seen: set[tuple[str, ...]] = set()
        for page in range(1, MAX_PAGES + 1):
            envelope = self._reviews(self.client.list_reviews(page, per_page), page)
            raw_reviews = envelope.reviews
            ids = tuple(review_ref(raw) for raw in raw_reviews)
            # A page read before (the last one again, or A, B, A, B …): the server
            # ignores the page number, and would be asked MAX_PAGES times.
            if not raw_reviews or ids in pages_seen:
                break
            pages_seen.add(ids)
            for raw in raw_reviews:
                try:
                    review = to_review(raw, self.settings, store=self.name)
                    if ahead_of_clock(review.updated_at, now):
                        raise ValidationError(
                            f"more than {MAX_AHEAD} after this machine's clock; "
                            "listed once its time has come",
                            field="updated_at", payload=f"judgeme review {review_ref(raw)}")
                except ValidationError as exc:
                    self.skipped.append((review_ref(raw), str(exc)))
                    log.warning("judgeme: skipped a malformed review: %s", exc)
                    continue
                if start is not None and not start.admits(review.updated_at, review.external_id):
                    continue
                seen = changed.get(review.external_id)
                if seen is None or review.updated_at >= seen.updated_at:
                    changed[review.external_id] = review
            # A short page is the last one. "Short" is measured against the page
            # size Judge.me says it applied (its answer's per_page), which may be
            # smaller than the one asked for: a capped page is not the end.
            if len(raw_reviews) < envelope.page_size(per_page):
                break
        return sorted(changed.values(), key=lambda r: (r.updated_at, r.external_id))

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        """See :meth:`Marketplace.list_reviews`: reviews changed after ``cursor``,
        oldest change first, ``per_page`` to a page."""
        start = Watermark.from_cursor(cursor, adapter=self.name)
        reviews = self._scan(start)
        size = self.settings.per_page
        batches = [reviews[i : i + size] for i in range(0, len(reviews), size)]
        yield from watermarked_pages(batches, lambda r: (r.updated_at, r.external_id), start)

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        """See :meth:`Marketplace.reply_review`: a public reply, shown on the widgets.

        A hidden review (``hidden: true`` or ``curated: spam``) gets no public
        reply: the review's state is read from Judge.me first (it may have
        been hidden since the last sync) and :class:`HiddenReviewError` is
        raised before anything is posted. A review still awaiting moderation
        may be replied to; Judge.me shows the reply only with the review.

        ``idempotency_key`` is not sent: Judge.me has none, and its API
        documents no way to read a review's existing reply, so the adapter
        is not ``reply_idempotent`` and has no ``find_reply``: after a lost
        answer the reply is not posted again until someone checks the widget
        and marks it sent or releases it. Returns the reply id when Judge.me
        gives one, else ``"<review id>"``-based id.

        Raises:
            HiddenReviewError: the review is hidden from shoppers.
        """
        review_id = review.external_id.strip()
        if not (review_id.isascii() and review_id.isdigit()):
            # it goes into a URL path and a reply: Judge.me's review ids are numbers
            raise ValidationError("not a Judge.me review id", field="external_id",
                                  payload="judgeme reply")
        if review.visibility is ReviewVisibility.HIDDEN or self._hidden_now_before_reply(review_id):
            raise HiddenReviewError(
                f"judgeme review {review.external_id} is hidden from shoppers: "
                "no public reply is posted", reasons=["review hidden"])
        body = self.client.reply(
            review_id, text, send_reply_email=self.settings.send_reply_email
        )
        answer = JudgeMeReply()
        try:
            if isinstance(body, dict):
                answer = read_answer(JudgeMeReply, body, adapter=self.name,
                                     payload="POST /replies")
        except ResponseParseError as exc:
            # Judge.me accepted the reply (2xx) and documents no answer: an odd one
            # must not make the reply look unsent, or a retry would post it twice.
            log.warning("judgeme: reply to review %s posted; its answer was not read: %s",
                        review_id, exc)
        return answer.reply_id() or f"reply-to-{review_id}"

    def _hidden_now_before_reply(self, review_id: str) -> bool:
        """:meth:`_hidden_now`, its failures marked ``sent_nothing``: no reply was posted."""
        try:
            return self._hidden_now(review_id)
        except RemoteError as exc:
            exc.sent_nothing = True
            raise

    def _hidden_now(self, review_id: str) -> bool:
        """Whether Judge.me has the review hidden now (``GET /reviews/{id}``)."""
        answer = self.client.get_review(review_id)
        raw = answer.get("review", answer) if isinstance(answer, dict) else None
        wire = read_answer(JudgeMeReview, raw, adapter=self.name,
                           payload=f"GET /reviews/{review_id}")
        if wire.id != review_id:
            # another review's state says nothing about this one: no reply on its word
            raise ResponseParseError(f"GET /reviews/{review_id} answered another review",
                                     adapter=self.name, code="WRONG_RECORD")
        return visibility(wire.curated, wire.hidden, wire.published) is ReviewVisibility.HIDDEN
