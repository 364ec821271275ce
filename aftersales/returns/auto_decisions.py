"""A policy's automatic decision on a new request: on record from the request's commit, sent once.

A new request the policy approves (or refuses) is opened in one unit of
work, and the marketplace must hear the decision before it is written, with
no transaction open. So the decision is *planned* in the request's own
unit (:func:`~aftersales.returns.action_claim.plan`: a claim in state
``planned`` naming the action, the rule that decided and why) and carried
out after the commit (:meth:`AutoDecisions.finish`): taken under the
request's lock, pushed, answered, then the move is written and the claim
deleted in one transaction.

A process killed between the commit and the push used to leave the request
"requested" for good (and a bulk re-run skipped its row as applied). Now
the planned claim outlives it, and whatever runs next finishes it:
the timer tick (:meth:`AutoDecisions.recover`, from
``app.returns.run_timers`` and the worker's ``return_timers`` tick) and a
re-run of the same bulk row. The claim rules hold for it as for a
merchant's action: of two takers one pushes; a definite refusal drops the
decision (the request waits for a person); a lost answer leaves the claim
"outcome unknown", settled by a sync, a retry of the same action or a person
(``returns resolve``), never sent again blind by a tick; a process killed
mid-push leaves its lease to run out. A push that was answered and whose
write was lost (the process died in between) is written by the next taker
without sending anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aftersales.errors import AfterSalesError
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.returns import action_claim
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext
from aftersales.returns.writes import TransitionWriter
from aftersales.store.tables.returns import ActionClaimRow, ReturnRow

__all__ = ["AutoDecisions", "Finished"]

#: What each automatic action sends, moves the request to, and needs to be able to do.
_ACTIONS: dict[str, tuple[ReturnStatus, Capability]] = {
    "approve": (ReturnStatus.APPROVED, Capability.APPROVE_RETURN),
    "reject": (ReturnStatus.REJECTED, Capability.REJECT_RETURN),
}


def _call(action: str, reason: str) -> Callable[[Marketplace, ReturnRequest], object]:
    """The marketplace call of an automatic ``action`` (a refusal tells the buyer ``reason``)."""
    if action == "reject":
        return lambda m, r: m.reject_return(r, reason=reason)
    return lambda m, r: m.approve_return(r)


@dataclass(frozen=True)
class Finished:
    """What :meth:`AutoDecisions.finish` did: ``done`` (sent, or written after an earlier
    answer), ``skipped`` (nothing to take: another caller has it, or it is void) or
    ``failed`` (refused or its answer lost), with the reason."""

    outcome: str
    reason: str = ""


class AutoDecisions:
    """``plan`` a decision in the request's unit, ``finish`` it after, ``recover`` leftovers."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter) -> None:
        self.ctx = ctx
        self.writer = writer

    def plan(self, session: Session, row: ReturnRow, target: ReturnStatus, *, actor: str,
             reason: str) -> str | None:
        """Record the decision to move new request ``row`` to ``target`` in the caller's unit;
        its token for :meth:`finish`, or ``None`` when an action of someone else holds it."""
        action = "approve" if target is ReturnStatus.APPROVED else "reject"
        session.flush()  # the request is written first (the claim refers to it), at its version
        return action_claim.plan(session, row.rma_id, action, row.version,
                                 self.ctx.runtime.now(), actor=actor, reason=reason)

    def finish(self, rma_id: str, token: str | None = None) -> Finished:
        """Send request ``rma_id``'s planned decision once and record it.

        ``token``: the planner's (right after its commit); ``None``: any
        planned decision, or one answered whose write was lost. The push
        happens with no transaction open. Errors the marketplace raises
        are reported, not raised: the claim says what is left.
        """
        taken = action_claim.take_planned(self.ctx.runtime, rma_id, token)
        if taken is None:
            return Finished("skipped", "no automatic decision to send (taken, or void)")
        claim = taken.claim
        target, capability = _ACTIONS[claim.action]

        def push(session: Session) -> None:
            row = repo.load_row(session, rma_id)
            self.ctx.push(row, capability, _call(claim.action, taken.reason), dry_run=False,
                          claim=claim)
            self.ctx.answered(claim)

        try:
            self.ctx.run(push)
        except AfterSalesError as exc:
            return Finished("failed", str(exc))

        def record(session: Session) -> None:
            action_claim.settle(session, claim)
            row = repo.load_row(session, rma_id)
            if row.status != ReturnStatus.REQUESTED.value or row.version != taken.version:
                return
            self.writer.move(session, row, target, actor=taken.actor,
                             now=self.ctx.runtime.now(), reason=taken.reason[:200])

        self.ctx.run(record)
        return Finished("done")

    def due(self, now: datetime, limit: int) -> list[str]:
        """Requests with an automatic decision to finish: planned, or answered and never
        written (lease over), oldest first."""
        c = ActionClaimRow
        with self.ctx.runtime.unit_of_work() as session:
            return list(session.scalars(
                select(c.rma_id).where(c.actor.is_not(None), or_(
                    c.state == action_claim.PLANNED,
                    (c.state == "pushed") & (c.lease_until <= now)))
                .order_by(c.claimed_at).limit(limit)))
