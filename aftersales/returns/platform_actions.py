"""The shop's dealings with a marketplace's own after-sales machinery.

Three use cases the Chinese marketplaces need beside approve and refuse:

* :func:`refusal_reasons`: the reasons the marketplace lets the shop refuse
  a request for, each with its code (a refusal then names one by code);
* :func:`submit_evidence`: words and pictures uploaded to the request (the
  pictures go as multipart through the adapter's ``ApiClient``);
* :func:`extend_deadline`: more time on the marketplace's own deadline,
  stored as the request's new platform deadline.

Each reads the request in one short transaction, claims it
(:mod:`~aftersales.returns.action_claim`: a second caller at the same
instant is refused and sends nothing; an extension asked twice at once was
granted twice), calls the marketplace with no transaction open, and records
the outcome (audit row, event, deadline) in another, which settles the
claim. A refused call records nothing and releases the claim; a lost
answer keeps it as "outcome unknown" until the same action is asked again
or a sync reads the request. An answered call whose record failed is not
sent again: evidence is only audited, and an extension (whose record is the
marketplace's new deadline) is refused until a sync reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from aftersales.errors import ActionInFlightError, ValidationError
from aftersales.evidence import Evidence
from aftersales.interfaces import Capability
from aftersales.models import PlatformDeadline, RefusalReason, ReturnRequest, ReturnStatus
from aftersales.redact import known_names
from aftersales.returns import action_claim
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext
from aftersales.returns.platform_deadlines import record_platform_deadline
from aftersales.returns.writes import TransitionWriter

__all__ = ["PlatformActions"]

T = TypeVar("T")


class PlatformActions:
    """``refusal_reasons``, ``submit_evidence`` and ``extend_deadline``."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter) -> None:
        self.ctx = ctx
        self.writer = writer

    def _request(self, rma_id: str) -> ReturnRequest:
        request, _ = self._read(rma_id)
        return request

    def _read(self, rma_id: str) -> tuple[ReturnRequest, int]:
        """The request and its version, refused when the marketplace has no copy of it."""
        def read(session: Session) -> tuple[ReturnRequest, int]:
            row = repo.load_row(session, rma_id)
            return repo.to_model(row), row.version

        request, version = self.ctx.run(read)
        if request.external_id is None:
            raise ValidationError(
                f"return {rma_id} was made in the shop's own portal; the marketplace has no "
                "request to act on", field="external_id", payload=f"return {rma_id}")
        return request, version

    def _send(self, rma_id: str, version: int, action: str, call: Callable[[], T], *,
              answered: Callable[[], T] | None = None) -> tuple[T, action_claim.ActionClaim]:
        """Claim the request for ``action``, then ``call`` the marketplace (no transaction
        open); a failed call settles the claim (released, or outcome unknown).

        A claim the marketplace already answered (its local write failed, or
        its process died before the commit) is not sent again: ``answered``
        gives the result to record instead. Without one (the record is the
        marketplace's own answer, as an extension's new deadline), the ask is
        refused and the claim waits for a sync as a lost answer does; asking
        again granted an extension twice.
        """
        claim = action_claim.take(self.ctx.runtime, rma_id, action, version)
        if claim.pushed:
            if answered is not None:
                return answered(), claim
            refusal = ActionInFlightError(
                rma_id, action, "the marketplace answered it but its answer was not recorded "
                "here, so it is not asked twice; sync the store to read it")
            action_claim.lost(self.ctx.runtime, claim, refusal)
            raise refusal
        try:
            with known_names(*self.ctx.buyer_names_of(rma_id)):
                result = call()
        except BaseException as exc:
            instead = self.ctx.failed(claim, exc)
            if instead is not None:
                raise instead from exc
            raise
        claim.sent += 1
        self.ctx.answered(claim)
        return result, claim

    def refusal_reasons(self, rma_id: str) -> list[RefusalReason]:
        """The reasons the request's marketplace offers for refusing it, each with its code.

        Raises:
            UnsupportedOperationError: the marketplace lists no refusal reasons.
        """
        request = self._request(rma_id)
        market = self.ctx.market(request.marketplace, Capability.LIST_REFUSAL_REASONS)
        with known_names(*self.ctx.buyer_names_of(rma_id)):
            return market.refusal_reasons(request)

    def submit_evidence(self, rma_id: str, evidence: Evidence, *,
                        actor: str = "merchant") -> ReturnRequest:
        """Upload ``evidence`` to the request on its marketplace, then audit it.

        The audit row and the ``return.evidence_submitted`` event name the
        pictures' file names and count, never their bytes.

        Raises:
            ValidationError: empty evidence, or pictures the marketplace refuses.
            UnsupportedOperationError: the marketplace takes no evidence.
        """
        if not evidence:
            raise ValidationError("evidence needs a text or a picture", field="evidence",
                                  payload=f"return {rma_id}")
        request, version = self._read(rma_id)
        market = self.ctx.market(request.marketplace, Capability.SUBMIT_EVIDENCE)
        _, claim = self._send(rma_id, version, "submit_evidence",
                              lambda: market.submit_evidence(request, evidence),
                              answered=lambda: None)  # uploaded: only the audit is left
        names = [p.filename for p in evidence.pictures]
        with self.ctx.runtime.unit_of_work() as session:
            action_claim.settle(session, claim)
            row = repo.load_row(session, rma_id)
            now = self.ctx.runtime.now()
            status = ReturnStatus(row.status)
            repo.audit(session, rma_id, actor=actor, at=now, source=status, target=status,
                       reason="evidence submitted", note=evidence.text or None,
                       data={"pictures": names})
            self.writer.event(session, "return.evidence_submitted", row, actor=actor,
                              extra={"pictures": names},
                              key=f"return.evidence_submitted:{rma_id}:{now.isoformat()}")
            return repo.to_model(row)

    def extend_deadline(self, rma_id: str, by: timedelta | None = None, *,
                        actor: str = "merchant") -> PlatformDeadline:
        """Ask the marketplace for more time on its deadline and store the new one.

        Raises:
            ValidationError: ``by`` is not positive, or the request has no
                extendable platform deadline.
            UnsupportedOperationError: the marketplace cannot extend deadlines.
        """
        if by is not None and by <= timedelta(0):
            raise ValidationError("an extension must be positive", field="by",
                                  payload=f"return {rma_id}")
        request, version = self._read(rma_id)
        market = self.ctx.market(request.marketplace, Capability.EXTEND_DEADLINE)
        current = request.platform_deadline
        if current is None or not current.extendable:
            raise ValidationError(
                f"return {rma_id} has no platform deadline the marketplace lets the shop extend",
                field="platform_deadline", payload=f"return {rma_id}")
        extended, claim = self._send(rma_id, version, "extend_deadline",
                                     lambda: market.extend_deadline(request, by))
        with self.ctx.runtime.unit_of_work() as session:
            action_claim.settle(session, claim)
            row = repo.load_row(session, rma_id)
            now = self.ctx.runtime.now()
            record_platform_deadline(row, extended, now=now, extended=True)
            status = ReturnStatus(row.status)
            due = extended.due_at.isoformat()
            repo.audit(session, rma_id, actor=actor, at=now, source=status, target=status,
                       reason="platform deadline extended",
                       data={"from": current.due_at.isoformat(), "to": due})
            self.writer.event(session, "return.platform_deadline_extended", row, actor=actor,
                              extra={"from": current.due_at.isoformat(), "due_at": due},
                              key=f"return.platform_deadline_extended:{rma_id}:{due}")
            stored = repo.to_model(row).platform_deadline
        return stored or extended
