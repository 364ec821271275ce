"""Returns sync merging one request at a time, as it was before pages became set-based.

Kept only as the reference the property tests compare the set-based sync
(:mod:`aftersales.returns.sync`) with: an ORM read per request, the
request's own merge, and its writes flushed one by one.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aftersales import observe
from aftersales.errors import AfterSalesError, ValidationError
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import ReturnKind, ReturnRequest, ReturnStatus
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext
from aftersales.returns.lifecycle import path_between
from aftersales.returns.platform_deadlines import record_platform_deadline
from aftersales.returns.requests import AutoStep, Requests
from aftersales.returns.writes import TransitionWriter
from aftersales.store.cursors import get_cursor, set_cursor
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.returns import ReturnRow

__all__ = ["PerRowReturnsSync"]


def _line_key(req: ReturnRequest) -> builtins.list[tuple[str, int, str, str | None]]:
    return sorted((ln.order_line_id, ln.quantity, ln.reason.value, ln.replacement_sku)
                  for ln in req.lines)


def _merge_platform_facts(row: ReturnRow, req: ReturnRequest, now: datetime) -> bool:
    """Stage, risk verdict and platform deadline as the marketplace now reports them."""
    changed = False
    stage = req.stage.value if req.stage else None
    if stage is not None and row.stage != stage:
        row.stage = stage
        changed = True
    risk = req.risk.model_dump(mode="json") if req.risk else None
    if risk != row.risk:
        row.risk = risk
        changed = True
    return record_platform_deadline(row, req.platform_deadline, now=now) or changed


class PerRowReturnsSync:
    """``sync`` and the per-request merge."""

    def __init__(self, ctx: ReturnsContext, writer: TransitionWriter,
                 requests: Requests) -> None:
        self.ctx = ctx
        self.writer = writer
        self.requests = requests

    def sync(self, store: str | None = None) -> dict[str, int]:
        """Pull changed requests from every store that lists returns, or only from ``store``.

        Returns:
            How many requests were created or changed, per store.

        Raises:
            NotFoundError: no store called ``store`` is configured.
        """
        if store is not None:
            self.ctx.runtime.marketplace(store)  # an unknown name is an error, not nothing
        return {
            name: self._sync_store(name)
            for name, market in self.ctx.runtime.marketplaces.items()
            if (store is None or name == store) and Capability.LIST_RETURNS in market.capabilities
        }

    @observe.traced("returns", "sync", store_arg="name", counts=lambda n: {"changed": n})
    def _sync_store(self, name: str) -> int:
        """Pull one marketplace's changed requests from its saved cursor.

        Each page is merged in one transaction with the cursor, so an
        interrupted sync resumes after the last whole page.
        """
        market = self.ctx.runtime.marketplace(name)
        with self.ctx.runtime.unit_of_work() as session:
            cursor = get_cursor(session, name, "returns")
        changed = 0
        started = time.monotonic()
        for page in market.list_returns(cursor):
            before = changed
            self._fetch_orders(name, market, page.items)  # no call inside the page's write
            later: builtins.list[AutoStep] = []
            with self.ctx.runtime.unit_of_work() as session:
                for request in page.items:
                    changed += self._merge(session, name, request, later)
                if page.cursor is not None:
                    set_cursor(session, name, "returns", page.cursor)
            self.requests.run_later(later)  # decisions the marketplace must hear: after commit
            observe.log_page("returns", name, "returns", len(page.items), changed - before,
                             started)
            started = time.monotonic()
        return changed

    def _fetch_orders(self, name: str, market: Marketplace,
                      requests: Sequence[ReturnRequest]) -> None:
        """Store the orders of ``requests`` the store lacks, fetched before any write."""
        if Capability.GET_ORDER not in market.capabilities:
            return
        with self.ctx.runtime.unit_of_work() as session:
            wanted = {r.order_id for r in requests if r.external_id}
            missing = [o for o in sorted(wanted) if repo.load_order(session, name, o) is None]
        fetched = []
        for order_id in missing:
            try:
                fetched.append(market.get_order(order_id))
            except AfterSalesError:
                continue  # merged without its order, as before
        if fetched:
            with self.ctx.runtime.unit_of_work() as session:
                upsert_orders(session, fetched)

    def _merge(self, session: Session, name: str, req: ReturnRequest,
               later: builtins.list[AutoStep]) -> bool:
        if not req.external_id:
            raise ValidationError("a synced request needs its marketplace id",
                                  field="external_id", payload=f"{name} return")
        row = session.scalar(
            select(ReturnRow).options(selectinload(ReturnRow.lines))
            .where(ReturnRow.marketplace == name, ReturnRow.external_id == req.external_id))
        if row is None:
            self._insert(session, name, req, later)
            return True
        if (row.remote_updated_at is not None and req.updated_at is not None
                and req.updated_at <= row.remote_updated_at):
            return False  # a replay, or an older copy
        return self._update(session, name, row, req)

    def _insert(self, session: Session, name: str, req: ReturnRequest,
                later: builtins.list[AutoStep]) -> None:
        now = self.ctx.runtime.now()
        try:
            order, order_row_id = self.requests.order(session, name, req.order_id)
        except AfterSalesError:
            order, order_row_id = None, None
        verdict = None
        if order is not None:
            # Judged as of when the buyer asked, not when the sync ran.
            verdict = self.requests.eligibility(session, order, req.lines, req.kind, req.evidence,
                                        req.created_at or now)
        row = ReturnRow(
            rma_id=repo.new_rma_id(), marketplace=name, external_id=req.external_id,
            order_id=order_row_id, order_external_id=req.order_id,
            buyer_id=order.buyer.external_id if order else None, kind=req.kind.value,
            status=req.status.value, raw_status=req.raw_status,
            currency=order.currency if order else None,
            requested_amount=req.requested_amount.amount if req.requested_amount else None,
            buyer_note=req.buyer_note, evidence=list(req.evidence),
            return_tracking_number=req.return_tracking_number, return_carrier=req.return_carrier,
            remote_updated_at=req.updated_at, created_at=req.created_at or now, updated_at=now,
            eligibility=verdict.decision.value if verdict else None,
            eligibility_reasons=verdict.reasons if verdict else None,
            stage=req.stage.value if req.stage else None,
            risk=req.risk.model_dump(mode="json") if req.risk else None,
        )
        repo.fill_lines(row, req.lines, order)
        record_platform_deadline(row, req.platform_deadline, now=now)
        session.add(row)
        self.writer.opened(session, row, actor=f"marketplace:{name}", now=now,
                     data={"raw_status": req.raw_status})
        self._merge_dispute(session, row, req, f"marketplace:{name}")
        if order is not None and verdict is not None:
            self.requests.auto_decide(session, row, order, verdict, now, later=later)

    def _merge_dispute(self, session: Session, row: ReturnRow, req: ReturnRequest,
                       actor: str) -> bool:
        """Keep the platform's dispute as reported; a new or changed one emits
        ``return.dispute_changed`` (the cases area opens or updates its
        platform-dispute case from it)."""
        dispute = req.dispute.model_dump(mode="json") if req.dispute else None
        if dispute == row.dispute:
            return False
        before = row.dispute
        row.dispute = dispute
        self.writer.event(session, "return.dispute_changed", row, actor=actor,
                          extra={"dispute": dispute, "before": before},
                          key=f"return.dispute_changed:{row.rma_id}:{req.updated_at}")
        opened = bool(dispute and dispute.get("open")) and not (before or {}).get("open")
        if opened and ReturnStatus.REJECTED in (ReturnStatus(row.status), req.status):
            self.writer.event(session, "return.disputed", row, actor=actor,
                              extra={"dispute": dispute},
                              key=f"return.disputed:{row.rma_id}:{req.updated_at}")
        return True

    def _update(self, session: Session, name: str, row: ReturnRow, req: ReturnRequest) -> bool:
        now = self.ctx.runtime.now()
        actor = f"marketplace:{name}"
        changed = False
        stored = repo.to_model(row)
        if _line_key(stored) != _line_key(req):
            order = repo.load_order(session, name, row.order_external_id)
            repo.fill_lines(row, req.lines, order[0] if order else None)
            changed = True
        for attr in ("buyer_note", "return_tracking_number", "return_carrier"):
            value = getattr(req, attr)
            if value is not None and getattr(row, attr) != value:
                setattr(row, attr, value)
                changed = True
        if list(req.evidence) != list(row.evidence or []):
            row.evidence = list(req.evidence)
            changed = True
        changed = _merge_platform_facts(row, req, now) or changed
        changed = self._merge_dispute(session, row, req, actor) or changed
        row.remote_updated_at = req.updated_at
        current, target = ReturnStatus(row.status), req.status
        if target is not current:
            path = path_between(ReturnKind(row.kind), current, target)
            if path is not None:
                self.writer.move(session, row, target, actor=actor, now=now, check=False,
                           raw_status=req.raw_status, reason="changed on the marketplace",
                           data={"raw_status": req.raw_status,
                                 "path": [s.value for s in path]})
                return True
            repo.audit(session, row.rma_id, actor=actor, at=now, source=current, target=current,
                       reason=f"marketplace reports {target.value}; not allowed from "
                              f"{current.value}, kept", data={"raw_status": req.raw_status})
            changed = True
        if req.raw_status != row.raw_status:
            row.raw_status = req.raw_status
            changed = True
        if changed:
            row.updated_at = now
        return changed
