"""The per-row review page writer, as reviews sync wrote pages before they became set-based.

Kept only as the reference the property tests compare the set-based writer
(:mod:`aftersales.reviews._record`) with: ORM rows, one review at a time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from aftersales.models import Review, ReviewVisibility, Sentiment
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

__all__ = ["record_page"]

#: ``emit(session, [(event_name, payload, key), ...])``: the app's event bus, bound
#: (:meth:`aftersales.events.EventBus.emit_many`: the page's events in one statement).
Emit = Callable[[Session, list[tuple[str, dict[str, Any], str]]], object]


@dataclass
class Links:
    """Where a review points: its order (and buyer), return request and parcel."""

    order_id: int | None = None
    buyer_id: str | None = None
    rma_id: str | None = None
    tracking_number: str | None = None


class PageLookups:
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

    def links(self, review: Review) -> Links:
        """The review's order, return request and parcel, as far as they are known."""
        out = Links(tracking_number=review.tracking_number)
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


def review_key(marketplace: str, external_id: str) -> str:
    """The stable key of a review across the library: ``"marketplace:external_id"``."""
    return f"{marketplace}:{external_id}"


def review_text(title: str | None, body: str, appended: str | None) -> str:
    """The text a classifier reads: title, body and 追评, one clause each.

    A title that merely repeats the start of the body is left out, so that
    its words are not counted twice.
    """
    if title and body.strip().startswith(title.strip()):
        title = None
    return "\n".join(part for part in (title, body, appended) if part)


def _fingerprint(review: Review) -> str:
    content: list[object] = [review.rating, review.title, review.body, review.appended_body,
                             review.reply]
    if review.visibility is ReviewVisibility.HIDDEN:
        content.append("hidden")
    raw = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class PageResult:
    """What one page changed: reviews with a new version, and alerts raised."""

    changed: int = 0
    alerts: int = 0


@dataclass
class _Changed:
    row: ReviewRow
    current: ReviewSnapshot
    previous: ReviewSnapshot | None
    links: Links


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


def _fill(row: ReviewRow, review: Review, verdict: Classification, links: Links) -> None:
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
    row.hidden = review.visibility is ReviewVisibility.HIDDEN


def _version(row: ReviewRow, review: Review, verdict: Classification, fingerprint: str,
             now: datetime) -> ReviewVersionRow:
    return ReviewVersionRow(
        review=row,
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


def _store_versions(
    session: Session,
    marketplace: str,
    reviews: Sequence[Review],
    classifier: Classifier,
    now: datetime,
) -> list[_Changed]:
    lookups = PageLookups(session, marketplace, reviews)
    changed: list[_Changed] = []
    for review in reviews:
        key = review_key(marketplace, review.external_id)
        fingerprint = _fingerprint(review)
        links = lookups.links(review)
        row = lookups.rows.get(review.external_id)
        previous: ReviewSnapshot | None = None
        if row is not None and review.updated_at < row.remote_updated_at:
            continue  # a copy from before the version known: nothing of it is used
        if row is not None:
            if lookups.fingerprints.get(row.id) == fingerprint:
                if row.rma_id is None and links.rma_id:  # the return came after the review
                    row.rma_id = links.rma_id
                continue
            previous = _snapshot(key, row)
            row.current_version += 1
        else:
            row = ReviewRow(marketplace=marketplace, external_id=review.external_id)
            row.current_version = 1
            session.add(row)
            lookups.rows[review.external_id] = row
        lookups.fingerprints.pop(row.id, None)  # a repeat in the page is a change again
        verdict = classifier.classify(
            review_text(review.title, review.body, review.appended_body), rating=review.rating
        )
        _fill(row, review, verdict, links)
        session.add(_version(row, review, verdict, fingerprint, now))
        changed.append(_Changed(row, _snapshot(key, row), previous, links))
    return changed


def _spikes(session: Session, changed: list[_Changed], config: AlertConfig,
            marketplace: str) -> list[AlertDraft]:
    """The spike rule over the page, in time order, against the stored history.

    Per store: only ``marketplace``'s reviews count toward its SKU's spike,
    and only its own earlier spike cools it down.
    """
    negatives = [
        c.current for c in changed
        if c.current.sku and c.current.sentiment is Sentiment.NEGATIVE and not c.row.hidden
    ]
    if AlertRule.SPIKE not in config.rules or not negatives:
        return []
    skus = {n.sku for n in negatives}
    low = min(n.at for n in negatives) - config.spike_window
    high = max(n.at for n in negatives)
    history: dict[str, list[ReviewSnapshot]] = {}
    for market, external_id, sku, at in session.execute(
        select(ReviewRow.marketplace, ReviewRow.external_id, ReviewRow.sku,
               ReviewRow.remote_updated_at).where(
            ReviewRow.marketplace == marketplace,
            ReviewRow.sku.in_(skus),
            ReviewRow.sentiment == Sentiment.NEGATIVE.value,
            ReviewRow.remote_updated_at > low,
            ReviewRow.remote_updated_at <= high,
            ReviewRow.hidden.is_(False),
        )
    ):
        history.setdefault(sku or "", []).append(ReviewSnapshot(
            review_key(market, external_id), sku, 1, Sentiment.NEGATIVE, (), Severity.MEDIUM, at
        ))
    last: dict[str, datetime] = {}
    for sku, at in session.execute(
        select(ReviewAlertRow.sku, func.max(ReviewAlertRow.occurred_at))
        .where(ReviewAlertRow.rule == AlertRule.SPIKE.value, ReviewAlertRow.sku.in_(skus),
               ReviewAlertRow.marketplace == marketplace)
        .group_by(ReviewAlertRow.sku)
    ):
        last[sku or ""] = at
    drafts = []
    for current in sorted(negatives, key=lambda n: n.at):
        sku = current.sku or ""
        draft = spike_alert(current, history.get(sku, []), config, last_spike_at=last.get(sku))
        if draft is not None:
            drafts.append(draft)
            last[sku] = current.at
    return drafts


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
    is compared with the previous one for the rating-drop rule. Alerts are
    unique on (rule, review): one already raised is never raised again.
    """
    changed = _store_versions(session, marketplace, reviews, classifier, now)
    if not changed:
        return PageResult()
    session.flush()
    by_key = {c.current.key: c for c in changed}
    drafts: dict[tuple[str, str], AlertDraft] = {}
    for item in changed:
        if item.row.hidden:
            continue
        for draft in review_alerts(item.current, item.previous, config):
            drafts.setdefault((draft.rule.value, draft.subject), draft)
    for draft in _spikes(session, changed, config, marketplace):
        drafts.setdefault((draft.rule.value, draft.subject), draft)
    if drafts:
        existing = {
            (rule, subject)
            for rule, subject in session.execute(
                select(ReviewAlertRow.rule, ReviewAlertRow.subject).where(
                    tuple_(ReviewAlertRow.rule, ReviewAlertRow.subject).in_(list(drafts))
                )
            )
        }
        fresh = [(by_key[d.subject], d) for k, d in drafts.items() if k not in existing]
    else:
        fresh = []
    rows = [_alert_row(item, draft, now) for item, draft in fresh]
    session.add_all(rows)
    session.flush()
    events = [(draft.rule.event, _payload(item, draft, row), f"{draft.rule.event}:{draft.subject}")
              for (item, draft), row in zip(fresh, rows, strict=True)]
    events += [(RESOLVED, _base_payload(item),
                f"{RESOLVED}:{item.current.key}:{item.row.current_version}")
               for item in changed if _resolved(item)]
    if events:
        with session.no_autoflush:  # nothing here needs a flush
            emit(session, events)
    return PageResult(changed=len(changed), alerts=len(rows))


#: Emitted when an edit lifts a negative review out of negative (the 差评 was resolved),
#: so a follow-up hold opened by ``review.negative`` can close.
RESOLVED = "review.resolved"


def _resolved(item: _Changed) -> bool:
    return (
        item.previous is not None
        and item.previous.sentiment is Sentiment.NEGATIVE
        and item.current.sentiment is not Sentiment.NEGATIVE
    )


def _alert_row(item: _Changed, draft: AlertDraft, now: datetime) -> ReviewAlertRow:
    return ReviewAlertRow(
        rule=draft.rule.value,
        subject=draft.subject,
        review_id=item.row.id,
        marketplace=item.row.marketplace,
        sku=draft.sku,
        severity=int(draft.severity),
        message=draft.message,
        data=draft.data,
        occurred_at=item.current.at,
        created_at=now,
    )


def _base_payload(item: _Changed) -> dict[str, Any]:
    row = item.row
    return {
        "marketplace": row.marketplace,
        "review_id": row.id,
        "external_id": row.external_id,
        "sku": row.sku,
        "rating": row.rating,
        "sentiment": row.sentiment,
        "topics": list(row.topics or ()),
        "order_id": row.order_external_id,
        "buyer_id": item.links.buyer_id,
        "rma_id": row.rma_id,
    }


def _payload(item: _Changed, draft: AlertDraft, alert: ReviewAlertRow) -> dict[str, Any]:
    return {
        **_base_payload(item),
        "alert_id": alert.id,
        "rule": draft.rule.value,
        "severity": int(draft.severity),
        "message": draft.message,
        "sku": draft.sku,
        **({"spike": draft.data} if draft.rule is AlertRule.SPIKE else {}),
    }
