"""The action claim: one merchant action at a time reaches a request's marketplace.

Approving, refusing, receiving and shipping an exchange each tell the
marketplace first and write here after. Two callers acting on one request
at the same instant both called the marketplace before either wrote; the
loser found out only when its write failed, after its call had gone out.

So an action that will call the marketplace first *claims* the request
(:func:`take`), in a short transaction of its own that holds the request's
lock (``SELECT … FOR UPDATE`` on PostgreSQL, the write lock on SQLite) and
commits before anything is sent. The claim is refused when the request
changed since the caller read it (someone else acted first) or another
claim is live, so the second caller never calls the marketplace. Then:

* the marketplace answered: the claim is marked ``pushed`` (:func:`answered`)
  and the caller's own write deletes it (:func:`settle`), in the same
  transaction as the request's move. A write that failed after the answer
  leaves it ``pushed``: a retry of the action only writes (it sends nothing);
* the marketplace refused (a definite refusal, nothing happened there):
  the claim is deleted (:func:`release`);
* the answer was lost (a timeout, a reset, a 5xx): the claim stays,
  ``unknown``, with its lease released (:func:`lost`). Only a retry of the
  same action may take it (it is sent again: approving, refusing,
  confirming a receipt and recording a parcel are moves the marketplace
  refuses, or records once, when they are already done); any other action
  is refused until then, until a sync of the store reads the request's
  state on the marketplace and settles it (:func:`settle_synced`), or until
  a person who checked the marketplace's own console says what happened
  (:func:`unsettled`: marked done or released, as a review's lost reply is);
* the process died mid-push: the claim keeps its lease (:data:`LEASE`),
  which runs out; the next caller of the same action resumes it as above.

A policy's automatic decision on a new request is *planned* (:func:`plan`)
in the request's own transaction: a claim in state ``planned`` naming who
decided and why, nothing sent yet, so a process killed after that commit
leaves the decision on record instead of losing it. Whoever comes next
takes it for its push (:func:`take_planned`, under the request's lock, so
of two takers one pushes): the process that opened the request, right after
its commit, or failing that the timer tick or a re-run of the bulk row
(:mod:`~aftersales.returns.auto_decisions`). A planned claim holds nothing
back: nothing of it reached the marketplace, so a merchant's own action
replaces it, and any move of the request makes it void.

A claim whose request moved on since (its ``version`` is not the
request's) is void. The claim holds the order's lock too, as a refund's
claim does, and each refuses while the other is in flight
(:func:`blocking`), so a refund and a refusal of one received request
never both reach the marketplace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from aftersales.errors import (
    ActionInFlightError,
    AfterSalesError,
    ConcurrentUpdateError,
    InvalidTransitionError,
    NotFoundError,
    RefundInFlightError,
)
from aftersales.money import Money
from aftersales.redact import redact_text
from aftersales.returns.refund_claim import lock_order, pending_of
from aftersales.store.locking import begin_write
from aftersales.store.tables.returns import ActionClaimRow, ReturnRow

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = [
    "LEASE",
    "ActionClaim",
    "Planned",
    "answered",
    "blocking",
    "hold",
    "lost",
    "plan",
    "release",
    "settle",
    "settle_pushed",
    "settle_synced",
    "take",
    "take_planned",
    "unsettled",
]

#: How long one caller may be telling the marketplace before another may take over.
LEASE = timedelta(minutes=2)
#: The state of an automatic decision recorded with its request and not sent yet.
PLANNED = "planned"

_BUSY = ("it is being sent to the marketplace right now (a process that died keeps it "
         "until its lease runs out, {minutes} minutes at most); try again shortly")
_UNKNOWN = ("the marketplace's answer to it was lost, so it may have acted; {action} "
            "again (it resumes) or sync the store before anything else (a store that lists "
            "no returns: check its console, then aftersales returns resolve --mark-done or "
            "--release)")


@dataclass
class ActionClaim:
    """A request claimed for one action's push.

    Attributes:
        rma_id: the request.
        action: what is being sent (``approve``, ``reject``, ``receive``,
            ``ship_exchange``).
        token: this claim's own value: only its holder settles it.
        attempts: pushes started, this one included; above one, an
            earlier push may have reached the marketplace.
        pushed: an earlier push of this action was answered (its local
            write failed): nothing is sent again, only the write is left.
        sent: pushes this holder made that the marketplace answered.
    """

    rma_id: str
    action: str
    token: str
    attempts: int = 1
    pushed: bool = False
    sent: int = 0


def _lock_request(session: Session, rma_id: str) -> tuple[str, int]:
    """Hold the request's order and the request until the transaction ends; the
    request's status and version now.

    The order's lock is the one a refund's claim holds
    (:func:`~aftersales.returns.refund_claim.lock_order`), taken first as
    the refund takes it: an action and a refund of one request see each other.
    """
    begin_write(session)
    where = session.execute(select(ReturnRow.marketplace, ReturnRow.order_external_id)
                            .where(ReturnRow.rma_id == rma_id)).first()
    if where is None:
        raise NotFoundError("return request", rma_id)
    lock_order(session, where[0], where[1])
    found = session.execute(select(ReturnRow.status, ReturnRow.version)
                            .where(ReturnRow.rma_id == rma_id).with_for_update()).first()
    if found is None:
        raise NotFoundError("return request", rma_id)
    return str(found[0]), int(found[1])


def _no_refund_in_flight(session: Session, rma_id: str) -> None:
    """Refuse while a refund of the request is pending: the money may be moving, and
    refusing (or shipping the exchange of) a request being refunded does both."""
    pending = pending_of(session, rma_id)
    if pending is not None:
        raise RefundInFlightError(
            rma_id, pending.idempotency_key, f"{Money(pending.amount, pending.currency)}",
            "nothing else is sent to the marketplace until it settles (refund() again, "
            "or the refunds tick)")


def blocking(session: Session, rma_id: str, version: int,
             now: datetime) -> ActionInFlightError | None:
    """The error that keeps a refund of the request from being claimed, or ``None``.

    Called by the refund's claim under the order's lock: an action being sent
    now, or one whose outcome is unknown, may be a refusal the marketplace
    is taking; the refund waits for it.
    """
    row = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma_id))
    if row is None or row.version != version or row.state == PLANNED:
        return None  # none, void, or nothing sent yet
    if row.lease_until is not None and row.lease_until > now:
        return _busy(row)
    return ActionInFlightError(rma_id, row.action, _UNKNOWN.format(action=row.action))


def _busy(row: ActionClaimRow) -> ActionInFlightError:
    return ActionInFlightError(row.rma_id, row.action,
                               _BUSY.format(minutes=int(LEASE.total_seconds() // 60)))


def take(runtime: Runtime, rma_id: str, action: str, version: int) -> ActionClaim:
    """Claim request ``rma_id``, read at ``version``, for ``action``; committed on return.

    Raises:
        ConcurrentUpdateError: the request is no longer at ``version``
            (someone acted first): reload it.
        ActionInFlightError: another action is being sent now, or an
            earlier one (another action) has an unknown outcome.
        RefundInFlightError: a refund of the request is pending.
    """
    with runtime.unit_of_work() as session:
        status, now_version = _lock_request(session, rma_id)
        if now_version != version:
            raise ConcurrentUpdateError(
                f"return {rma_id} was changed by someone else meanwhile (now {status}); "
                "reload and try again")
        _no_refund_in_flight(session, rma_id)
        now = runtime.now()
        token = uuid4().hex
        row = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma_id)
                             .with_for_update())
        if row is not None and (row.version != version or row.state == PLANNED):
            # void (the request moved on since), or an automatic decision nothing of
            # which was sent: this caller's own action replaces it
            session.delete(row)
            session.flush()
            row = None
        if row is None:
            session.add(ActionClaimRow(rma_id=rma_id, action=action, version=version,
                                       state="pushing", token=token, attempts=1,
                                       claimed_at=now, lease_until=now + LEASE))
            return ActionClaim(rma_id, action, token)
        if row.lease_until is not None and row.lease_until > now:
            raise _busy(row)
        if row.action != action:
            raise ActionInFlightError(rma_id, row.action, _UNKNOWN.format(action=row.action))
        pushed = row.state == "pushed"
        row.attempts = (row.attempts or 1) + 1
        row.token = token
        row.state = "pushed" if pushed else "pushing"
        row.claimed_at = now
        row.lease_until = now + LEASE
        return ActionClaim(rma_id, action, token, attempts=row.attempts, pushed=pushed)


@dataclass
class Planned:
    """An automatic decision taken for its push (:func:`take_planned`).

    Attributes:
        claim: the claim its holder pushes under (``pushed``: answered
            before, only the local write is left).
        version: the request's version the decision was made at.
        actor: who decided (``policy:<rule>``), for the audit row.
        reason: why; a refusal's text for the buyer.
    """

    claim: ActionClaim
    version: int
    actor: str
    reason: str


def plan(session: Session, rma_id: str, action: str, version: int, now: datetime, *,
         actor: str, reason: str) -> str | None:
    """Record a policy's automatic ``action`` on request ``rma_id`` (at ``version``) in the
    caller's unit of work, the request's own; its token, or ``None`` when the request has a
    live claim already (a merchant's action: the decision is left to people).

    Nothing is locked here: the claim is a row written with the request, and
    :func:`take_planned` takes it under the request's lock.
    """
    row = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma_id))
    if row is not None:
        if row.version == version:
            return None
        session.delete(row)  # void: the request moved on since
        session.flush()
    token = uuid4().hex
    session.add(ActionClaimRow(rma_id=rma_id, action=action, version=version, state=PLANNED,
                               token=token, attempts=0, claimed_at=now, lease_until=None,
                               actor=actor[:120], reason=reason))
    return token


def take_planned(runtime: Runtime, rma_id: str, token: str | None = None) -> Planned | None:
    """Take request ``rma_id``'s automatic decision for its push; committed on return.

    ``token``: the planner's own (the process that opened the request);
    ``None``: any planned decision (the timer tick, a bulk re-run), or one
    whose push was answered and whose local write is left (its lease over:
    its process died before writing). ``None`` when there is nothing to
    take: no automatic decision, another caller took it first (its push is
    under way or its answer was lost: those follow the rules above), or the
    request moved on since (the claim, void, is deleted).
    """
    with runtime.unit_of_work() as session:
        _, version = _lock_request(session, rma_id)
        row = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma_id)
                             .with_for_update())
        if row is None or row.actor is None:
            return None
        if row.version != version:
            session.delete(row)
            return None
        now = runtime.now()
        if row.state == PLANNED and token in (None, row.token):
            pushed = False
        elif (row.state == "pushed" and token is None
              and (row.lease_until is None or row.lease_until <= now)):
            pushed = True
        else:
            return None
        row.token = uuid4().hex
        row.state = "pushed" if pushed else "pushing"
        row.attempts = (row.attempts or 0) + 1
        row.claimed_at = now
        row.lease_until = now + LEASE
        claim = ActionClaim(rma_id, row.action, row.token, attempts=row.attempts, pushed=pushed)
        return Planned(claim, version, row.actor, row.reason or "")


def _mark(runtime: Runtime, claim: ActionClaim, **values: object) -> None:
    with runtime.unit_of_work() as session:
        session.execute(update(ActionClaimRow).where(
            ActionClaimRow.rma_id == claim.rma_id, ActionClaimRow.token == claim.token,
        ).values(**values))


def answered(runtime: Runtime, claim: ActionClaim) -> None:
    """The marketplace answered every push: only the local write is left (lease kept)."""
    if not claim.pushed:
        _mark(runtime, claim, state="pushed", error=None)


def lost(runtime: Runtime, claim: ActionClaim, exc: BaseException) -> None:
    """The answer was lost: the outcome is unknown until a retry or a sync settles it."""
    why = str(exc) if isinstance(exc, AfterSalesError) else type(exc).__name__
    _mark(runtime, claim, state="unknown", lease_until=None,
          error=" ".join(redact_text(why).split())[:450])


def release(runtime: Runtime, claim: ActionClaim) -> None:
    """The marketplace surely did nothing (a definite refusal): the claim goes."""
    with runtime.unit_of_work() as session:
        session.execute(delete(ActionClaimRow).where(
            ActionClaimRow.rma_id == claim.rma_id, ActionClaimRow.token == claim.token))


def settle(session: Session, claim: ActionClaim | None) -> None:
    """Delete ``claim`` in the caller's unit of work, beside the request's move."""
    if claim is not None:
        session.execute(delete(ActionClaimRow).where(
            ActionClaimRow.rma_id == claim.rma_id, ActionClaimRow.token == claim.token))


def settle_pushed(session: Session, rma_id: str, action: str) -> None:
    """Delete the request's answered ``action`` claim (a bulk run's pushes, written later)."""
    session.execute(delete(ActionClaimRow).where(
        ActionClaimRow.rma_id == rma_id, ActionClaimRow.action == action,
        ActionClaimRow.state == "pushed"))


def settle_synced(session: Session, rma_id: str, now: datetime) -> None:
    """The marketplace's own newer word on the request replaces an unknown outcome.

    Called by the sync for each stored request it merges: a claim whose
    lease is over (unknown, answered but never written, or left by a
    process that died) is deleted, as the request now says what the
    marketplace did; a live one is left to its holder, and a planned
    automatic decision (nothing of it was sent) to whoever sends it.
    """
    session.execute(delete(ActionClaimRow).where(
        ActionClaimRow.rma_id == rma_id, ActionClaimRow.state != PLANNED,
        or_(ActionClaimRow.lease_until.is_(None), ActionClaimRow.lease_until <= now)))


def hold(session: Session, rma_id: str, runtime: Runtime) -> None:
    """Before a local-only move (close, cancel, mark shipped, reopen): lock the request and
    refuse while an action on it is with the marketplace.

    Raises:
        ActionInFlightError: a live claim, or one whose outcome is unknown.
    """
    _, version = _lock_request(session, rma_id)
    row = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma_id))
    if row is None or row.version != version or row.state == PLANNED:
        return  # none, void (the request moved on), or nothing sent yet (the move voids it)
    if row.lease_until is not None and row.lease_until > runtime.now():
        raise _busy(row)
    raise ActionInFlightError(rma_id, row.action, _UNKNOWN.format(action=row.action))


def unsettled(session: Session, rma_id: str, now: datetime,
              target: str) -> tuple[ActionClaimRow, str]:
    """Lock the request and return its claim a person may settle by hand, with the
    request's status (``target``: ``done`` or ``released``, for the error's wording).

    A store that cannot list its returns (WooCommerce, a request made in the
    shop's own portal) never has a sync to settle an unknown outcome, so
    staff who checked the marketplace's console settle it instead.

    Raises:
        InvalidTransitionError: the request has no claim, the request moved
            on since the claim was taken (it is void), or (``released``)
            the marketplace answered the action, so it was done.
        ActionInFlightError: the claim's lease is live: a process may be
            sending the action right now.
    """
    status, version = _lock_request(session, rma_id)
    row = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma_id)
                         .with_for_update())
    entity = f"the action on return {rma_id}"
    if row is None or row.state == PLANNED:
        raise InvalidTransitionError(entity, "no action in flight", target,
                                     "only an action whose marketplace answer was lost can be")
    if row.version != version:
        raise InvalidTransitionError(
            entity, f"a void {row.action}", target,
            f"the request moved on since it was claimed (it is {status} now); nothing is left "
            "to settle")
    if row.lease_until is not None and row.lease_until > now:
        raise _busy(row)
    if target == "released" and row.state == "pushed":
        raise InvalidTransitionError(
            entity, f"{row.action} answered", target,
            f"the marketplace answered it, so it was done: mark it done, or {row.action} "
            "again (it writes without sending)")
    return row, status
