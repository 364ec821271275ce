"""Settling a claimed refund: one push outside any transaction, then its outcome recorded.

The outcome of a push is one of three:

* **paid**: the marketplace answered with the refund. The row is marked
  paid and the request moves to ``refunded``, in one transaction.
* **refused**: a definite refusal (:func:`refused`: a 4xx business error,
  bad credentials, or an adapter's own check before sending). Nothing was
  paid; the row is marked failed and no longer counts against the caps.
* **unknown**: anything else (a timeout, a reset after sending, any 5xx,
  an HTML error page, a body that does not parse). The marketplace may
  have paid. The row stays pending under the same key with its push lease
  released; the next call, a bulk re-run of the row, or the worker's
  :meth:`Settlement.reconcile_refunds` tick asks the marketplace first
  (``find_refund``) and sends again only if the marketplace surely has none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aftersales.call_budget import time_budget
from aftersales.errors import (
    AfterSalesError,
    ConcurrentUpdateError,
    ResponseParseError,
)
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import Refund, ReturnKind, ReturnRequest, ReturnStatus
from aftersales.money import Money
from aftersales.redact import known_names, redact_text
from aftersales.returns import refund_claim as claims
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext
from aftersales.returns.lifecycle import check_transition
from aftersales.returns.outcomes import refused
from aftersales.returns.refunds import RefundBreakdown, as_paid
from aftersales.returns.writes import TransitionWriter
from aftersales.store.locking import begin_write
from aftersales.store.tables.returns import RefundRow, ReturnRow
from aftersales.ticks import TickReport
from aftersales.times import aware

__all__ = ["RefundReport", "Settlement", "mismatch", "refused"]

S = ReturnStatus

#: The code of the error raised when the marketplace paid another amount than asked.
MISMATCH = "AMOUNT_MISMATCH"

#: A pending refund is reconciled by the tick only this long after its last push.
SETTLE_AFTER = timedelta(minutes=1)


def mismatch(asked: Refund, answered: Money) -> str | None:
    """Why a marketplace's "paid" answer is not the refund ``asked``, or ``None``.

    Less by the rounding of one minor unit per line and for the shipping is
    the marketplace's own figure for the same refund (Shopify pays the
    transactions its ``refunds/calculate`` suggests), not a mismatch. More,
    by even one minor unit, is: what was kept back (a fee, a partial amount)
    was paid out, and a person must see it.
    """
    want = asked.amount
    if answered.currency == want.currency:
        # a top-up's lines pay money and name no units: each is a part all the same
        parts = (sum(1 for ln in asked.lines if ln.quantity > 0 or ln.amount)
                 + (1 if asked.shipping else 0))
        if Decimal(0) <= want.amount - answered.amount <= want.quantum * parts:
            return None
    return (f"the marketplace paid {answered.amount} {answered.currency} for a refund of "
            f"{want.amount} {want.currency}")


def _spread(row: RefundRow, paid: Money) -> None:
    """Make ``row``'s lines, shipping and breakdown add up to ``paid``, what really moved.

    The ledger of later refunds reads them (:func:`~aftersales.returns.
    repository.ledger_for`); see :func:`~aftersales.returns.refunds.as_paid`.
    A row without a readable breakdown (written by an older release) spreads
    ``paid`` over its lines and shipping alone.
    """
    try:
        told = RefundBreakdown.model_validate(row.breakdown)
    except PydanticValidationError:
        told = None
    if told is not None:
        scaled = as_paid(told, paid)
        row.breakdown = scaled.model_dump(mode="json")
        by_line = {ln.order_line_id: ln.amount.amount for ln in scaled.lines}
        for line in row.lines:
            line.amount = by_line.get(line.order_line_external_id, line.amount)
        row.shipping = scaled.shipping.amount
        return
    parts = paid.rounded().allocate([ln.amount for ln in row.lines] + [row.shipping])
    for line, part in zip(row.lines, parts, strict=False):
        line.amount = part.amount
    row.shipping = parts[-1].amount


def _why(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, AfterSalesError) else type(exc).__name__
    return redact_text(text)[:450]


@dataclass
class RefundReport(TickReport):
    """What one reconciliation tick did with the pending refunds it took.

    ``settled`` refunds (found paid on the marketplace, or surely absent and
    paid now) are ``done``; refunds the marketplace refused are ``failed``;
    ``pending`` ones (the marketplace could not be asked) are ``skipped``
    for the next tick. ``reasons`` is keyed by the refund's idempotency key.
    """

    settled: int = 0
    pending: int = 0


class Settlement:
    """The push of a claimed refund and its outcome, and the ``reconcile_refunds`` tick."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter) -> None:
        self.ctx = ctx
        self.writer = writer

    def settle(self, claimed: claims.Claimed, *, actor: str, note: str | None) -> Refund:
        """Push ``claimed`` (looking it up first when resumed) and record the outcome.

        The buyer's name is masked in any error text written meanwhile. The
        push's calls end before the push lease does (:meth:`_budget`): a call
        that would start later is not sent and the refund stays pending, its
        outcome unknown, so no other worker ever takes it over while this one
        still pushes.
        """
        names = self.ctx.buyer_names_of(claimed.rma_id)
        with known_names(*names), time_budget(self._budget(claimed)):
            return self._pay(claimed, actor=actor, note=note)

    @staticmethod
    def _budget(claimed: claims.Claimed) -> float:
        """Seconds the push may take: until :data:`~aftersales.returns.refund_claim.
        PUSH_MARGIN` before its lease runs out (the lease may be old: the tick takes
        the leases of many refunds at once, then pushes them one after another)."""
        if claimed.lease_ends is None:
            return (claims.PUSH_LEASE - claims.PUSH_MARGIN).total_seconds()
        return claimed.lease_ends - claims.PUSH_MARGIN.total_seconds() - time.monotonic()

    def _pay(self, claimed: claims.Claimed, *, actor: str, note: str | None) -> Refund:
        instruction = claimed.instruction
        key = instruction.idempotency_key

        def target(session: Session) -> tuple[Marketplace, ReturnRequest | None, ReturnRow]:
            row = repo.load_row(session, claimed.rma_id)
            return (self.ctx.market(row.marketplace, Capability.REFUND),
                    repo.to_model(row) if row.external_id else None, row)

        try:
            market, request, row = self.ctx.run(target)
            found = None
            if claimed.resumed:
                found = market.find_refund(instruction, request, keys=claimed.other_keys,
                                           exclude=claimed.known_ids)
            if found is not None and found.idempotency_key not in ("", key):
                return self._superseded(claimed, found, actor=actor, note=note)
            if found is None:
                # The request may have moved on since the claim (its replacement shipped,
                # the buyer withdrew it): a refund is only ever sent while it can be paid.
                check_transition(ReturnKind(row.kind), S(row.status), S.REFUNDED,
                                 entity=f"return {claimed.rma_id}")
            paid = found if found is not None else market.refund(instruction, request)
        except BaseException as exc:
            why = _why(exc)
            if refused(exc):
                self.ctx.run(lambda s: self._close(s, key, "failed", why))
            else:
                self.ctx.run(lambda s: self._close(s, key, "pending", f"outcome unknown: {why}"))
            raise
        return self._record(claimed.rma_id, instruction, paid, actor=actor, note=note)

    def _record(self, rma_id: str, instruction: Refund, paid: Refund, *, actor: str,
                note: str | None) -> Refund:
        """Record ``paid`` as the marketplace's payment of ``instruction``.

        The refund is recorded at the amount the marketplace says it paid.
        A marketplace that answers "paid" for another amount (beyond rounding,
        see :func:`mismatch`) or another currency than was asked has still
        moved money: the refund is recorded paid (its key never pays again),
        at the marketplace's amount when the currency is the same (the asked
        one otherwise), the difference is kept in the row's error column and
        the audit row, and :class:`ResponseParseError` then says so, naming
        both amounts.
        """
        key = instruction.idempotency_key
        differs = mismatch(instruction, paid.amount)
        amount = (paid.amount if paid.amount.currency == instruction.amount.currency
                  else instruction.amount)

        def record(session: Session) -> Refund:
            row = repo.load_row(session, rma_id)
            refund_row = session.scalars(select(RefundRow).where(
                RefundRow.idempotency_key == key)).one()
            if refund_row.status == "paid":
                return claims.as_refund(refund_row)
            refund_row.status = "paid"
            refund_row.external_id = paid.external_id
            refund_row.lease_until = None
            refund_row.error = differs
            if amount != instruction.amount:
                _spread(refund_row, amount)
            refund_row.amount = amount.amount
            now = self.ctx.runtime.now()
            data = {"refund": key, "amount": str(amount), "external_id": paid.external_id}
            if amount != instruction.amount or differs:
                data["asked"] = str(instruction.amount)
                data["answered"] = f"{paid.amount.amount} {paid.amount.currency}"
            if S(row.status) in (S.REFUNDED, S.CLOSED, S.CANCELLED):
                repo.audit(session, rma_id, actor=actor, at=now, source=S(row.status),
                           target=S(row.status), reason="further refund", note=note, data=data)
                self.writer.event(session, "return.refunded", row, actor=actor, extra=data,
                            key=f"return.refunded:{key}")
            else:
                self.writer.move(session, row, S.REFUNDED, actor=actor, now=now, note=note,
                           reason=f"refunded {amount}", data=data, check=False)
            return instruction.model_copy(update={"external_id": paid.external_id,
                                                  "raw_status": "paid", "amount": amount})

        for _ in range(3):  # money has moved: the record must follow even after a race
            try:
                recorded = self.ctx.run(record)
            except ConcurrentUpdateError:
                continue
            if differs:
                raise ResponseParseError(f"refund {key!r}: {differs}; recorded as paid "
                                         f"{amount}, check it on the marketplace",
                                         code=MISMATCH)
            return recorded
        raise ConcurrentUpdateError(f"refund of return {rma_id} was paid but its status could "
                                    "not be recorded; call refund() again to finish")

    def _superseded(self, claimed: claims.Claimed, found: Refund, *, actor: str,
                    note: str | None) -> Refund:
        """An earlier attempt, recorded as refused, turns out paid: record it, drop this one."""
        earlier = found.idempotency_key

        def fix(session: Session) -> Refund:
            row = claims.by_key(session, earlier)
            if row is None:  # pragma: no cover - the adapter only matches keys it was given
                raise ConcurrentUpdateError(f"refund {earlier!r} is not in the store")
            row.status = "pending"
            self._close(session, claimed.instruction.idempotency_key, "failed",
                        f"not sent: refund {earlier!r} was found paid on the marketplace")
            return claims.as_refund(row)

        stored = self.ctx.run(fix)
        return self._record(claimed.rma_id, stored, found, actor=actor, note=note)

    @staticmethod
    def _close(session: Session, key: str, status: str, error: str) -> None:
        """End a push: ``failed`` for good, or ``pending`` with the lease released."""
        refund_row = session.scalars(select(RefundRow).where(
            RefundRow.idempotency_key == key)).one()
        if refund_row.status == "paid":
            return
        refund_row.status = status
        refund_row.error = error[:500]
        refund_row.lease_until = None

    # ------------------------------------------------------------ the tick

    def reconcile_refunds(self, now: datetime | None = None, *, limit: int = 100,
                          settle_after: timedelta = SETTLE_AFTER) -> RefundReport:
        """Settle the pending refunds nobody is pushing: look each up, pay only if surely absent.

        A refund is taken when its push lease is free and its last push is
        at least ``settle_after`` old (the marketplace may still be
        finishing it). Each is looked up with ``find_refund`` first; the
        worker runs this as its ``refunds`` tick.
        """
        now = aware(now, "now") or self.ctx.runtime.now()
        report = RefundReport()
        with self.ctx.runtime.unit_of_work() as session:
            begin_write(session)  # SQLite: no other worker takes the same rows
            rows = list(session.scalars(
                select(RefundRow).where(
                    RefundRow.status == "pending",
                    or_(RefundRow.lease_until.is_(None), RefundRow.lease_until <= now),
                    or_(RefundRow.attempted_at.is_(None),
                        RefundRow.attempted_at <= now - settle_after),
                ).order_by(RefundRow.id).limit(limit).with_for_update(skip_locked=True)))
            taken = [claims.take(session, r, r.rma_id or "", now, resumed=True)
                     for r in rows if r.rma_id]
        for claimed in taken:
            try:
                self.settle(claimed, actor="reconcile", note=None)
                report.settled += 1
                report.done += 1
            except AfterSalesError as exc:
                key = claimed.instruction.idempotency_key
                if isinstance(exc, ResponseParseError) and exc.code == MISMATCH:
                    report.settled += 1  # recorded paid; the difference needs a person
                    report.fail(key, str(exc))
                elif refused(exc):
                    report.fail(key, str(exc))
                else:
                    report.pending += 1
                    report.skipped += 1
                    report.reasons[key] = f"outcome still unknown: {exc}"
        return report
