"""Exchanges: check the replacement is in stock, ship it, hand the parcel to logistics."""

from __future__ import annotations

from sqlalchemy.orm import Session

from aftersales.errors import NotEligibleError, RefundInFlightError, ValidationError
from aftersales.interfaces import Capability
from aftersales.models import ReturnKind, ReturnStatus, Shipment, ShipmentDirection
from aftersales.money import Money
from aftersales.returns import action_claim
from aftersales.returns import refund_claim as claims
from aftersales.returns import repository as repo
from aftersales.returns.actions import Actions
from aftersales.returns.context import ReturnsContext, load
from aftersales.returns.lifecycle import check_transition
from aftersales.returns.writes import TransitionWriter
from aftersales.store.parcel_keys import check_parcel

__all__ = ["Exchanges"]

S = ReturnStatus


class Exchanges:
    """``ship_exchange`` and the stock check behind it."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter, actions: Actions) -> None:
        self.ctx = ctx
        self.writer = writer
        self.actions = actions

    def in_stock(self, sku: str, quantity: int) -> bool:
        """Ask the backend's ``stock_check`` hook; with no hook, assume the shop has it."""
        return True if self.ctx.stock_check is None else bool(self.ctx.stock_check(sku, quantity))

    def ship_exchange(
        self, rma_id: str, tracking_number: str, carrier: str | None = None, *,
        note: str | None = None, actor: str = "merchant", version: int | None = None,
        dry_run: bool = False,
    ) -> Shipment:
        """Send the replacement of a received exchange.

        Every replacement SKU is checked with the stock hook first; the
        parcel is recorded on the marketplace and stored as an ``exchange``
        shipment, which the logistics area then tracks.

        Raises:
            NotEligibleError: a replacement is out of stock (refund instead:
                a received exchange may be refunded).
            InvalidTransitionError: not a received exchange.
            RefundInFlightError: a refund of the request is pending (its
                answer was lost, or it is being paid): the money may have
                moved, so nothing ships until it settles.
            ValidationError: no tracking number.
        """
        def work(session: Session) -> Shipment:
            number = (tracking_number or "").strip()
            if not number:
                raise ValidationError("a tracking number is required", field="tracking_number")
            check_parcel(number, carrier)  # refused before the marketplace hears of it
            row = load(session, rma_id, version)
            model = repo.to_model(row)
            check_transition(ReturnKind(row.kind), S(row.status), S.EXCHANGE_SHIPPED,
                             entity=f"return {rma_id}")
            pending = claims.pending_of(session, rma_id)
            if pending is not None:
                # its answer was lost, or it is being paid now: the money may have moved
                raise RefundInFlightError(
                    rma_id, pending.idempotency_key, f"{Money(pending.amount, pending.currency)}",
                    "the replacement cannot ship while a refund of the request may have been "
                    "paid; settle the refund first (refund() again, or the refunds tick)")
            short = [f"{ln.replacement_sku} × {ln.quantity}" for ln in model.lines
                     if ln.replacement_sku and not self.in_stock(ln.replacement_sku, ln.quantity)]
            if short:
                raise NotEligibleError(
                    f"the replacement is out of stock ({', '.join(short)}); refund instead",
                    [f"{s} is out of stock." for s in short])
            shipment = Shipment(
                tracking_number=number, carrier=carrier, direction=ShipmentDirection.EXCHANGE,
                shipped_at=self.ctx.runtime.now(),
                line_ids=[ln.order_line_id for ln in model.lines],
            )
            recorded = shipment
            claim: action_claim.ActionClaim | None = None
            if row.external_id is not None:
                claim = self.ctx.claim(row, "ship_exchange", Capability.SHIP_EXCHANGE,
                                       dry_run=dry_run)
                sent: list[Shipment] = []
                self.ctx.push(row, Capability.SHIP_EXCHANGE,
                              lambda m, r: sent.append(m.ship_exchange(model, shipment)),
                              dry_run=dry_run, claim=claim)
                recorded = sent[0] if sent else shipment
                self.ctx.answered(claim)
            row.exchange_tracking_number = number
            row.exchange_carrier = shipment.carrier
            self.actions.parcel(session, row, number, shipment.carrier, ShipmentDirection.EXCHANGE)
            self.writer.move(session, row, S.EXCHANGE_SHIPPED, actor=actor,
                             now=self.ctx.runtime.now(), note=note,
                             data={"tracking_number": number, "carrier": shipment.carrier})
            action_claim.settle(session, claim)
            return recorded

        return self.ctx.run(work, dry_run=dry_run, rma_id=rma_id)
