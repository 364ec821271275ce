"""The sandbox's reviews (评价): ratings, Chinese and English texts, edits and 追评.

A review follows delivery of the order it rates. Its text is picked from a
table by sentiment (positive, neutral, negative) and language (the buyer's
locale), covering the topics review monitoring looks for: quality, damage,
counterfeits (假货), wrong items, size, delivery speed, service and refund
trouble, with negations such as "不差" and "not bad". Some reviews are
edited later (the rating changes) and some get a 追评 appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aftersales.models import Review, Sentiment
from aftersales.sandbox._data import APPENDED_TEXTS, EDIT_SUFFIX, REVIEW_TEXTS
from aftersales.sandbox._orders import ReviewPlan

__all__ = ["Reply", "ReviewTimes", "build_review", "review_id", "review_times", "sentiment_of"]


def review_id(order_index: int) -> str:
    """The marketplace id of the review of order ``order_index`` (one review per order)."""
    return f"RV{order_index + 1:08d}"


def review_index(external_id: str) -> int | None:
    """The order index behind a review id, or ``None`` when it is not one."""
    if len(external_id) == 10 and external_id.startswith("RV") and external_id[2:].isdigit():
        return int(external_id[2:]) - 1 if int(external_id[2:]) else None
    return None


def sentiment_of(rating: int) -> Sentiment:
    """The tone a rating stands for: 4–5 positive, 3 neutral, 1–2 negative."""
    if rating >= 4:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL if rating == 3 else Sentiment.NEGATIVE


@dataclass(frozen=True, slots=True)
class ReviewTimes:
    """When a review is written, edited and appended to."""

    created_at: datetime
    edited_at: datetime | None
    appended_at: datetime | None

    def updated_at(self, now: datetime) -> datetime:
        """The last of these moments that has happened by ``now``."""
        moments = [t for t in (self.edited_at, self.appended_at) if t is not None and t <= now]
        return max([self.created_at, *moments])


def review_times(plan: ReviewPlan, delivered_at: datetime) -> ReviewTimes:
    """The review's moments, counted from the order's delivery."""
    created = delivered_at + plan.after
    return ReviewTimes(
        created_at=created,
        edited_at=created + plan.edit_after if plan.edit_after else None,
        appended_at=created + plan.append_after if plan.append_after else None,
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """The shop's public reply to a review."""

    reply_id: str
    text: str
    idempotency_key: str
    at: datetime


def build_review(marketplace: str, order_index: int, plan: ReviewPlan, times: ReviewTimes,
                 now: datetime, *, english: bool, author: str, order_id: str,
                 line_id: str, sku: str, reply: Reply | None) -> Review:
    """The review as the marketplace shows it at ``now``."""
    edited = times.edited_at is not None and times.edited_at <= now
    rating = plan.new_rating if edited else plan.rating
    pool = [t for t in REVIEW_TEXTS if t[0] is sentiment_of(plan.rating)]
    _, _, zh, en = pool[int(plan.text_pick * len(pool))]
    body = en if english else zh
    if edited:
        body += EDIT_SUFFIX[1 if english else 0]
    appended = appended_at = None
    if times.appended_at is not None and times.appended_at <= now:
        appended = APPENDED_TEXTS[plan.append_pick % len(APPENDED_TEXTS)][1 if english else 0]
        appended_at = times.appended_at
    updated = times.updated_at(now)
    if reply is not None:
        updated = max(updated, reply.at)
    return Review(
        marketplace=marketplace,
        external_id=review_id(order_index),
        rating=rating,
        body=body,
        title=body.split(",")[0] if english else None,
        sku=sku,
        order_id=order_id,
        order_line_id=line_id,
        author=author,
        created_at=times.created_at,
        updated_at=updated,
        appended_body=appended,
        appended_at=appended_at,
        reply=reply.text if reply else None,
        images=[f"https://sandbox.example.com/reviews/{review_id(order_index)}.jpg"]
        if plan.rating <= 2 and plan.append_pick % 2 == 0 else [],
    )
