"""Replies to reviews: safe templates, sent once per review, with a dry run.

A reply is claimed in the database before the marketplace is called (one
row per review, unique), so two workers, a retried script or a double click
can never post two replies. The claim carries an idempotency key. If the
call's outcome is unknown (a timeout, a 5xx after the server may have acted),
the claim stays "sending" and the next attempt depends on the marketplace:

* one that dedupes replies by key (``reply_idempotent``, as the sandbox
  does) gets the same text with the same key again, and answers with the
  first reply instead of a second;
* one that can read the review's reply (``find_reply``, as Tmall does) is
  asked first: a reply found is recorded as sent, none found lets the reply
  go; so is it after an attempt killed between its post and its record, once
  its claim is older than :data:`STALE_CLAIM` (a younger one may be in flight);
* any other (Judge.me, JD), or one that no longer shows the review, is not
  sent again: the attempt raises
  :class:`~aftersales.errors.ReplyOutcomeUnknownError` until a person has
  looked and called :func:`mark_reply_sent` (it is there) or
  :func:`release_reply` (it is not; the next reply posts once).

A refusal (the text was too long, the credentials were wrong), or a failure
the adapter marks ``sent_nothing`` (a check it makes before posting, such as
Judge.me's look at the review's state), releases the claim so a (corrected)
reply can go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aftersales.errors import (
    AuthenticationError,
    InvalidTransitionError,
    NotEligibleError,
    NotFoundError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ReplyOutcomeUnknownError,
    StorageError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.interfaces import Capability, require
from aftersales.models import Review
from aftersales.redact import known_names, redact_text
from aftersales.reviews.records import stored_review_row
from aftersales.store.orders import buyer_names
from aftersales.store.tables.reviews import ReviewReplyRow, ReviewRow, ReviewVersionRow
from aftersales.templating import Template
from aftersales.wire import plain_id

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = [
    "DEFAULT_TEMPLATES",
    "STALE_CLAIM",
    "ReplyResult",
    "mark_reply_sent",
    "release_reply",
    "send_reply",
]

#: A claim with no error older than this was left by an attempt that stopped
#: (killed between its post and its record): no call takes this long, so a
#: marketplace that can read the review's reply (``find_reply``) is asked.
#: A younger one may still be in flight, and nothing is sent or asked.
STALE_CLAIM = timedelta(minutes=10)

#: Built-in templates; each has a Chinese and an English text, chosen by the review's language.
DEFAULT_TEMPLATES: Mapping[str, Mapping[str, str]] = {
    "thanks": {
        "zh": "感谢{author}的好评！期待您再次光临{shop}。",
        "en": "Thank you for your kind review, {author}! We hope to see you again at {shop}.",
    },
    "sorry": {
        "zh": "{author}您好，非常抱歉给您带来不好的体验。"
        "我们已记录您反馈的问题，客服会尽快联系您处理。",
        "en": "Hi {author}, we are sorry about your experience. We have noted the problem "
        "and our team will contact you shortly.",
    },
}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DEFINITELY_NOT_SENT = (
    NotEligibleError,  # the adapter refused before sending (a hidden review)
    RemoteRejectedError,
    RemoteNotFoundError,  # the platform has no such review: nothing to reply to
    AuthenticationError,
    UnsupportedOperationError,
    ValidationError,
)


@dataclass(frozen=True)
class ReplyResult:
    """What :meth:`ReviewsService.reply` did.

    Attributes:
        review_id: the library's review id.
        status: ``sent``, ``dry_run`` (nothing sent or written),
            ``already_replied`` (the review has a reply; nothing sent),
            ``marked_sent`` (recorded as sent by hand) or ``released``
            (an unfinished attempt dropped by hand).
        text: the reply text (the existing one when already replied).
        remote_id: the marketplace's id of the reply, when it gave one.
    """

    review_id: int
    status: str
    text: str
    remote_id: str | None = None


def _find(runtime: Runtime, review_id: int | str, marketplace: str | None) -> ReviewRow:
    with runtime.unit_of_work() as session:
        if isinstance(review_id, int):
            return stored_review_row(session, review_id)
        query = select(ReviewRow).where(ReviewRow.external_id == review_id)
        if marketplace:
            query = query.where(ReviewRow.marketplace == marketplace)
        rows = list(session.scalars(query.limit(2)))
        if len(rows) > 1:
            raise ValidationError(
                "several marketplaces have a review with this id; pass marketplace=",
                field="review_id",
            )
        row = rows[0] if rows else None
        if row is None:
            raise NotFoundError("review", review_id)
        return row


def _template_text(
    template: str, templates: Mapping[str, str | Mapping[str, str]], body: str
) -> tuple[str | None, str]:
    chosen = templates.get(template)
    if chosen is None:
        return None, template  # not a name: the template text itself
    if isinstance(chosen, str):
        return template, chosen
    language = "zh" if _CJK.search(body) else "en"
    return template, chosen.get(language) or next(iter(chosen.values()))


def _context(row: ReviewRow, shop: str, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    chinese = bool(_CJK.search(row.body or ""))
    return {
        "author": row.author or ("亲" if chinese else "there"),
        "shop": shop,
        "sku": row.sku,
        "rating": row.rating,
        "order_id": row.order_external_id,
        "review": {
            "id": row.id,
            "marketplace": row.marketplace,
            "external_id": row.external_id,
            "rating": row.rating,
            "title": row.title,
            "body": row.body,
            "sku": row.sku,
            "order_id": row.order_external_id,
        },
        **(extra or {}),
    }


def _review_model(runtime: Runtime, row: ReviewRow) -> Review:
    with runtime.unit_of_work() as session:
        data = session.scalar(
            select(ReviewVersionRow.data).where(
                ReviewVersionRow.review_id == row.id,
                ReviewVersionRow.version == row.current_version,
            )
        )
    fields = {k: v for k, v in (data or {}).items() if k in Review.model_fields}
    return Review.model_validate(fields)


def send_reply(
    runtime: Runtime,
    review_id: int | str,
    *,
    template: str,
    templates: Mapping[str, str | Mapping[str, str]],
    shop: str,
    marketplace: str | None = None,
    context: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> ReplyResult:
    """Render ``template`` for a review and post it, once; see :meth:`ReviewsService.reply`."""
    row = _find(runtime, review_id, marketplace)
    market = runtime.marketplace(row.marketplace)
    require(market, Capability.REPLY_REVIEW)
    with runtime.unit_of_work() as session:
        claim = session.scalar(select(ReviewReplyRow).where(ReviewReplyRow.review_id == row.id))
    if claim is not None and claim.status == "sent":
        return ReplyResult(row.id, "already_replied", claim.text, claim.remote_id)
    if claim is None and row.replied:
        return ReplyResult(row.id, "already_replied", "")
    if claim is not None and not dry_run and not getattr(market, "reply_idempotent", False):
        # An unfinished attempt on a marketplace that would post the same text twice.
        found = _settle(runtime, market, row, claim)
        if found is not None:
            return found
    if claim is not None:
        text = claim.text  # an unfinished attempt: the same text, the same key
    else:
        name, source = _template_text(template, templates, row.body or "")
        label = f"reply template {name!r}" if name else "reply template"
        text = Template(source, name=label).render(_context(row, shop, context)).strip()
        if not text:
            raise ValidationError("the reply is empty", field="template")
    if dry_run:
        return ReplyResult(row.id, "dry_run", text)
    key = f"review-reply:{row.marketplace}:{row.external_id}"
    # Everything the post needs is read before the claim: a failure here (the
    # database down) leaves no claim that nothing posted.
    review = _review_model(runtime, row)
    names = _names_of(runtime, row)
    if claim is None:
        name, _ = _template_text(template, templates, row.body or "")
        try:
            with runtime.unit_of_work() as session:
                session.add(
                    ReviewReplyRow(
                        review_id=row.id,
                        template=name,
                        text=text,
                        idempotency_key=key,
                        status="sending",
                        created_at=runtime.now(),
                    )
                )
        except StorageError:
            # Someone else claimed this review a moment ago: theirs is the reply.
            with runtime.unit_of_work() as session:
                other = session.scalar(
                    select(ReviewReplyRow).where(ReviewReplyRow.review_id == row.id)
                )
            if other is None:
                raise
            if other.status != "sent":  # still posting: it may yet be refused
                raise ReplyOutcomeUnknownError(
                    row.id, row.marketplace, row.external_id,
                    "another attempt is sending the reply") from None
            return ReplyResult(row.id, "already_replied", other.text, other.remote_id)
    # the reviewer's and the buyer's names, masked in whatever the platform's answer quotes
    with known_names(*names):
        return _post(runtime, market, row, review, text, key)


def _names_of(runtime: Runtime, row: ReviewRow) -> tuple[str, ...]:
    with runtime.unit_of_work() as session:
        return (*((row.author,) if row.author else ()), *buyer_names(session, row.order_id))


def _post(runtime: Runtime, market: Any, row: ReviewRow, review: Review, text: str,
          key: str) -> ReplyResult:
    try:
        remote_id = market.reply_review(review, text, idempotency_key=key)
    except Exception as exc:
        if isinstance(exc, _DEFINITELY_NOT_SENT) or getattr(exc, "sent_nothing", False):
            # refused, or failed in a check before the post: the claim goes
            with runtime.unit_of_work() as session:
                claimed = session.scalar(
                    select(ReviewReplyRow).where(ReviewReplyRow.review_id == row.id)
                )
                if claimed is not None:
                    session.delete(claimed)
            raise
        with runtime.unit_of_work() as session:
            claimed = session.scalar(
                select(ReviewReplyRow).where(ReviewReplyRow.review_id == row.id)
            )
            if claimed is not None:
                claimed.last_error = redact_text(str(exc))[:300]
        raise
    # posted: whatever the answer called its id, the record must go in
    remote_id = plain_id(remote_id)
    _record_sent(runtime, row, remote_id)
    return ReplyResult(row.id, "sent", text, remote_id)


def _settle(
    runtime: Runtime, market: Any, row: ReviewRow, claim: ReviewReplyRow
) -> ReplyResult | None:
    """Settle an unfinished claim on a non-idempotent marketplace without posting.

    Returns the result when the reply is found on the marketplace, ``None``
    when it surely is not there (the caller sends); raises otherwise.
    """
    if claim.last_error is None and runtime.now() - claim.created_at < STALE_CLAIM:
        # Another attempt may be sending right now (or died a moment ago).
        raise ReplyOutcomeUnknownError(
            row.id, row.marketplace, row.external_id,
            "another attempt is sending the reply or stopped before its answer")
    # An attempt that failed, or one claimed longer ago than any call takes:
    # it stopped (killed) between its post and its record.
    why = claim.last_error or "the attempt stopped before its answer"
    lost = ReplyOutcomeUnknownError(
        row.id, row.marketplace, row.external_id,
        f"the last attempt's answer was lost ({why}) and "
        f"{row.marketplace} takes no idempotency key on replies")
    find_reply = getattr(market, "find_reply", None)
    if find_reply is None:
        raise lost
    try:
        remote_id = find_reply(_review_model(runtime, row))
    except (UnsupportedOperationError, RemoteNotFoundError):
        # It cannot tell (the platform no longer shows the review): a person looks.
        raise lost from None
    if remote_id is None:
        return None
    remote_id = plain_id(remote_id)  # found: whatever it is called, it is recorded
    _record_sent(runtime, row, remote_id)
    return ReplyResult(row.id, "already_replied", claim.text, remote_id)


def _record_sent(runtime: Runtime, row: ReviewRow, remote_id: str | None) -> None:
    """Mark the claim sent and the review replied; emit ``review.replied`` (once, by key)."""
    with runtime.unit_of_work() as session:
        claimed = session.scalar(select(ReviewReplyRow).where(ReviewReplyRow.review_id == row.id))
        stored = session.get(ReviewRow, row.id)
        if claimed is not None:
            claimed.status = "sent"
            claimed.remote_id = remote_id
            claimed.sent_at = runtime.now()
            claimed.last_error = None
        if stored is not None:
            stored.replied = True
        runtime.events.emit(
            session,
            "review.replied",
            {
                "review_id": row.id,
                "marketplace": row.marketplace,
                "external_id": row.external_id,
                "reply_id": remote_id,
            },
            key=f"review.replied:{row.marketplace}:{row.external_id}",
        )


def _unfinished(runtime: Runtime, row: ReviewRow, target: str) -> ReviewReplyRow:
    with runtime.unit_of_work() as session:
        claim = session.scalar(select(ReviewReplyRow).where(ReviewReplyRow.review_id == row.id))
    if claim is None or claim.status != "sending":
        current = "no reply attempt" if claim is None else claim.status
        raise InvalidTransitionError(f"the reply to review {row.id}", current, target,
                                     "only an unfinished reply can be")
    return claim


def mark_reply_sent(
    runtime: Runtime, review_id: int | str, *, marketplace: str | None = None,
    remote_id: str | None = None,
) -> ReplyResult:
    """Record an unfinished reply as sent: a person saw it on the marketplace.

    Raises:
        InvalidTransitionError: the review has no unfinished reply.
        ValidationError: ``remote_id`` is not a plain id (at most 64 ASCII
            letters, digits and ``- _ . :``).
    """
    if remote_id is not None and plain_id(remote_id) is None:
        raise ValidationError("must be at most 64 ASCII letters, digits and - _ . :",
                              field="remote_id")
    row = _find(runtime, review_id, marketplace)
    claim = _unfinished(runtime, row, "sent")
    _record_sent(runtime, row, remote_id)
    return ReplyResult(row.id, "marked_sent", claim.text, remote_id)


def release_reply(
    runtime: Runtime, review_id: int | str, *, marketplace: str | None = None
) -> ReplyResult:
    """Drop an unfinished reply: a person saw it is not on the marketplace.

    The next :func:`send_reply` renders and posts a reply, once.

    Raises:
        InvalidTransitionError: the review has no unfinished reply.
    """
    row = _find(runtime, review_id, marketplace)
    claim = _unfinished(runtime, row, "released")
    with runtime.unit_of_work() as session:
        claimed = session.scalar(
            select(ReviewReplyRow).where(
                ReviewReplyRow.review_id == row.id, ReviewReplyRow.status == "sending"
            )
        )
        if claimed is not None:
            session.delete(claimed)
    return ReplyResult(row.id, "released", claim.text)
