"""Settling by hand an action whose marketplace answer was lost.

An approval, refusal, receipt or exchange shipment whose answer was lost
(the marketplace may have acted, then timed out or answered 500) keeps its
claim as "outcome unknown" (:mod:`~aftersales.returns.action_claim`): only
the same action may go again, and a sync of the store settles it by reading
the request there. A store that cannot list its returns (WooCommerce, or a
request made in the shop's own portal) has no such sync, and an action the
marketplace refuses twice (it was done the first time) never resumes; the
request would be held forever. So staff who checked the marketplace's
seller console say what happened, as they do for a review's lost reply
(``reviews reply --mark-sent / --release``):

* :meth:`ActionResolution.mark_action_done`: it was done. The claim is
  marked answered, then the action itself runs: it finds the claim answered,
  sends nothing, and writes the request's move (status, audit row by the
  given actor, event, parcel) exactly as after a successful push, settling
  the claim in that same transaction. Should that write fail, the claim
  stays answered: marking it done again, or the same action, writes it;
  nothing is sent.
* :meth:`ActionResolution.release_action`: it was not. The claim is
  deleted (with an audit row naming the action and the actor), so any
  action may go again, and the next one is sent once.

Both refuse, naming why, a request with no claim, one whose claim is void
(the request moved on since), and one whose claim's lease is live (a
process may be sending the action now).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from aftersales.errors import InvalidTransitionError, ValidationError
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.returns import action_claim
from aftersales.returns import repository as repo
from aftersales.returns.actions import Actions, Inspection
from aftersales.returns.context import ReturnsContext
from aftersales.returns.exchanges import Exchanges

__all__ = ["ActionResolution"]

#: The audit note of an action marked done, when the caller gives none.
DONE_NOTE = "marked done by hand: the marketplace shows it done (its answer was lost)"


class ActionResolution:
    """``mark_action_done`` and ``release_action``."""

    def __init__(self, ctx: ReturnsContext, actions: Actions, exchanges: Exchanges) -> None:
        self.ctx = ctx
        self.actions = actions
        self.exchanges = exchanges

    def mark_action_done(
        self, rma_id: str, *, actor: str = "merchant", note: str | None = None,
        reason: str | None = None, inspection: Inspection | None = None,
        tracking_number: str | None = None, carrier: str | None = None,
    ) -> ReturnRequest:
        """Record the request's unknown action as done: someone saw it on the marketplace.

        Nothing is sent. The request moves as the action's successful push
        would have moved it, with an audit row by ``actor`` and the action's
        event, and the claim goes. The action's own inputs the claim does
        not keep are given again: ``reason`` (a refusal, required),
        ``inspection`` (a receipt; ``None``: every unit resellable),
        ``tracking_number`` (an exchange shipment, required) and ``carrier``.

        Raises:
            NotFoundError: no such request.
            InvalidTransitionError: no action of the request is in flight, its
                claim is void (the request moved on since), or the action is
                ``extend_deadline`` or ``submit_evidence`` (what they record is
                the marketplace's answer: sync the store, or release it).
            ActionInFlightError: the claim's lease is live (it may be being sent now).
            ValidationError: an input the action needs is missing.
        """
        def confirm(session: Session) -> tuple[str, int]:
            row, _ = action_claim.unsettled(session, rma_id, self.ctx.runtime.now(), "done")
            self._check_inputs(rma_id, row.action, reason, tracking_number)
            row.state = "pushed"  # the marketplace's answer, as a person read it
            return row.action, row.version

        action, version = self.ctx.run(confirm, rma_id=rma_id)
        said = note if note and note.strip() else DONE_NOTE
        moves: dict[str, Callable[[], object]] = {
            "approve": lambda: self.actions.approve(
                rma_id, note=said, actor=actor, override=True, version=version),
            "reject": lambda: self.actions.reject(
                rma_id, reason=reason or "", note=said, actor=actor, version=version),
            "receive": lambda: self.actions.receive(
                rma_id, inspection=inspection, note=said, actor=actor, version=version),
            "ship_exchange": lambda: self.exchanges.ship_exchange(
                rma_id, tracking_number or "", carrier, note=said, actor=actor, version=version),
        }
        moves[action]()
        return self.ctx.run(lambda s: repo.to_model(repo.load_row(s, rma_id)))

    @staticmethod
    def _check_inputs(rma_id: str, action: str, reason: str | None,
                      tracking_number: str | None) -> None:
        """Refuse, before anything is written, inputs the action's move cannot do without."""
        if action in ("extend_deadline", "submit_evidence"):
            raise InvalidTransitionError(
                f"the action on return {rma_id}", f"{action} unknown", "done",
                "what it records is the marketplace's answer, which a person cannot type in; "
                "sync the store, or release it and ask again")
        if action == "reject" and not (reason and reason.strip()):
            raise ValidationError("marking a refusal done needs its reason for the buyer",
                                  field="reason", payload=f"return {rma_id}")
        if action == "ship_exchange" and not (tracking_number and tracking_number.strip()):
            raise ValidationError("marking an exchange shipment done needs its tracking number",
                                  field="tracking_number", payload=f"return {rma_id}")

    def release_action(self, rma_id: str, *, actor: str = "merchant",
                       note: str | None = None) -> ReturnRequest:
        """Drop the request's unknown action: someone saw it is not on the marketplace.

        The claim goes, with an audit row by ``actor`` naming the action, so
        any action may go again (the next one is sent once).

        Raises:
            NotFoundError: no such request.
            InvalidTransitionError: no action of the request is in flight, its
                claim is void (the request moved on since), or the marketplace
                answered it (it was done: mark it done instead).
            ActionInFlightError: the claim's lease is live (it may be being sent now).
        """
        def release(session: Session) -> ReturnRequest:
            row, status = action_claim.unsettled(session, rma_id, self.ctx.runtime.now(),
                                                 "released")
            action = row.action
            session.delete(row)
            now = self.ctx.runtime.now()
            repo.audit(session, rma_id, actor=actor, at=now, source=ReturnStatus(status),
                       target=ReturnStatus(status),
                       reason=f"{action} released: not done on the marketplace",
                       note=note, data={"action": action})
            return repo.to_model(repo.load_row(session, rma_id))

        return self.ctx.run(release, rma_id=rma_id)
