"""Writing one page of synced reviews: versions, links, classification and alerts.

Everything for a page happens in the caller's transaction, together with the
page's cursor, so a crash mid-sync leaves either the whole page or none of
it. The page is written set-based, a fixed number of statements whatever
its size:

1. one SELECT of the page's stored reviews by natural key (marketplace,
   external id), each with its latest version's fingerprint;
2. only for what changed, one SELECT of the orders (with their first
   parcel) and one of the return requests (with their lines) the changed
   reviews name; a page of unchanged reviews reads only the requests of
   those not yet linked to one (a return may come after its review);
3. the changes worked out in memory, review by review in page order (a
   review listed twice in a page is a new version twice, as before, unless
   the second listing is older than the first: a copy from before an edit
   never undoes it);
4. one INSERT or UPDATE per kind of write, through the store's set-based
   writers (:mod:`aftersales.store.upsert`: ``executemany`` on SQLite, the
   page as one JSON value on PostgreSQL): new reviews (their ids returned
   with their keys), changed reviews (guarded by their version: a row
   someone else changed meanwhile raises ``StaleDataError``), new versions,
   late links;
5. the alert rules over the page (one query for the spike history of the
   page's SKUs), the new alerts (one INSERT), and their events in one
   statement.

A page whose reviews are all unchanged and linked costs the one SELECT and
writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from aftersales.models import Review, ReviewVisibility, Sentiment
from aftersales.reviews._lookups import Links, PageLinks
from aftersales.reviews.alerts import (
    AlertConfig,
    AlertDraft,
    AlertRule,
    ReviewSnapshot,
    review_alerts,
    spike_alert,
)
from aftersales.reviews.classify import Classification, Classifier, Severity
from aftersales.store.tables.reviews import ReviewAlertRow, ReviewRow, ReviewVersionRow
from aftersales.store.upsert import update_rows, upsert_rows

__all__ = ["RESOLVED", "Emit", "PageResult", "record_page", "review_key", "review_text"]

#: ``emit(session, [(event_name, payload, key), ...])``: the app's event bus, bound
#: (:meth:`aftersales.events.EventBus.emit_many`: the page's events in one statement).
Emit = Callable[[Session, list[tuple[str, dict[str, Any], str]]], object]

_REVIEWS = cast(Table, ReviewRow.__table__)
_VERSIONS = cast(Table, ReviewVersionRow.__table__)
_ALERTS = cast(Table, ReviewAlertRow.__table__)
#: Natural keys per IN list, well under every database's bound-parameter limit.
_CHUNK = 500


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
    if review.visibility is ReviewVisibility.HIDDEN:  # taken down or back: a new version
        content.append("hidden")
    raw = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class PageResult:
    """What one page changed: reviews with a new version, and alerts raised."""

    changed: int = 0
    alerts: int = 0


#: The review columns a sync writes (all but the id, the natural key and the timestamps).
_COLUMNS = (
    "sku", "order_external_id", "order_line_external_id", "order_id", "return_external_id",
    "rma_id", "tracking_number", "rating", "author", "title", "body", "appended_body",
    "sentiment", "topics", "complaints", "severity", "score", "replied", "remote_created_at",
    "remote_updated_at", "current_version", "hidden",
)


@dataclass(eq=False)
class _Slot:
    """One stored (or about to be stored) review while the page is worked out."""

    id: int | None
    marketplace: str
    external_id: str
    values: dict[str, Any]  # the columns as the page leaves them
    version: int = 0  # the stored current_version (the UPDATE's guard)
    fingerprint: str | None = None  # the stored latest version's, until the page changes it
    touched: bool = False  # given a new version by this page
    late_rma: str | None = None  # a request found for an unchanged, unlinked review


@dataclass
class _Changed:
    slot: _Slot
    current: ReviewSnapshot
    previous: ReviewSnapshot | None
    links: Links


@dataclass
class _Plan:
    """The page's listings in order, each either a new version or left as it is."""

    steps: list[tuple[Review, str, bool]] = field(default_factory=list)  # review, fp, changes
    orders: set[str] = field(default_factory=set)
    returns: set[str] = field(default_factory=set)


def _snapshot(key: str, values: dict[str, Any]) -> ReviewSnapshot:
    return ReviewSnapshot(
        key=key,
        sku=values["sku"],
        rating=values["rating"],
        sentiment=Sentiment(values["sentiment"] or Sentiment.NEUTRAL.value),
        complaints=tuple(values["complaints"] or ()),
        severity=Severity(values["severity"]),
        at=values["remote_updated_at"],
        excerpt=review_text(values["title"], values["body"], values["appended_body"]),
    )


def _columns(review: Review, verdict: Classification, links: Links,
             old: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "sku": review.sku,
        "order_external_id": review.order_id,
        "order_line_external_id": review.order_line_id,
        "return_external_id": review.return_id,
        "order_id": links.order_id,
        "rma_id": links.rma_id,
        "tracking_number": links.tracking_number,
        "rating": review.rating,
        "author": review.author,
        "title": review.title,
        "body": review.body,
        "appended_body": review.appended_body,
        "sentiment": verdict.sentiment.value,
        "topics": list(verdict.topics),
        "complaints": list(verdict.complaints),
        "severity": int(verdict.severity),
        "score": verdict.score,
        "replied": bool(old and old["replied"]) or review.reply is not None,
        "remote_created_at": review.created_at,
        "remote_updated_at": review.updated_at,
        "current_version": (old["current_version"] + 1) if old else 1,
        "hidden": review.visibility is ReviewVisibility.HIDDEN,
    }


#: Display text clipped to its column; the whole text stays in the version's data.
_CLIPPED = ("title", "author")
#: Identifiers longer than their column are left out: a cut id would name another record.
_LONG_IDS = ("sku", "order_external_id", "order_line_external_id", "return_external_id",
             "tracking_number")


def _fit(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each text that its column cannot hold clipped or left out.

    PostgreSQL refuses a value longer than its column, which failed the whole
    page, and every sync after it, on one review's 1,000-character title.
    """
    for name in (*_CLIPPED, *_LONG_IDS):
        value = values[name]
        width = getattr(_REVIEWS.c[name].type, "length", None)
        if value is None or width is None or len(value) <= width:
            continue
        values[name] = value[: width - 1] + "…" if name in _CLIPPED else None
    return values


def _version(slot: _Slot, review: Review, verdict: Classification, fingerprint: str,
             now: datetime) -> dict[str, Any]:
    return {
        "version": slot.values["current_version"],
        "fingerprint": fingerprint,
        "rating": review.rating,
        "sentiment": verdict.sentiment.value,
        "data": {
            **review.model_dump(mode="json"),
            "classification": {
                "topics": list(verdict.topics),
                "complaints": list(verdict.complaints),
                "severity": int(verdict.severity),
                "score": verdict.score,
            },
        },
        "seen_at": now,
    }


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _read_stored(session: Session, marketplace: str,
                 reviews: Sequence[Review]) -> dict[str, _Slot]:
    """The page's stored reviews with their latest fingerprint: one SELECT (per 500 keys)."""
    slots: dict[str, _Slot] = {}
    ids = list(dict.fromkeys(r.external_id for r in reviews))
    latest = ((_VERSIONS.c.review_id == _REVIEWS.c.id)
              & (_VERSIONS.c.version == _REVIEWS.c.current_version))
    for chunk in _chunks(ids):
        for row in session.execute(
            select(_REVIEWS, _VERSIONS.c.fingerprint.label("latest_fingerprint"))
            .outerjoin(_VERSIONS, latest)
            .where(_REVIEWS.c.marketplace == marketplace, _REVIEWS.c.external_id.in_(chunk))
        ).mappings():
            slots[row["external_id"]] = _Slot(
                id=row["id"], marketplace=marketplace, external_id=row["external_id"],
                values={c: row[c] for c in _COLUMNS}, version=row["current_version"],
                fingerprint=row["latest_fingerprint"])
    return slots


def _plan(reviews: Sequence[Review], slots: dict[str, _Slot]) -> _Plan:
    """Which listings are new versions, and which orders' links the page needs.

    A listing is unchanged when its review is stored, not yet changed by
    this page, and has the same fingerprint as its latest version. A listing
    older (``updated_at``) than the version stored or listed before it in the
    page is left out whole, links included: a copy from before an edit (a
    lagging replica, a repeat on a later page of a listing that shifted)
    must not undo the edit.
    """
    plan = _Plan()
    changed: set[str] = set()
    latest: dict[str, datetime] = {
        key: slot.values["remote_updated_at"] for key, slot in slots.items()}
    for review in reviews:
        fingerprint = _fingerprint(review)
        slot = slots.get(review.external_id)
        newest = latest.get(review.external_id)
        if newest is not None and review.updated_at < newest:
            continue  # a copy from before the version known: nothing of it is used
        same = (slot is not None and review.external_id not in changed
                and slot.fingerprint == fingerprint)
        plan.steps.append((review, fingerprint, not same))
        if not same:
            latest[review.external_id] = review.updated_at
            changed.add(review.external_id)
            if review.order_id:
                plan.orders.add(review.order_id)
                plan.returns.add(review.order_id)
        elif slot is not None and slot.values["rma_id"] is None and review.order_id:
            plan.returns.add(review.order_id)
    return plan


def _store_versions(
    session: Session,
    marketplace: str,
    reviews: Sequence[Review],
    classifier: Classifier,
    now: datetime,
) -> list[_Changed]:
    slots = _read_stored(session, marketplace, reviews)
    plan = _plan(reviews, slots)
    lookups = PageLinks(session, marketplace, plan.orders, plan.returns)
    changed: list[_Changed] = []
    fresh: list[_Slot] = []
    versions: list[tuple[_Slot, dict[str, Any]]] = []
    for review, fingerprint, changes in plan.steps:
        key = review_key(marketplace, review.external_id)
        links = lookups.links(review)
        slot = slots.get(review.external_id)
        if not changes:
            assert slot is not None
            if slot.values["rma_id"] is None and links.rma_id:  # the return came after
                slot.values["rma_id"] = slot.late_rma = links.rma_id
            continue
        previous: ReviewSnapshot | None = None
        if slot is None:
            slot = slots[review.external_id] = _Slot(
                id=None, marketplace=marketplace, external_id=review.external_id, values={})
            fresh.append(slot)
            old = None
        else:
            previous = _snapshot(key, slot.values)
            old = slot.values
        slot.touched = True
        verdict = classifier.classify(
            review_text(review.title, review.body, review.appended_body), rating=review.rating
        )
        slot.values = _fit(_columns(review, verdict, links, old))
        versions.append((slot, _version(slot, review, verdict, fingerprint, now)))
        changed.append(_Changed(slot, _snapshot(key, slot.values), previous, links))
    _write(session, slots.values(), fresh, versions)
    return changed


def _write(session: Session, slots: Iterable[_Slot], fresh: Sequence[_Slot],
           versions: Sequence[tuple[_Slot, dict[str, Any]]]) -> None:
    """The page's rows, one statement per kind of write; nothing when nothing changed.

    Through the store's set-based writers: ``executemany`` on SQLite, the page
    as one JSON value on PostgreSQL (one statement text whatever the page size).
    """
    if fresh:
        by_external = {s.external_id: s for s in fresh}
        for row in upsert_rows(
            session, _REVIEWS,
            [{"marketplace": s.marketplace, "external_id": s.external_id, **s.values}
             for s in fresh],
            returning=("id", "external_id"),
        ):
            by_external[row.external_id].id = row.id
    stale = [s for s in slots if s.touched and s.version]
    if stale:
        done = update_rows(session, _REVIEWS, [
            ({"id": s.id, "current_version": s.version}, s.values) for s in stale])
        if session.get_bind().dialect.supports_sane_multi_rowcount and done != len(stale):
            raise StaleDataError("a review changed while its page was written")
    late = [({"id": s.id}, {"rma_id": s.late_rma}) for s in slots
            if s.late_rma is not None and not s.touched]
    if late:
        update_rows(session, _REVIEWS, late)
    if versions:
        upsert_rows(session, _VERSIONS, [{"review_id": s.id, **v} for s, v in versions])


def _spikes(session: Session, changed: list[_Changed], config: AlertConfig,
            marketplace: str) -> list[AlertDraft]:
    """The spike rule over the page, in time order, against the stored history.

    Per store: only ``marketplace``'s reviews count toward its SKU's spike,
    and only its own earlier spike cools it down.
    """
    negatives = [
        c.current for c in changed
        if c.current.sku and c.current.sentiment is Sentiment.NEGATIVE
        and not c.slot.values["hidden"]
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
    by_key = {c.current.key: c for c in changed}
    drafts: dict[tuple[str, str], AlertDraft] = {}
    for item in changed:
        if item.slot.values["hidden"]:  # shoppers cannot see it: no alert
            continue
        for draft in review_alerts(item.current, item.previous, config):
            drafts.setdefault((draft.rule.value, draft.subject), draft)
    for draft in _spikes(session, changed, config, marketplace):
        drafts.setdefault((draft.rule.value, draft.subject), draft)
    if drafts:
        existing = {
            (rule, subject)
            for rule, subject in session.execute(
                select(_ALERTS.c.rule, _ALERTS.c.subject).where(
                    tuple_(_ALERTS.c.rule, _ALERTS.c.subject).in_(list(drafts))
                )
            )
        }
        fresh = [(by_key[d.subject], d) for k, d in drafts.items() if k not in existing]
    else:
        fresh = []
    alert_ids: list[int] = []
    if fresh:
        ids = {(row.rule, row.subject): row.id for row in upsert_rows(
            session, _ALERTS, [_alert_row(item, draft, now) for item, draft in fresh],
            returning=("id", "rule", "subject"))}
        alert_ids = [ids[(draft.rule.value, draft.subject)] for _, draft in fresh]
    events = [(draft.rule.event, _payload(item, draft, alert_id),
               f"{draft.rule.event}:{draft.subject}")
              for (item, draft), alert_id in zip(fresh, alert_ids, strict=True)]
    events += [(RESOLVED, _base_payload(item),
                f"{RESOLVED}:{item.current.key}:{item.slot.values['current_version']}")
               for item in changed if _resolved(item)]
    if events:
        emit(session, events)
    return PageResult(changed=len(changed), alerts=len(alert_ids))


#: Emitted when an edit lifts a negative review out of negative (the 差评 was resolved),
#: so a follow-up hold opened by ``review.negative`` can close.
RESOLVED = "review.resolved"


def _resolved(item: _Changed) -> bool:
    return (
        item.previous is not None
        and item.previous.sentiment is Sentiment.NEGATIVE
        and item.current.sentiment is not Sentiment.NEGATIVE
    )


def _alert_row(item: _Changed, draft: AlertDraft, now: datetime) -> dict[str, Any]:
    return {
        "rule": draft.rule.value,
        "subject": draft.subject,
        "review_id": item.slot.id,
        "marketplace": item.slot.marketplace,
        "sku": draft.sku,
        "severity": int(draft.severity),
        "message": draft.message,
        "data": draft.data,
        "occurred_at": item.current.at,
        "created_at": now,
    }


def _base_payload(item: _Changed) -> dict[str, Any]:
    values = item.slot.values
    return {
        "marketplace": item.slot.marketplace,
        "review_id": item.slot.id,
        "external_id": item.slot.external_id,
        "sku": values["sku"],
        "rating": values["rating"],
        "sentiment": values["sentiment"],
        "topics": list(values["topics"] or ()),
        "order_id": values["order_external_id"],
        "buyer_id": item.links.buyer_id,
        "rma_id": values["rma_id"],
    }


def _payload(item: _Changed, draft: AlertDraft, alert_id: int) -> dict[str, Any]:
    return {
        **_base_payload(item),
        "alert_id": alert_id,
        "rule": draft.rule.value,
        "severity": int(draft.severity),
        "message": draft.message,
        "sku": draft.sku,
        **({"spike": draft.data} if draft.rule is AlertRule.SPIKE else {}),
    }
