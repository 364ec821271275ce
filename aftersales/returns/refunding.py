"""Moving money: refund previews and refunds that a retry can never pay twice.

A refund runs in three steps. First a *pending* row (unique on its
idempotency key) is committed with its line ledger, so the caps see money
that may be on its way. Then the refund goes to the marketplace with that
key. Last the row is marked paid and the request moves to ``refunded`` in
one transaction. A crash or a timeout between the steps leaves the pending
row; the next call resumes it with the same key, and the marketplace, which
honours the key, pays at most once.
"""

from __future__ import annotations

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from aftersales import observe
from aftersales.errors import AfterSalesError, ConcurrentUpdateError, ValidationError
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import (
    Order,
    Refund,
    RefundLine,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
)
from aftersales.money import Money
from aftersales.returns import repository as repo
from aftersales.returns.actions import ActionsMixin
from aftersales.returns.lifecycle import check_transition
from aftersales.returns.refunds import RefundBreakdown, compute_refund
from aftersales.store.tables.returns import RefundLineRow, RefundRow, ReturnRow

__all__ = ["RefundsMixin"]

S = ReturnStatus


def _as_model(row: RefundRow, order: Order | None = None) -> Refund:
    cur = row.currency
    try:
        breakdown = RefundBreakdown.model_validate(row.breakdown)
    except PydanticValidationError:
        breakdown = None
    if breakdown is not None:  # the stored breakdown keeps the tax the lines carried
        return breakdown.to_refund(row.order_external_id, row.idempotency_key,
                                   order=order).model_copy(update={
            "external_id": row.external_id, "raw_status": row.status,
            "created_at": row.created_at})
    return Refund(
        order_id=row.order_external_id, amount=Money(row.amount, cur),
        lines=[RefundLine(order_line_id=ln.order_line_external_id, quantity=ln.quantity,
                          amount=Money(ln.amount, cur)) for ln in row.lines],
        shipping=Money(row.shipping, cur) if row.shipping else None,
        idempotency_key=row.idempotency_key, external_id=row.external_id,
        raw_status=row.status, created_at=row.created_at,
    )


class RefundsMixin(ActionsMixin):
    """``preview_refund`` and ``refund``."""

    def _breakdown(self, session: Session, row: ReturnRow, amount: Money | None,
                   refund_shipping: bool | None) -> RefundBreakdown:
        order, _ = self._order(session, row.marketplace, row.order_external_id)
        ledger, shipping_here = repo.ledger_for(session, row.marketplace,
                                                row.order_external_id, row.rma_id)
        model = repo.to_model(row)
        return compute_refund(order, model.lines, kind=model.kind, policy=self.policy,
                              ledger=ledger, amount=amount, refund_shipping=refund_shipping,
                              shipping_refunded_here=shipping_here)

    def preview_refund(self, rma_id: str, *, amount: Money | None = None,
                       refund_shipping: bool | None = None) -> RefundBreakdown:
        """What a refund would pay now, line by line, without moving money.

        Raises:
            NotFoundError: no such request (or its order is unknown).
            ValidationError: ``amount`` is more than can be refunded.
        """
        return self._run(lambda s: self._breakdown(s, repo.load_row(s, rma_id), amount,
                                                   refund_shipping))

    @observe.traced("returns", "refund", counts=lambda r: {"refunds": 1})
    def refund(
        self, rma_id: str, *, amount: Money | None = None, refund_shipping: bool | None = None,
        note: str | None = None, idempotency_key: str | None = None, actor: str = "merchant",
        version: int | None = None, dry_run: bool = False,
    ) -> Refund:
        """Pay the buyer back through the marketplace, at most once per key.

        Args:
            amount: a partial refund; ``None`` pays everything still due.
            refund_shipping: force the original shipping in or out (it is
                paid at most once per order either way).
            idempotency_key: the caller's key; the same key never pays twice
                and returns the first refund. Without one, a key is made per
                request and attempt, and an unfinished attempt is resumed.

        Raises:
            InvalidTransitionError: the request is not in a refundable state.
            ValidationError: nothing left to refund, or a bad ``amount``.
            UnsupportedOperationError: the marketplace cannot refund.
            RemoteError: the marketplace failed; a retryable failure leaves
                the refund pending, to be resumed by the next call.
        """
        def prepare(session: Session) -> tuple[RefundRow | None, Refund]:
            row = repo.load_row(session, rma_id)
            self._expect(row, version)
            check_transition(ReturnKind(row.kind), S(row.status), S.REFUNDED,
                             entity=f"return {rma_id}")
            self._market(row.marketplace, Capability.REFUND)
            existing = self._existing(session, rma_id, idempotency_key)
            if existing is not None:
                stored = repo.load_order(session, row.marketplace, row.order_external_id)
                return existing, _as_model(existing, stored[0] if stored else None)
            breakdown = self._breakdown(session, row, amount, refund_shipping)
            if not breakdown.total:
                raise ValidationError(f"nothing is left to refund on return {rma_id}",
                                      field="amount")
            count = session.scalar(select(func.count()).where(RefundRow.rma_id == rma_id)) or 0
            key = idempotency_key or f"refund:{rma_id}:{count + 1}"
            refund_row = RefundRow(
                rma_id=rma_id, order_external_id=row.order_external_id,
                marketplace=row.marketplace, currency=breakdown.currency,
                amount=breakdown.total.amount, shipping=breakdown.shipping.amount,
                breakdown=breakdown.model_dump(mode="json"), idempotency_key=key,
                status="pending", created_at=self.runtime.now(),
                lines=[RefundLineRow(order_line_external_id=ln.order_line_id,
                                     quantity=ln.quantity, amount=ln.amount.amount)
                       for ln in breakdown.lines],
            )
            session.add(refund_row)
            session.flush()
            order, _ = self._order(session, row.marketplace, row.order_external_id)
            return refund_row, breakdown.to_refund(row.order_external_id, key, note, order)

        pending, instruction = self._run(prepare, dry_run=dry_run)
        if dry_run or pending is None:
            return instruction
        if pending.status == "paid":
            return instruction  # this key already paid: nothing moves twice
        return self._pay(rma_id, instruction, actor=actor, note=note)

    def _existing(self, session: Session, rma_id: str, key: str | None) -> RefundRow | None:
        query = select(RefundRow).options(selectinload(RefundRow.lines))
        if key is not None:
            found = session.scalar(query.where(RefundRow.idempotency_key == key))
            if found is not None and found.rma_id != rma_id:
                raise ValidationError(f"idempotency key {key!r} belongs to another request",
                                      field="idempotency_key")
            if found is not None and found.status != "failed":
                return found
        return session.scalar(query.where(RefundRow.rma_id == rma_id,
                                          RefundRow.status == "pending"))

    def _pay(self, rma_id: str, instruction: Refund, *, actor: str, note: str | None) -> Refund:
        def current(session: Session) -> tuple[ReturnRow, RefundRow]:
            row = repo.load_row(session, rma_id)
            refund_row = session.scalars(select(RefundRow).where(
                RefundRow.idempotency_key == instruction.idempotency_key)).one()
            return row, refund_row

        def target(session: Session) -> tuple[Marketplace, ReturnRequest | None]:
            row, _ = current(session)
            return (self._market(row.marketplace, Capability.REFUND),
                    repo.to_model(row) if row.external_id else None)

        market, request = self._run(target)
        try:
            paid = market.refund(instruction, request)
        except AfterSalesError as exc:
            if not exc.retryable:
                error = str(exc)
                self._run(lambda s: self._fail(s, instruction.idempotency_key, error))
            raise

        def record(session: Session) -> Refund:
            row, refund_row = current(session)
            refund_row.status = "paid"
            refund_row.external_id = paid.external_id
            now = self.runtime.now()
            data = {"refund": instruction.idempotency_key, "amount": str(instruction.amount),
                    "external_id": paid.external_id}
            if S(row.status) in (S.REFUNDED, S.CLOSED, S.CANCELLED):
                repo.audit(session, rma_id, actor=actor, at=now, source=S(row.status),
                           target=S(row.status), reason="further refund", note=note, data=data)
                self._event(session, "return.refunded", row, actor=actor, extra=data,
                            key=f"return.refunded:{instruction.idempotency_key}")
            else:
                self._move(session, row, S.REFUNDED, actor=actor, now=now, note=note,
                           reason=f"refunded {instruction.amount}", data=data)
            return paid.model_copy(update={"raw_status": "paid"})

        for _ in range(3):  # money has moved: the record must follow even after a race
            try:
                return self._run(record)
            except ConcurrentUpdateError:
                continue
        raise ConcurrentUpdateError(f"refund of return {rma_id} was paid but its status could "
                                    "not be recorded; call refund() again to finish")

    @staticmethod
    def _fail(session: Session, key: str, error: str) -> None:
        refund_row = session.scalars(select(RefundRow).where(
            RefundRow.idempotency_key == key)).one()
        refund_row.status = "failed"
        refund_row.error = error[:500]
