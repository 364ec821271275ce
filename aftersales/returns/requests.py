"""Opening requests, explaining eligibility, reading them back, and policy auto-decisions."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aftersales.errors import (
    AfterSalesError,
    NotEligibleError,
    NotFoundError,
    ValidationError,
)
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import (
    Order,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from aftersales.money import Money
from aftersales.returns import repository as repo
from aftersales.returns.auto_decisions import AutoDecisions
from aftersales.returns.context import ReturnsContext
from aftersales.returns.eligibility import Decision, Eligibility, EligibilityContext, evaluate
from aftersales.returns.policy import BuyerStats
from aftersales.returns.queries import Queries
from aftersales.returns.refunds import refund_total
from aftersales.returns.writes import RequestFacts, TransitionWriter
from aftersales.store.keys import stored_key
from aftersales.store.locking import one_writer
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.returns import ReturnRow

__all__ = ["AutoStep", "LinesIn", "Requests", "resolve_lines"]

#: Lines as ``ReturnLine`` objects, or ``{order_line_id_or_sku: quantity}`` sharing one reason.
LinesIn = Sequence[ReturnLine] | Mapping[str, int]


def resolve_lines(
    order: Order, lines: LinesIn, reason: ReturnReason | str | None
) -> list[ReturnLine]:
    """Normalise the caller's lines; a SKU is accepted where a line id is expected.

    Raises:
        ValidationError: no lines, or a reason that is not a known one.
    """
    try:
        default = ReturnReason(reason) if reason is not None else ReturnReason.OTHER
    except ValueError:
        raise ValidationError(f"unknown reason {reason!r}", field="reason") from None
    if isinstance(lines, Mapping):
        items = [ReturnLine(order_line_id=k, quantity=q, reason=default) for k, q in lines.items()]
    else:
        items = list(lines)
    if not items:
        raise ValidationError("a request needs at least one line", field="lines")
    by_sku = {ol.sku: ol.external_id for ol in order.lines}
    ids = {ol.external_id for ol in order.lines}
    out = []
    for line in items:
        if line.order_line_id not in ids and line.order_line_id in by_sku:
            line = line.model_copy(update={"order_line_id": by_sku[line.order_line_id],
                                           "sku": line.order_line_id})
        out.append(line)
    return out


@dataclass(frozen=True)
class AutoStep:
    """A policy decision the marketplace must hear first: pushed after its unit commits.

    ``reason``: the audit row's (cut to its 200 characters there), and a
    refusal's whole text for the buyer. ``token``: its planned claim's (set
    once it is recorded with the request).
    """

    rma_id: str
    version: int
    target: ReturnStatus
    capability: Capability
    call: Callable[[Marketplace, ReturnRequest], object]
    actor: str
    reason: str
    token: str | None = None


def _kind(kind: ReturnKind | str) -> ReturnKind:
    try:
        return ReturnKind(kind)
    except ValueError:
        options = ", ".join(k.value for k in ReturnKind)
        raise ValidationError(f"unknown kind {kind!r}; use {options}", field="kind") from None


class Requests:
    """Opening requests (``request``), judging them (``check``, ``decide``), policy decisions."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter, queries: Queries) -> None:
        self.ctx = ctx
        self.writer = writer
        self.queries = queries
        #: automatic decisions: recorded with their request, sent after its commit
        self.auto = AutoDecisions(ctx, writer)

    # ------------------------------------------------------------ orders

    def order(self, session: Session, marketplace: str, order_id: str) -> tuple[Order, int]:
        found = repo.load_order(session, marketplace, order_id)
        if found is not None:
            return found
        market = self.ctx.runtime.marketplaces.get(marketplace)
        if market is None or Capability.GET_ORDER not in market.capabilities:
            raise NotFoundError("order", f"{marketplace}/{order_id}")
        order = market.get_order(order_id)
        row, _, _ = upsert_orders(session, [order])[0]
        return order, row.id

    def _marketplace_of(self, session: Session, order_id: str) -> str:
        names = list(session.scalars(
            select(OrderRow.marketplace).where(OrderRow.external_id == order_id)))
        if len(names) == 1:
            return names[0]
        if not names and len(self.ctx.runtime.marketplaces) == 1:
            return next(iter(self.ctx.runtime.marketplaces))
        raise ValidationError(f"say which marketplace order {order_id} is from",
                              field="marketplace")

    def eligibility(
        self, session: Session, order: Order, lines: Sequence[ReturnLine], kind: ReturnKind,
        evidence: Sequence[str], now: datetime, exclude: str | None = None,
    ) -> Eligibility:
        stats = repo.buyer_stats(session, order.buyer.external_id, now,
                                 self.ctx.policy.serial_returner.lookback_days)
        ctx = EligibilityContext(
            order=order, lines=lines, kind=kind, policy=self.ctx.policy, now=now,
            buyer_stats=stats, evidence=evidence,
            already_requested=repo.units_taken(session, order.marketplace, order.external_id,
                                               exclude),
        )
        return evaluate(ctx, self.ctx.validators)

    # ------------------------------------------------------------ public

    def check(
        self, order_id: str, lines: LinesIn, reason: ReturnReason | str | None = None, *,
        marketplace: str | None = None, kind: ReturnKind | str = ReturnKind.RETURN,
        evidence: Sequence[str] = (),
    ) -> Eligibility:
        """Would this request be accepted? The answer, in words a customer can hear.

        Raises:
            NotFoundError: the order is neither stored nor on the marketplace.
        """
        def work(session: Session) -> Eligibility:
            market = marketplace or self._marketplace_of(session, order_id)
            order, _ = self.order(session, market, order_id)
            items = resolve_lines(order, lines, reason)
            return self.eligibility(session, order, items, _kind(kind), evidence,
                                     self.ctx.runtime.now())

        return self.ctx.run(work)

    def request(
        self, marketplace: str, order_id: str, lines: LinesIn, *,
        kind: ReturnKind | str = ReturnKind.RETURN, reason: ReturnReason | str | None = None,
        evidence: Sequence[str] = (), buyer_note: str | None = None,
        requested_amount: Money | None = None, idempotency_key: str | None = None,
        actor: str = "buyer", force: bool = False, auto: bool = True, dry_run: bool = False,
    ) -> ReturnRequest:
        """Open a request made in the shop's own portal (or by support on the phone).

        The validators decide first: an ineligible request is refused unless
        ``force`` (a staff override, recorded as such). A new eligible request
        may be approved at once by a policy rule (``auto=False`` skips that).

        Args:
            lines: ``ReturnLine`` objects (each with its reason), or
                ``{order_line_id or sku: quantity}`` with ``reason`` for all.
            idempotency_key: a repeat with the same key returns the first
                request instead of opening another (and sends its automatic
                decision, should the first call have died before sending it).

        Raises:
            NotEligibleError: the policy refuses it; ``reasons`` say why.
            NotFoundError: the order is unknown.
            ValidationError: bad lines or reason.
        """
        later: builtins.list[AutoStep] = []
        made = self.ctx.run(
            lambda s: self.request_in(s, marketplace, order_id, lines, kind=kind, reason=reason,
                                    evidence=evidence, buyer_note=buyer_note,
                                    requested_amount=requested_amount,
                                    idempotency_key=idempotency_key, actor=actor, force=force,
                                    auto=auto, dry_run=dry_run, later=later),
            dry_run=dry_run)
        if not later:
            if (idempotency_key is not None and not dry_run
                    and made.status is ReturnStatus.REQUESTED
                    and self.auto.finish(made.rma_id or "").outcome == "done"):
                # a repeat of a request whose process died before telling the
                # marketplace the policy's decision: sent now, once
                return self.queries.get(made.rma_id or "")
            return made
        self.run_later(later)
        return self.queries.get(made.rma_id or "")

    def request_in(
        self, session: Session, marketplace: str, order_id: str, lines: LinesIn, *,
        kind: ReturnKind | str, reason: ReturnReason | str | None, evidence: Sequence[str],
        buyer_note: str | None, requested_amount: Money | None, idempotency_key: str | None,
        actor: str, force: bool, auto: bool, dry_run: bool,
        later: builtins.list[AutoStep] | None = None,
    ) -> ReturnRequest:
        """:meth:`request` in the caller's unit of work; a push it needs goes to ``later``."""
        key = stored_key(idempotency_key) if idempotency_key is not None else None
        if key is not None:
            # Callers repeating one key at the same instant (a portal's retries)
            # meet here one at a time, so the later ones find the first's request.
            one_writer(session, f"return-request:{key}")
            found = session.scalar(select(ReturnRow).options(selectinload(ReturnRow.lines))
                                   .where(ReturnRow.idempotency_key == key))
            if found is not None:
                return repo.to_model(found)
        now = self.ctx.runtime.now()
        order, order_row_id = self.order(session, marketplace, order_id)
        items = resolve_lines(order, lines, reason)
        k = _kind(kind)
        verdict = self.eligibility(session, order, items, k, evidence, now)
        if verdict.decision is Decision.INELIGIBLE and not force:
            raise NotEligibleError(verdict.explain(), verdict.reasons)
        row = ReturnRow(
            rma_id=repo.new_rma_id(), marketplace=marketplace, order_id=order_row_id,
            order_external_id=order_id, buyer_id=order.buyer.external_id, kind=k.value,
            status=ReturnStatus.REQUESTED.value, currency=order.currency,
            requested_amount=requested_amount.amount if requested_amount else None,
            buyer_note=buyer_note, evidence=list(evidence),
            idempotency_key=key, created_at=now, updated_at=now,
            eligibility=verdict.decision.value, eligibility_reasons=verdict.reasons,
        )
        repo.fill_lines(row, items, order)
        session.add(row)
        self.writer.opened(session, row, actor=actor, now=now,
                     note="staff override" if force and not verdict.eligible else None)
        if auto:
            self.auto_decide(session, row, order, verdict, now, dry_run=dry_run, later=later)
        return repo.to_model(row)

    def auto_decide(self, session: Session, row: ReturnRow, order: Order,
                     verdict: Eligibility, now: datetime, *, dry_run: bool = False,
                     later: builtins.list[AutoStep] | None = None) -> None:
        """Apply the policy's automatic decision to a new request, if any.

        A decision the marketplace must hear first is not pushed here, inside
        the caller's unit of work: it is recorded with the request (a planned
        claim, :mod:`~aftersales.returns.auto_decisions`) and appended to
        ``later``, and the caller runs it with :meth:`run_later` once its unit
        has committed; should the caller die first, the timer tick runs it
        (without ``later`` it is dropped, leaving the request for a human).
        A marketplace that refuses leaves the request for a human.
        """
        if row.status != ReturnStatus.REQUESTED.value:
            return
        try:
            step = self.auto_step(session, row, order, verdict, now)
        except AfterSalesError:
            return
        self.apply_step(session, row, step, now, dry_run=dry_run, later=later)

    def apply_step(self, session: Session, row: ReturnRow, step: AutoStep | None,
                   now: datetime, *, dry_run: bool = False,
                   later: builtins.list[AutoStep] | None = None) -> None:
        """Carry out an automatic decision (see :meth:`auto_decide`); ``None`` does nothing."""
        try:
            if step is None:
                return
            if not dry_run and self.ctx.reaches_market(row, step.capability):
                self.ctx.market(row.marketplace, step.capability)  # refused now if it cannot
                if later is None:
                    return
                token = self.auto.plan(session, row, step.target, actor=step.actor,
                                       reason=step.reason)
                if token is not None:
                    later.append(replace(step, token=token))
                return
            self.ctx.push(row, step.capability, step.call, dry_run=dry_run)  # sends nothing
        except AfterSalesError:
            return
        self.writer.move(session, row, step.target, actor=step.actor, now=now,
                         reason=step.reason[:200])

    def auto_step(self, session: Session, row: RequestFacts, order: Order,
                   verdict: Eligibility, now: datetime, *,
                   stats: Callable[[], BuyerStats | None] | None = None,
                   lines: Sequence[ReturnLine] | None = None) -> AutoStep | None:
        """The policy's automatic decision on a waiting request, or ``None`` (a human decides).

        ``stats`` gives the buyer's history as of ``now`` and ``lines`` the
        request's stored lines when the caller already knows them (a sync
        page); else they are read.
        """
        if verdict.decision is Decision.INELIGIBLE and self.ctx.policy.auto_reject_ineligible:
            text = " ".join(verdict.reasons)
            return AutoStep(row.rma_id, row.version, ReturnStatus.REJECTED,
                            Capability.REJECT_RETURN,
                            lambda m, r: m.reject_return(r, reason=text), "policy", text)
        if not verdict.eligible:
            return None
        if not self.ctx.policy.auto_approve:
            return None  # no rule could approve it: its amount and history would go unread
        kind = ReturnKind(row.kind)
        if lines is None:
            if not isinstance(row, ReturnRow):
                raise TypeError("a request not read as a stored row needs its lines given")
            lines = repo.to_model(row).lines
        lines = list(lines)
        amount = refund_total(order, lines, kind=kind, policy=self.ctx.policy)
        history = stats() if stats is not None else repo.buyer_stats(
            session, row.buyer_id, now, self.ctx.policy.serial_returner.lookback_days)
        rule = self.ctx.policy.auto_approve_rule(
            amount=amount, reasons=[ln.reason for ln in lines], kind=kind, stats=history)
        if rule is None:
            return None
        return AutoStep(row.rma_id, row.version, ReturnStatus.APPROVED, Capability.APPROVE_RETURN,
                        lambda m, r: m.approve_return(r), f"policy:{rule.name}",
                        f"auto-approved: {amount} within rule {rule.name!r}")

    def run_later(self, steps: Sequence[AutoStep]) -> None:
        """Run automatic decisions after their unit of work committed: push, then record.

        Each was recorded with its request (:meth:`apply_step`) and is taken
        under the request's lock, so a racing action (or the timer tick)
        and this one never both reach the marketplace. The push happens with
        no transaction open; the move is recorded in a new unit of work only
        if nobody changed the request meanwhile.
        """
        for step in steps:
            if step.token is not None:
                self.auto.finish(step.rma_id, step.token)

    def decide(self, rma_id: str, *, dry_run: bool = False) -> ReturnRequest:
        """Judge a waiting request again and apply the policy's automatic decision.

        Use it after changing the policy, to work through the backlog: the
        eligibility verdict is refreshed, and a rule may approve (or, when
        configured, reject) the request. Anything else stays for a human.

        Raises:
            NotFoundError: no such request, or its order is unknown.
        """
        def work(session: Session) -> ReturnRequest:
            row = repo.load_row(session, rma_id)
            if row.status != ReturnStatus.REQUESTED.value:
                return repo.to_model(row)
            order, _ = self.order(session, row.marketplace, row.order_external_id)
            model = repo.to_model(row)
            now = self.ctx.runtime.now()
            # Judged as of when the buyer asked: a backlog does not age out of its window.
            verdict = self.eligibility(session, order, model.lines, model.kind, model.evidence,
                                        row.created_at or now, exclude=rma_id)
            row.eligibility = verdict.decision.value
            row.eligibility_reasons = verdict.reasons
            self.auto_decide(session, row, order, verdict, now, dry_run=dry_run, later=later)
            return repo.to_model(row)

        later: builtins.list[AutoStep] = []
        judged = self.ctx.run(work, dry_run=dry_run)
        if not later:
            return judged
        self.run_later(later)
        return self.queries.get(rma_id)
