"""The merchant's actions on a request: approve, reject, receive, close, cancel, reopen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aftersales.errors import NotEligibleError, ValidationError
from aftersales.evidence import Evidence
from aftersales.interfaces import Capability
from aftersales.models import (
    InspectionResult,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    ShipmentDirection,
)
from aftersales.returns import action_claim as claims
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext, load
from aftersales.returns.inspection import judge_inspection, normalise_inspection
from aftersales.returns.lifecycle import check_transition
from aftersales.returns.requests import LinesIn, Requests, resolve_lines
from aftersales.returns.writes import TransitionWriter
from aftersales.store.parcel_keys import store_parcel
from aftersales.store.tables.returns import ReturnRow

__all__ = ["Actions", "Inspection"]

S = ReturnStatus

#: Per-unit results: ``{order_line_id: [result, ...]}``, or a plain list for one line.
Inspection = Mapping[str, Sequence[InspectionResult | str]] | Sequence[InspectionResult | str]


def _refusal(reason_code: str | None, evidence: Evidence | None) -> dict[str, Any]:
    """The refusal's extra arguments, only those given (adapters written before them
    take neither)."""
    extra: dict[str, Any] = {}
    if reason_code is not None:
        extra["reason_code"] = reason_code
    if evidence:
        extra["evidence"] = evidence
    return extra


def _refusal_audit(reason_code: str | None, evidence: Evidence | None) -> dict[str, Any] | None:
    if reason_code is None and not evidence:
        return None
    return {"reason_code": reason_code,
            "pictures": [p.filename for p in evidence.pictures] if evidence else []}


class Actions:
    """The merchant's actions; each public one is one unit of work and takes ``actor``,
    ``dry_run`` and ``version``; each ``*_in`` step runs in a unit the caller holds."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter,
                 requests: Requests) -> None:
        self.ctx = ctx
        self.writer = writer
        self.requests = requests

    def approve(
        self, rma_id: str, *, note: str | None = None, actor: str = "merchant",
        override: bool = False, version: int | None = None, dry_run: bool = False,
    ) -> ReturnRequest:
        """Accept the request, on the marketplace first and then here.

        A request the validators found ineligible is approved only with
        ``override=True`` (goodwill), which the audit row records.

        Raises:
            InvalidTransitionError: the request is not waiting for a decision.
            NotEligibleError: ineligible and no override.
            UnsupportedOperationError: the marketplace cannot approve.
            ConcurrentUpdateError: someone else changed it first.
        """
        return self.ctx.run(lambda s: self.approve_in(s, rma_id, note=note, actor=actor,
                                                 override=override, version=version,
                                                 dry_run=dry_run), dry_run=dry_run, rma_id=rma_id)

    def approve_in(self, session: Session, rma_id: str, *, note: str | None, actor: str,
                 override: bool = False, version: int | None = None,
                 dry_run: bool, pushed: bool = False) -> ReturnRequest:
        """:meth:`approve` in the caller's unit of work (the push comes before any write).

        ``pushed``: the marketplace already heard this approval (a bulk run
        redone after a race); only the local move is written.
        """
        row = load(session, rma_id, version)
        check_transition(ReturnKind(row.kind), S(row.status), S.APPROVED,
                         entity=f"return {rma_id}")
        if row.eligibility == "ineligible" and not override:
            raise NotEligibleError(
                f"return {rma_id} was found ineligible; approve with override=True "
                "to make an exception", list(row.eligibility_reasons or []))
        cap = Capability.APPROVE_RETURN
        claim = self.ctx.claim(row, "approve", cap, dry_run=dry_run or pushed)
        self.ctx.push(row, cap, lambda m, r: m.approve_return(r, note=note),
                      dry_run=dry_run or pushed, claim=claim)
        self.ctx.answered(claim)
        self.writer.move(session, row, S.APPROVED, actor=actor, now=self.ctx.runtime.now(),
                         note=note,
                         reason="override" if row.eligibility == "ineligible" else None)
        claims.settle(session, claim)
        if pushed:
            claims.settle_pushed(session, rma_id, "approve")
        return repo.to_model(row)

    def reject(
        self, rma_id: str, *, reason: str, note: str | None = None, actor: str = "merchant",
        version: int | None = None, dry_run: bool = False, reason_code: str | None = None,
        evidence: Evidence | None = None,
    ) -> ReturnRequest:
        """Refuse the request (or a received one after a failed inspection).

        ``reason`` is shown to the buyer and required. ``reason_code`` is one
        of :meth:`refusal_reasons`' codes where the marketplace wants one;
        ``evidence`` (text and pictures) goes to the marketplace with the refusal.
        """
        return self.ctx.run(lambda s: self.reject_in(s, rma_id, reason=reason, note=note,
                                                     actor=actor, version=version,
                                                     dry_run=dry_run, reason_code=reason_code,
                                                     evidence=evidence),
                            dry_run=dry_run, rma_id=rma_id)

    def reject_in(self, session: Session, rma_id: str, *, reason: str, note: str | None,
                  actor: str, version: int | None = None, dry_run: bool,
                  reason_code: str | None = None, evidence: Evidence | None = None,
                  ) -> ReturnRequest:
        """:meth:`reject` in the caller's unit of work."""
        if not reason or not reason.strip():
            raise ValidationError("a rejection needs a reason for the buyer", field="reason")
        row = load(session, rma_id, version)
        check_transition(ReturnKind(row.kind), S(row.status), S.REJECTED,
                         entity=f"return {rma_id}")
        claim = self.ctx.claim(row, "reject", Capability.REJECT_RETURN, dry_run=dry_run)
        self.ctx.push(row, Capability.REJECT_RETURN,
                      lambda m, r: m.reject_return(r, reason=reason, note=note,
                                                   **_refusal(reason_code, evidence)),
                      dry_run=dry_run, claim=claim)
        self.ctx.answered(claim)
        self.writer.move(session, row, S.REJECTED, actor=actor, now=self.ctx.runtime.now(),
                         reason=reason, note=note, data=_refusal_audit(reason_code, evidence))
        claims.settle(session, claim)
        return repo.to_model(row)

    def mark_shipped(
        self, rma_id: str, tracking_number: str, carrier: str | None = None, *,
        actor: str = "buyer", version: int | None = None, dry_run: bool = False,
    ) -> ReturnRequest:
        """The buyer sent the goods back: record the parcel so logistics tracks it."""
        def work(session: Session) -> ReturnRequest:
            number = (tracking_number or "").strip()
            if not number:
                raise ValidationError("a tracking number is required", field="tracking_number")
            claims.hold(session, rma_id, self.ctx.runtime)
            row = load(session, rma_id, version)
            now = self.ctx.runtime.now()
            check_transition(ReturnKind(row.kind), S(row.status), S.RETURN_SHIPPED,
                             entity=f"return {rma_id}")
            row.return_tracking_number = number
            row.return_carrier = carrier.strip().lower() if carrier else None
            self.parcel(session, row, number, row.return_carrier, ShipmentDirection.RETURN)
            self.writer.move(session, row, S.RETURN_SHIPPED, actor=actor, now=now,
                       data={"tracking_number": number, "carrier": row.return_carrier})
            return repo.to_model(row)

        return self.ctx.run(work, dry_run=dry_run, rma_id=rma_id)

    def receive_delivered_parcel(
        self, rma_id: str, *, number: str, delivered_at: datetime | None = None,
        force: bool = False,
    ) -> ReturnRequest | None:
        """A return parcel was delivered to the warehouse: receive it if the policy says so.

        The logistics area calls this (as its ``receive_return``) after it
        has stored the delivery. The request moves to ``received`` when the
        policy's ``receive_on_delivery`` is on, or ``force`` is (the
        ``logistics.receive_returns`` setting); every unit counts as
        resellable until the warehouse inspects it.

        Returns:
            The received request, or ``None`` when the policy leaves receipt
            to the warehouse.
        """
        if not (force or self.ctx.policy.receive_on_delivery):
            return None
        when = f" on {delivered_at.isoformat()}" if delivered_at is not None else ""
        return self.receive(rma_id, actor="logistics",
                            note=f"return parcel {number} delivered{when}")

    def receive(
        self, rma_id: str, *, inspection: Inspection | None = None, note: str | None = None,
        actor: str = "warehouse", version: int | None = None, dry_run: bool = False,
    ) -> ReturnRequest:
        """The parcel arrived: record one inspection result per unit.

        Resellable units emit ``return.restock`` and damaged ones
        ``return.write_off`` (one event per SKU with the count), for the
        backend's stock hooks. A failed inspection (wrong item, nothing in
        the box, or buyer-caused damage) then rejects the request when the
        policy says so.

        Args:
            inspection: ``{order_line_id: [result per unit]}``; ``None``
                means every unit is resellable.
        """
        return self.ctx.run(lambda s: self.receive_in(s, rma_id, inspection=inspection, note=note,
                                                 actor=actor, version=version, dry_run=dry_run),
                         dry_run=dry_run, rma_id=rma_id)

    def receive_in(self, session: Session, rma_id: str, *, inspection: Inspection | None,
                 note: str | None, actor: str, version: int | None = None,
                 dry_run: bool) -> ReturnRequest:
        """:meth:`receive` in the caller's unit of work (the pushes come before any write)."""
        row = load(session, rma_id, version)
        model = repo.to_model(row)
        check_transition(model.kind, model.status, S.RECEIVED, entity=f"return {rma_id}")
        results = normalise_inspection(model.lines, inspection)
        skus = {ln.order_line_id: ln.sku or ln.order_line_id for ln in model.lines}
        outcome = judge_inspection(model.lines, results, self.ctx.policy, skus)
        reject = outcome.failed and self.ctx.policy.reject_failed_inspection
        claim = self.ctx.claim(row, "receive", Capability.CONFIRM_RETURN_RECEIVED,
                               dry_run=dry_run)
        if claim is None and reject:
            claim = self.ctx.claim(row, "receive", Capability.REJECT_RETURN, dry_run=dry_run)
        self.ctx.push(row, Capability.CONFIRM_RETURN_RECEIVED,
                   lambda m, r: m.confirm_return_received(r), dry_run=dry_run, claim=claim)
        if reject:
            self.ctx.push(row, Capability.REJECT_RETURN,
                       lambda m, r: m.reject_return(r, reason=" ".join(outcome.failures)),
                       dry_run=dry_run, claim=claim)
        self.ctx.answered(claim)
        now = self.ctx.runtime.now()
        for line in row.lines:
            line.inspection = [r.value for r in results[line.order_line_external_id]]
        self.writer.move(session, row, S.RECEIVED, actor=actor, now=now, note=note,
                   data={"inspection": {k: [r.value for r in v] for k, v in results.items()}})
        for name, counts in (("return.restock", outcome.restock),
                             ("return.write_off", outcome.write_off)):
            for sku, qty in sorted(counts.items()):
                self.writer.event(session, name, row, actor=actor,
                            extra={"sku": sku, "quantity": qty},
                            key=f"{name}:{rma_id}:{sku}:{row.version}")
        if reject:
            self.writer.move(session, row, S.REJECTED, actor=actor, now=now,
                       reason="inspection failed", note=" ".join(outcome.failures))
        claims.settle(session, claim)
        return repo.to_model(row)

    def close(self, rma_id: str, *, note: str | None = None, actor: str = "merchant",
              version: int | None = None, dry_run: bool = False) -> ReturnRequest:
        """File a finished (refunded, exchanged, rejected or never shipped) request away."""
        return self._end(rma_id, S.CLOSED, note=note, actor=actor, version=version,
                            dry_run=dry_run)

    def cancel(self, rma_id: str, *, note: str | None = None, actor: str = "buyer",
               version: int | None = None, dry_run: bool = False) -> ReturnRequest:
        """Withdraw a request before anything was shipped."""
        return self._end(rma_id, S.CANCELLED, note=note, actor=actor, version=version,
                            dry_run=dry_run)

    def reopen(
        self, rma_id: str, *, lines: LinesIn | None = None, reason: str | None = None,
        evidence: Sequence[str] | None = None, note: str | None = None, actor: str = "buyer",
        version: int | None = None, dry_run: bool = False,
    ) -> ReturnRequest:
        """A revised request reopens a rejected one; eligibility is judged again."""
        def work(session: Session) -> ReturnRequest:
            claims.hold(session, rma_id, self.ctx.runtime)
            row = load(session, rma_id, version)
            check_transition(ReturnKind(row.kind), S(row.status), S.REQUESTED,
                             entity=f"return {rma_id}")
            order, _ = self.requests.order(session, row.marketplace, row.order_external_id)
            items: list[ReturnLine] = repo.to_model(row).lines
            if lines is not None:
                items = resolve_lines(order, lines, reason)
                repo.fill_lines(row, items, order)
            if evidence is not None:
                row.evidence = list(evidence)
            now = self.ctx.runtime.now()
            verdict = self.requests.eligibility(session, order, items, ReturnKind(row.kind),
                                        row.evidence or [], now, exclude=rma_id)
            row.eligibility = verdict.decision.value
            row.eligibility_reasons = verdict.reasons
            self.writer.move(session, row, S.REQUESTED, actor=actor, now=now, note=note,
                       reason="revised request")
            return repo.to_model(row)

        return self.ctx.run(work, dry_run=dry_run, rma_id=rma_id)

    # ------------------------------------------------------------ helpers

    def _end(self, rma_id: str, target: ReturnStatus, *, note: str | None, actor: str,
                version: int | None, dry_run: bool) -> ReturnRequest:
        return self.ctx.run(lambda s: self.end_in(s, rma_id, target, note=note, actor=actor,
                                                       version=version), dry_run=dry_run,
                                                       rma_id=rma_id)

    def end_in(self, session: Session, rma_id: str, target: ReturnStatus, *,
                       note: str | None, actor: str, version: int | None = None) -> ReturnRequest:
        """Close or cancel in the caller's unit of work (no marketplace call).

        Refused while an action on the request is with its marketplace.
        """
        claims.hold(session, rma_id, self.ctx.runtime)
        row = load(session, rma_id, version)
        self.writer.move(session, row, target, actor=actor, now=self.ctx.runtime.now(), note=note)
        return repo.to_model(row)

    def parcel(self, session: Session, row: ReturnRow, number: str, carrier: str | None,
                direction: ShipmentDirection) -> None:
        """Record a parcel for the logistics area to track, once
        (:func:`~aftersales.store.parcel_keys.store_parcel`: "SF 1234" after "sf1234"
        is the parcel already stored; one the order's sync listed is linked to this
        request)."""
        store_parcel(session, order_id=row.order_id, rma_id=row.rma_id, store=row.marketplace,
                     direction=direction.value, number=number, carrier=carrier,
                     shipped_at=self.ctx.runtime.now())
