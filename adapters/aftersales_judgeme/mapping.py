"""Pure conversions from Judge.me payloads to the core's models.

The moderation table, checked on 2026-12-02: Judge.me's review carries
``curated`` (its moderation state), ``hidden`` (taken off the widgets) and,
in webhook bodies, ``published``. Judge.me's API docs show ``curated: "ok"``
(the GET /reviews/{id} example); a real listing shows ``"not-yet"``; and
``"spam"`` is the value integrations set to reject a review. The docs give
no closed list, so an unknown value is read as pending, never as published.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aftersales.errors import ValidationError
from aftersales.models import Review, ReviewVisibility
from aftersales.wire import iso_time, read_payload, wire_id
from aftersales_judgeme.schemas import JudgeMeReview
from aftersales_judgeme.settings import JudgeMeSettings

__all__ = ["CURATED", "parse_time", "review_ref", "to_review", "visibility"]

MARKETPLACE = "judgeme"

#: ``curated`` → what it means for shoppers, before ``hidden`` and ``published`` are read.
CURATED: dict[str, ReviewVisibility] = {
    "ok": ReviewVisibility.PUBLISHED,
    "not-yet": ReviewVisibility.PENDING,
    "spam": ReviewVisibility.HIDDEN,
}


def visibility(curated: str | None, hidden: bool | None,
               published: bool | None = None) -> ReviewVisibility:
    """Whether shoppers see a Judge.me review.

    ``hidden: true`` (or ``curated: spam``) is hidden whatever else is set;
    ``published: false`` is not published; otherwise ``curated`` decides, an
    unknown or missing value being pending. ``published: true`` on a review
    not yet curated means the shop publishes without moderation.
    """
    if hidden:
        return ReviewVisibility.HIDDEN
    state = CURATED.get((curated or "").strip().lower(), ReviewVisibility.PENDING)
    if state is ReviewVisibility.HIDDEN:
        return state
    if published is False:
        return ReviewVisibility.PENDING
    if published is True:
        return ReviewVisibility.PUBLISHED
    return state


def parse_time(value: str | None, *, field: str, payload: str) -> datetime:
    """An aware datetime from Judge.me's ISO 8601 text (:func:`aftersales.wire.iso_time`).

    Judge.me sends offsets (``2022-05-12T04:38:32+00:00``); a time without
    one is read as UTC rather than refused, since the API is UTC throughout.
    A date without a time, an epoch number or a time outside 2000–2100 is
    refused.

    Raises:
        ValidationError: missing or not a date-time; names the field.
    """
    if not value:
        raise ValidationError("missing", field=field, payload=payload)
    try:
        return iso_time(value, naive=UTC)
    except ValueError as exc:
        raise ValidationError(str(exc), field=field, payload=payload) from None


def review_ref(raw: object) -> str:
    """How a raw review is named in errors, logs and :attr:`skipped`: its id when
    that is a plain id, never a 100 kB text or a buyer's words put in its place."""
    found = raw.get("id") if isinstance(raw, dict) else None
    try:
        return str(wire_id(found))
    except ValueError:
        return "?"


def to_review(
    raw: dict[str, Any], settings: JudgeMeSettings | None = None, *, store: str = MARKETPLACE
) -> Review:
    """The core :class:`~aftersales.models.Review` of ``store`` for one Judge.me review.

    The product stands in for the SKU (``settings.sku_from``); a store review
    (no product) has no SKU. Judge.me's list gives no order id, so none is
    set. The reviewer's e-mail and phone are never copied.

    Raises:
        ValidationError: the review lacks an id, a 1–5 rating or its times;
            the error names the field and the review id.
    """
    settings = settings or JudgeMeSettings()
    payload = f"judgeme review {review_ref(raw)}"
    wire = read_payload(JudgeMeReview, raw, payload=payload)
    if wire.rating is None or not 1 <= wire.rating <= 5:
        raise ValidationError("must be 1 to 5", field="rating", payload=payload)
    created = parse_time(wire.created_at, field="created_at", payload=payload)
    updated = parse_time(wire.updated_at or wire.created_at, field="updated_at", payload=payload)
    sku = wire.product_external_id if settings.sku_from == "product_external_id" else (
        wire.product_handle or wire.product_external_id
    )
    return Review(
        marketplace=store,
        external_id=wire.id,
        rating=wire.rating,
        title=wire.title or None,
        body=wire.body or "",
        sku=sku,
        author=wire.reviewer.name if wire.reviewer else None,
        created_at=created,
        updated_at=max(updated, created),
        images=[
            url
            for picture in wire.pictures
            if not picture.hidden
            for url in [picture.urls.get("original") or picture.urls.get("huge")]
            if url
        ],
        visibility=visibility(wire.curated, wire.hidden, wire.published),
    )
