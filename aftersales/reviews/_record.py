"""Writing one page of synced reviews: versions, links, classification and alerts.

Everything for a page happens in the caller's transaction, together with the
page's cursor, so a crash mid-sync leaves either the whole page or none of
it. Lookups are batched per page (existing reviews, orders, returns,
parcels), so a sync costs a handful of queries per page rather than per
review, and memory stays bounded by the page size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales.models import Review, Sentiment
from aftersales.reviews.alerts import (
    AlertConfig,
    AlertDraft,
    AlertRule,
    ReviewSnapshot,
    review_alerts,
    spike_alert,
)
from aftersales.reviews.classify import Classification, Classifier, Severity
from aftersales.store.tables.core import OrderRow, ShipmentRow
from aftersales.store.tables.returns import ReturnLineRow, ReturnRow
from aftersales.store.tables.reviews import ReviewAlertRow, ReviewRow, ReviewVersionRow

__all__ = ["Emit", "PageResult", "record_page", "review_key", "review_text"]

#: ``emit(session, event_name, payload, key)``: the app's event bus, bound.
Emit = Callable[[Session, str, dict[str, Any], str], None]


def review_key(marketplace: str, external_id: str) -> str:
    """The stable key of a review across the library: ``"marketplace:external_id"``."""
    return f"{marketplace}:{external_id}"


def review_text(title: str | None, body: str, appended: str | None) -> str:
    """The text a classifier reads: title, body and 追评, one clause each."""
    return "\n".join(part for part in (title, body, appended) if part)


def _fingerprint(review: Review) -> str:
    content = [review.rating, review.title, review.body, review.appended_body, review.reply]
    raw = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class PageResult:
    """What one page changed: reviews with a new version, and alerts raised."""

    changed: int = 0
    alerts: int = 0


@dataclass
class _Links:
    order_id: int | None = None
    buyer_id: str | None = None
    rma_id: str | None = None
    tracking_number: str | None = None


class _PageLookups:
    """Everything the page's reviews refer to, loaded in one query per table."""

    def __init__(self, session: Session, marketplace: str, reviews: Sequence[Review]) -> None:
        ids = [r.external_id for r in reviews]
        self.rows = {
            row.external_id: row
            for row in session.scalars(
                select(ReviewRow).where(
                    ReviewRow.marketplace == marketplace, ReviewRow.external_id.in_(ids)
                )
            )
        }
        self.fingerprints: dict[int, str] = {}
        if self.rows:
            for review_id, fingerprint in session.execute(
                select(ReviewVersionRow.review_id, ReviewVersionRow.fingerprint)
                .join(ReviewRow, ReviewRow.id == ReviewVersionRow.review_id)
                .where(
                    ReviewRow.id.in_([row.id for row in self.rows.values()]),
                    ReviewVersionRow.version == ReviewRow.current_version,
                )
            ):
                self.fingerprints[review_id] = fingerprint
        order_ids = {r.order_id for r in reviews if r.order_id}
        self.orders: dict[str, tuple[int, str]] = {}
        self.returns: dict[str, list[tuple[str, str | None, set[str]]]] = {}
        self.parcels: dict[int, str] = {}
        if not order_ids:
            return
        for oid, ext, buyer in session.execute(
            select(OrderRow.id, OrderRow.external_id, OrderRow.buyer_id).where(
                OrderRow.marketplace == marketplace, OrderRow.external_id.in_(order_ids)
            )
        ):
            self.orders[ext] = (oid, buyer)
        lines: dict[str, set[str]] = {}
        found = session.execute(
            select(ReturnRow.rma_id, ReturnRow.external_id, ReturnRow.order_external_id).where(
                ReturnRow.marketplace == marketplace, ReturnRow.order_external_id.in_(order_ids)
            )
        ).all()
        if found:
            for rma, line in session.execute(
                select(ReturnLineRow.rma_id, ReturnLineRow.order_line_external_id).where(
                    ReturnLineRow.rma_id.in_([f.rma_id for f in found])
                )
            ):
                lines.setdefault(rma, set()).add(line)
        for rma, return_ext, order_ext in found:
            self.returns.setdefault(order_ext, []).append((rma, return_ext, lines.get(rma, set())))
        internal = [oid for oid, _ in self.orders.values()]
        for order_pk, number in session.execute(
            select(ShipmentRow.order_id, ShipmentRow.tracking_number)
            .where(ShipmentRow.order_id.in_(internal), ShipmentRow.direction == "outbound")
            .order_by(ShipmentRow.id)
        ):
            if order_pk is not None:
                self.parcels.setdefault(order_pk, number)

    def links(self, review: Review) -> _Links:
        """The review's order, return request and parcel, as far as they are known."""
        out = _Links(tracking_number=review.tracking_number)
        if not review.order_id:
            return out
        order = self.orders.get(review.order_id)
        if order is not None:
            out.order_id, out.buyer_id = order
            out.tracking_number = out.tracking_number or self.parcels.get(order[0])
        for rma, ext, lines in self.returns.get(review.order_id, []):
            if review.return_id and ext == review.return_id:
                out.rma_id = rma
                break
            if review.order_line_id is None or review.order_line_id in lines:
                out.rma_id = out.rma_id or rma
        return out


def _snapshot(key: str, row: ReviewRow) -> ReviewSnapshot:
    return ReviewSnapshot(
        key=key,
        sku=row.sku,
        rating=row.rating,
        sentiment=Sentiment(row.sentiment or Sentiment.NEUTRAL.value),
        complaints=tuple(row.complaints or ()),
        severity=Severity(row.severity),
        at=row.remote_updated_at,
        excerpt=review_text(row.title, row.body, row.appended_body),
    )


def _fill(row: ReviewRow, review: Review, verdict: Classification, links: _Links) -> None:
    row.sku = review.sku
    row.order_external_id = review.order_id
    row.order_line_external_id = review.order_line_id
    row.return_external_id = review.return_id
    row.order_id = links.order_id
    row.rma_id = links.rma_id
    row.tracking_number = links.tracking_number
    row.rating = review.rating
    row.author = review.author
    row.title = review.title
    row.body = review.body
    row.appended_body = review.appended_body
    row.sentiment = verdict.sentiment.value
    row.topics = list(verdict.topics)
    row.complaints = list(verdict.complaints)
    row.severity = int(verdict.severity)
    row.score = verdict.score
    row.replied = row.replied or review.reply is not None
    row.remote_created_at = review.created_at
    row.remote_updated_at = review.updated_at


def record_page(
    session: Session,
    marketplace: str,
    reviews: Sequence[Review],
    *,
    classifier: Classifier,
    config: AlertConfig,
    now: datetime,
    emit: Emit,
) -> PageResult:
    """Store each review's new version (if its content changed) and raise its alerts.

    A review whose content (rating, title, text, 追评, reply) is unchanged
    since the last sync writes nothing; an edited one gets a new version and
    is compared with the previous one for the rating-drop rule.
    """
    result = PageResult()
    lookups = _PageLookups(session, marketplace, reviews)
    for review in reviews:
        key = review_key(marketplace, review.external_id)
        fingerprint = _fingerprint(review)
        row = lookups.rows.get(review.external_id)
        previous: ReviewSnapshot | None = None
        if row is not None:
            links = lookups.links(review)
            if lookups.fingerprints.get(row.id) == fingerprint:
                if row.rma_id is None and links.rma_id:  # the return arrived after the review
                    row.rma_id = links.rma_id
                continue
            previous = _snapshot(key, row)
            row.current_version += 1
        else:
            links = lookups.links(review)
            row = ReviewRow(marketplace=marketplace, external_id=review.external_id)
            row.current_version = 1
            session.add(row)
            lookups.rows[review.external_id] = row
        text = review_text(review.title, review.body, review.appended_body)
        verdict = classifier.classify(text, rating=review.rating)
        _fill(row, review, verdict, links)
        session.flush()
        session.add(
            ReviewVersionRow(
                review_id=row.id,
                version=row.current_version,
                fingerprint=fingerprint,
                rating=review.rating,
                sentiment=verdict.sentiment.value,
                data={
                    **review.model_dump(mode="json"),
                    "classification": {
                        "topics": list(verdict.topics),
                        "complaints": list(verdict.complaints),
                        "severity": int(verdict.severity),
                        "score": verdict.score,
                    },
                },
                seen_at=now,
            )
        )
        result.changed += 1
        current = _snapshot(key, row)
        drafts = review_alerts(current, previous, config)
        spike = _spike(session, current, config)
        if spike is not None:
            drafts.append(spike)
        for draft in drafts:
            result.alerts += _raise(session, draft, row, links, current.at, now, emit)
    return result


def _spike(session: Session, current: ReviewSnapshot, config: AlertConfig) -> AlertDraft | None:
    if AlertRule.SPIKE not in config.rules or not current.sku:
        return None
    if current.sentiment is not Sentiment.NEGATIVE:
        return None
    last = session.scalar(
        select(func.max(ReviewAlertRow.occurred_at)).where(
            ReviewAlertRow.sku == current.sku, ReviewAlertRow.rule == AlertRule.SPIKE.value
        )
    )
    start = current.at - config.spike_window
    rows = session.execute(
        select(ReviewRow.marketplace, ReviewRow.external_id, ReviewRow.remote_updated_at).where(
            ReviewRow.sku == current.sku,
            ReviewRow.sentiment == Sentiment.NEGATIVE.value,
            ReviewRow.remote_updated_at > start,
            ReviewRow.remote_updated_at <= current.at,
        )
    ).all()
    negatives = [
        ReviewSnapshot(
            review_key(m, e), current.sku, 1, Sentiment.NEGATIVE, (), Severity.MEDIUM, at
        )
        for m, e, at in rows
    ]
    return spike_alert(current, negatives, config, last_spike_at=last)


def _raise(
    session: Session,
    draft: AlertDraft,
    row: ReviewRow,
    links: _Links,
    occurred_at: datetime,
    now: datetime,
    emit: Emit,
) -> int:
    exists = session.scalar(
        select(ReviewAlertRow.id).where(
            ReviewAlertRow.rule == draft.rule.value, ReviewAlertRow.subject == draft.subject
        )
    )
    if exists is not None:
        return 0
    alert = ReviewAlertRow(
        rule=draft.rule.value,
        subject=draft.subject,
        review_id=row.id,
        marketplace=row.marketplace,
        sku=draft.sku,
        severity=int(draft.severity),
        message=draft.message,
        data=draft.data,
        occurred_at=occurred_at,
        created_at=now,
    )
    session.add(alert)
    session.flush()
    payload: dict[str, Any] = {
        "alert_id": alert.id,
        "rule": draft.rule.value,
        "severity": int(draft.severity),
        "message": draft.message,
        "marketplace": row.marketplace,
        "review_id": row.id,
        "external_id": row.external_id,
        "sku": draft.sku,
        "rating": row.rating,
        "sentiment": row.sentiment,
        "topics": list(row.topics or ()),
        "order_id": row.order_external_id,
        "buyer_id": links.buyer_id,
        "rma_id": row.rma_id,
        **({"spike": draft.data} if draft.rule is AlertRule.SPIKE else {}),
    }
    emit(session, draft.rule.event, payload, f"{draft.rule.event}:{draft.subject}")
    return 1
