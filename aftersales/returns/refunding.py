"""Moving money: refund previews and refunds that are paid exactly once.

A refund runs in three steps, and only the middle one talks to the
marketplace:

1. **Claim** (one transaction, holding the order's lock: ``SELECT … FOR
   UPDATE`` on PostgreSQL, the write lock on SQLite). The amount is decided
   from the ledger of every paid and pending refund on the order, the caps
   are checked (per line over all requests on the order, per order,
   shipping once), and the *pending* row is committed with a push lease
   (:mod:`~aftersales.returns.refund_claim`). Another caller then sees the
   pending row: with the same values it resumes it once the lease is free,
   otherwise it gets :class:`~aftersales.errors.RefundInFlightError` naming
   it.
2. **Push**, outside any transaction (:mod:`~aftersales.returns.refund_settle`).
   A resumed refund is first looked up on the marketplace
   (``find_refund``) and sent only when the marketplace surely has none.
3. **Record**, in a new transaction: paid (the request moves to
   ``refunded``), failed (a definite refusal), or still pending with the
   lease released (an unknown outcome: a timeout, a reset, a 5xx, an HTML
   page), to be settled by the next call, a bulk re-run or the worker's
   ``reconcile_refunds`` tick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales import observe
from aftersales.amounts import check_amount
from aftersales.asked_refunds import check_asked
from aftersales.errors import (
    IdempotencyKeyReusedError,
    NotFoundError,
    RefundInFlightError,
    ValidationError,
)
from aftersales.interfaces import Capability
from aftersales.models import Refund, ReturnKind, ReturnStatus
from aftersales.money import Money
from aftersales.returns import action_claim
from aftersales.returns import refund_claim as claims
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext, expect
from aftersales.returns.lifecycle import check_transition
from aftersales.returns.refund_settle import Settlement
from aftersales.returns.refunds import RefundBreakdown, compute_refund
from aftersales.returns.requests import Requests
from aftersales.store.keys import stored_key
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.returns import RefundLineRow, RefundRow, ReturnRow

#: A caller's check in the claim: ``(session, rma id, fingerprint asked)``; raises to refuse.
Guard = Callable[[Session, str, str], None]

__all__ = ["Refunding"]

S = ReturnStatus


class Refunding:
    """``preview_refund`` and ``refund``: claim, push (by :class:`Settlement`), record."""

    def __init__(self, ctx: ReturnsContext, requests: Requests, settlement: Settlement) -> None:
        self.ctx = ctx
        self.requests = requests
        self.settlement = settlement

    def _breakdown(self, session: Session, row: ReturnRow, amount: Money | None,
                   refund_shipping: bool | None) -> RefundBreakdown:
        order, _ = self.requests.order(session, row.marketplace, row.order_external_id)
        ledger, shipping_here = repo.ledger_for(session, row.marketplace,
                                                row.order_external_id, row.rma_id, order)
        model = repo.to_model(row)
        return compute_refund(order, model.lines, kind=model.kind, policy=self.ctx.policy,
                              ledger=ledger, amount=amount, refund_shipping=refund_shipping,
                              shipping_refunded_here=shipping_here)

    def preview_refund(self, rma_id: str, *, amount: Money | None = None,
                       refund_shipping: bool | None = None) -> RefundBreakdown:
        """What a refund would pay now, line by line, without moving money.

        Raises:
            NotFoundError: no such request (or its order is unknown).
            ValidationError: ``amount`` is more than can be refunded, or not
                a strict amount of the order's currency.
        """
        def work(session: Session) -> RefundBreakdown:
            row = repo.load_row(session, rma_id)
            return self._breakdown(session, row, self._strict(session, row, amount),
                                   refund_shipping)

        return self.ctx.run(work)

    @observe.traced("returns", "refund", counts=lambda r: {"refunds": 1})
    def refund(
        self, rma_id: str, *, amount: Money | None = None, refund_shipping: bool | None = None,
        note: str | None = None, idempotency_key: str | None = None, actor: str = "merchant",
        version: int | None = None, dry_run: bool = False, guard: Guard | None = None,
    ) -> Refund:
        """Pay the buyer back through the marketplace, exactly once.

        Args:
            amount: a partial refund; ``None`` pays everything still due. It
                must be a plain amount of the order's currency: more
                decimals than the currency has, ``NaN``, infinities, zero,
                negative or absurd amounts are refused, never rounded.
            refund_shipping: force the original shipping in or out (it is
                paid at most once per order either way).
            idempotency_key: the caller's key. The same key with the same
                values never pays twice and returns the first refund; with
                other values it raises ``IdempotencyKeyReusedError``.
                Without a key, one is made per request and attempt.
            guard: a caller's own check, run in the claim under the order's
                lock before the key is looked up (a bulk refund row without a
                key refuses a request refunded by a bulk row before); it raises
                to refuse.

        A refund of this request still pending (its answer was lost) is
        resumed first when the values match: it is looked up on the
        marketplace and sent again only if the marketplace surely has none.

        Raises:
            InvalidTransitionError: the request is not in a refundable state.
            ValidationError: nothing left to refund, or a bad ``amount``.
            IdempotencyKeyReusedError: the key was used with other values.
            RefundInFlightError: another refund of the request is pending
                (being paid now, or asked for with other values or another key).
            UnsupportedOperationError: the marketplace cannot refund.
            RemoteError: the marketplace refused (the refund is marked
                failed) or its answer was lost (the refund stays pending, and
                the next call, a bulk re-run or ``reconcile_refunds`` settles it).
            ResponseParseError: code ``AMOUNT_MISMATCH``: the marketplace
                answered "paid" for another amount or currency; the refund is
                recorded paid at the amount it named, and a person must check.
        """
        if idempotency_key is not None and not idempotency_key.strip():
            raise ValidationError("an idempotency key cannot be empty", field="idempotency_key")
        if idempotency_key is not None:
            # Stored and sent as the column holds it: a long key is hashed whole, never cut.
            idempotency_key = stored_key(idempotency_key)
        self._ensure_order(rma_id)

        def claim(session: Session) -> claims.Claimed:
            return self._claim(session, rma_id, amount, refund_shipping, idempotency_key,
                               version, note, guard)

        claimed = self.ctx.run(claim, dry_run=dry_run)
        if dry_run or claimed.paid:
            return claimed.instruction
        return self.settlement.settle(claimed, actor=actor, note=note)

    def claim_in(self, session: Session, rma_id: str, *, amount: Money | None,
                      note: str | None, idempotency_key: str,
                      guard: Guard | None = None) -> Refund:
        """A dry run's refund in the caller's unit of work: claimed, never sent."""
        row = repo.load_row(session, rma_id)
        self.requests.order(session, row.marketplace, row.order_external_id)
        claimed = self._claim(session, rma_id, amount, None, stored_key(idempotency_key), None,
                              note, guard)
        return claimed.instruction

    # ------------------------------------------------------------ the claim

    def _strict(self, session: Session, row: ReturnRow, amount: Money | None) -> Money | None:
        if amount is None:
            return None
        found = repo.load_order(session, row.marketplace, row.order_external_id)
        currency = found[0].currency if found else (row.currency or amount.currency)
        return check_amount(amount, currency)

    def _ensure_order(self, rma_id: str) -> None:
        """Fetch the request's order first if it was never stored: no call under the lock."""
        def stored(session: Session) -> tuple[str, str] | None:
            row = repo.load_row(session, rma_id)
            if repo.load_order(session, row.marketplace, row.order_external_id) is None:
                return row.marketplace, row.order_external_id
            return None

        missing = self.ctx.run(stored)
        if missing is None:
            return
        market = self.ctx.runtime.marketplaces.get(missing[0])
        if market is None or Capability.GET_ORDER not in market.capabilities:
            raise NotFoundError("order", f"{missing[0]}/{missing[1]}")
        order = market.get_order(missing[1])
        self.ctx.run(lambda s: upsert_orders(s, [order]))

    def _claim(self, session: Session, rma_id: str, amount: Money | None,
               refund_shipping: bool | None, key: str | None, version: int | None,
               note: str | None, guard: Guard | None = None) -> claims.Claimed:
        where = session.execute(select(ReturnRow.marketplace, ReturnRow.order_external_id)
                                .where(ReturnRow.rma_id == rma_id)).first()
        if where is None:
            raise NotFoundError("return request", rma_id)
        claims.lock_order(session, where[0], where[1])
        row = repo.load_row(session, rma_id)  # everything below is read under the lock
        expect(row, version)
        asked = self._strict(session, row, amount)
        print_ = claims.fingerprint(asked, refund_shipping)
        now = self.ctx.runtime.now()
        if guard is not None:
            guard(session, rma_id, print_)
        if key is not None:
            mine = claims.by_key(session, key, lock=True)
            if mine is not None:
                return self._reuse(session, mine, rma_id, print_, now, note, keyed=True)
        market = self.ctx.market(row.marketplace, Capability.REFUND)
        acting = action_claim.blocking(session, rma_id, row.version, now)
        if acting is not None:  # a refusal (say) is with the marketplace: not both
            raise acting
        pending = claims.pending_of(session, rma_id, lock=True)
        if pending is not None:
            # Resumed even when the request moved on meanwhile: the push looks it up
            # first, and sends it only while the request can still be refunded.
            if key is not None:
                raise self._in_flight(pending, "it was asked for under another key; resume it "
                                      "with that key, or wait for its outcome")
            return self._reuse(session, pending, rma_id, print_, now, note, keyed=False)
        check_transition(ReturnKind(row.kind), S(row.status), S.REFUNDED,
                         entity=f"return {rma_id}")
        breakdown = self._breakdown(session, row, asked, refund_shipping)
        if not breakdown.total:
            raise ValidationError(f"nothing is left to refund on return {rma_id}",
                                  field="amount")
        if getattr(market, "pays_asked", False) and row.requested_amount is not None:
            # The platform pays what the buyer asked whatever is sent: refuse another
            # amount before anything is written (the adapter checks its fresh figure too).
            check_asked(breakdown.total,
                        Money(row.requested_amount, row.currency or breakdown.currency),
                        platform=row.marketplace, request=f"return {rma_id}")
        count = session.scalar(select(func.count()).where(RefundRow.rma_id == rma_id)) or 0
        made = RefundRow(
            rma_id=rma_id, order_external_id=row.order_external_id,
            marketplace=row.marketplace, currency=breakdown.currency,
            amount=breakdown.total.amount, shipping=breakdown.shipping.amount,
            breakdown=breakdown.model_dump(mode="json"),
            idempotency_key=key or f"refund:{rma_id}:{count + 1}", fingerprint=print_,
            status="pending", created_at=now, attempts=0,
            lines=[RefundLineRow(order_line_external_id=ln.order_line_id,
                                 quantity=ln.quantity, amount=ln.amount.amount)
                   for ln in breakdown.lines],
        )
        session.add(made)
        session.flush()
        taken = claims.take(session, made, rma_id, now, resumed=False)
        return self._with_note(taken, note)

    def _reuse(self, session: Session, found: RefundRow, rma_id: str, print_: str,
               now: datetime, note: str | None, *, keyed: bool) -> claims.Claimed:
        """The caller's key (``keyed``) or request names a stored refund: return or resume it."""
        key = found.idempotency_key
        if found.rma_id != rma_id:
            raise IdempotencyKeyReusedError(key, f"for return {found.rma_id}")
        if found.fingerprint is not None and found.fingerprint != print_:
            if not keyed:
                raise self._in_flight(found, f"it was asked for {found.fingerprint}, not "
                                      f"{print_}; it must settle first")
            raise IdempotencyKeyReusedError(key, found.fingerprint)
        if found.status == "paid":
            return claims.Claimed(rma_id, claims.as_refund(found), paid=True)
        if found.status == "failed":
            raise ValidationError(f"refund {key!r} was refused by the marketplace "
                                  f"({found.error or 'no reason given'}); use a new key to "
                                  "try again", field="idempotency_key")
        if claims.leased(found, now):
            raise self._in_flight(found, "it is being sent to the marketplace right now; "
                                  "try again in a few minutes")
        return self._with_note(claims.take(session, found, rma_id, now, resumed=True), note)

    @staticmethod
    def _with_note(claimed: claims.Claimed, note: str | None) -> claims.Claimed:
        if note is None:
            return claimed
        return replace(claimed, instruction=claimed.instruction.model_copy(
            update={"note": note}))

    @staticmethod
    def _in_flight(row: RefundRow, why: str) -> RefundInFlightError:
        return RefundInFlightError(row.rma_id or "", row.idempotency_key,
                                   f"{Money(row.amount, row.currency)}", why)
