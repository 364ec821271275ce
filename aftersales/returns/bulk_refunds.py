"""Bulk refund rows without an ``idempotency_key``: each refunds its request once, whatever
the amount.

A shop runs a file again after a crash, or after fixing a typo in an
amount, and expects never to pay twice by accident. A refund row without a
key is therefore keyed by its request alone (:mod:`~aftersales.returns.bulk_rows`),
and :func:`guard` refuses it, under the order's lock in the refund's claim,
when the request already has a refund that came from a bulk row:

- under the row's own key with another amount (the file was edited): the
  claim would refuse the reused key anyway, but named by an internal key;
- under another bulk key: a row of its own ``idempotency_key`` (``k:``), or
  an older release's key made from the row's content (``h:``), which an
  edited amount changed. An older release's refund for the same amount is
  this row run before the upgrade: :class:`AppliedBefore`, reported as
  already applied.

Either way the row fails with one line naming the row, the request and the
amount refunded before, and nothing is paid. The same row again (same
request, same amount) goes on to the claim, which returns the refund it
paid or resumes it. Refunds made by hand or by other callers do not count:
their keys are neither ``h:`` nor ``k:``. Two refunds of one request
through bulk files take an ``idempotency_key`` each.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aftersales.errors import AfterSalesError, ValidationError
from aftersales.money import Money
from aftersales.returns import refund_claim as refund_claims
from aftersales.store.tables.returns import RefundRow

__all__ = ["BULK_KEY_PREFIXES", "AppliedBefore", "already_refunded", "earlier_bulk_refund",
           "guard"]

#: How the keys a bulk run gives refunds start: a row's own key, or a key made by the run.
BULK_KEY_PREFIXES = ("k:", "h:")
#: How the keys a bulk run made for rows without one start.
_MADE = "h:"


class AppliedBefore(AfterSalesError):
    """The row was applied by an older release's run, under the key it made then."""


def earlier_bulk_refund(session: Session, rma_id: str) -> RefundRow | None:
    """The request's first refund that came from a bulk row and was not refused."""
    return session.scalar(
        select(RefundRow).where(
            RefundRow.rma_id == rma_id, RefundRow.status != "failed",
            or_(*(RefundRow.idempotency_key.startswith(p, autoescape=True)
                  for p in BULK_KEY_PREFIXES)))
        .order_by(RefundRow.id).limit(1))


def already_refunded(row_number: int, rma_id: str, earlier: RefundRow,
                     asked: Money | None) -> ValidationError:
    """The row's error: what the request had from a bulk row, and how to refund it again."""
    paid = Money(earlier.amount, earlier.currency)
    wants = "the rest in full" if asked is None else str(asked)
    return ValidationError(
        f"return {rma_id} already has a refund of {paid} from a bulk row (this row asks for "
        f"{wants}); nothing was paid. A refund row without an idempotency_key refunds its "
        "request once: to refund it again, give the row an idempotency_key of its own",
        field="idempotency_key", row=row_number)


def guard(row_number: int, key: str, asked: Money | None) -> Callable[[Session, str, str], None]:
    """The check a keyless refund row's claim runs under the order's lock, given the
    session, the request and the claim's fingerprint of what the row asks.

    Raises:
        ValidationError: the request has a refund from a bulk row under
            ``key`` for another amount, or under another key (see the module
            docstring).
    """
    def check(session: Session, rma_id: str, asks: str) -> None:
        mine = refund_claims.by_key(session, key)
        if mine is not None and mine.status == "failed":
            why = mine.error or "no reason given"
            raise ValidationError(
                f"the refund of {Money(mine.amount, mine.currency)} a bulk row asked for on "
                f"return {rma_id} was refused by the marketplace ({why}); nothing was paid. "
                "To try again, give the row an idempotency_key of its own",
                field="idempotency_key", row=row_number)
        if mine is not None:
            if mine.fingerprint in (None, asks):
                return  # the same row again: the claim returns or resumes its refund
            raise already_refunded(row_number, rma_id, mine, asked)
        earlier = earlier_bulk_refund(session, rma_id)
        if earlier is None:
            return
        if earlier.idempotency_key.startswith(_MADE) and earlier.fingerprint == asks:
            raise AppliedBefore(f"return {rma_id} was refunded {earlier.fingerprint} by this row "
                                "before")
        raise already_refunded(row_number, rma_id, earlier, asked)

    return check
