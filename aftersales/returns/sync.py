"""Marketplace sync: pull changed requests per cursor and upsert them idempotently.

The adapter maps its statuses and reasons onto the canonical ones (one
table per adapter); this module only merges. A request is keyed on
``(marketplace, external_id)``; a copy no newer than the stored one writes
nothing, so replaying a sync changes nothing. A status changed on the
marketplace side moves the request along the state machine (several steps
at once when the marketplace skipped some) with an audit row naming the
marketplace; a jump the machine does not allow is recorded, not applied.

A page is read set-based: one SELECT of the orders the page names (before
the page's write, to fetch the missing ones), then, in the page's unit of
work, one SELECT of the page's stored requests by natural key. A page whose
copies are all no newer than the stored ones stops there: two statements,
no write. Only the requests a page really changes are loaded whole (one
query for all of them, lines and platform deadline included) and merged,
in page order, so a request listed twice in a page is merged twice.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, selectinload

from aftersales import observe
from aftersales.errors import AfterSalesError, ValidationError
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import (
    Order,
    PlatformDeadline,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from aftersales.returns import action_claim
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext
from aftersales.returns.eligibility import Eligibility, EligibilityContext, evaluate
from aftersales.returns.lifecycle import path_between
from aftersales.returns.platform_deadlines import record_platform_deadline
from aftersales.returns.policy import BuyerStats
from aftersales.returns.requests import AutoStep, Requests
from aftersales.returns.sla import PlannedDeadline, plan_deadline
from aftersales.returns.sync_page import PageFacts
from aftersales.returns.writes import RequestFacts, TransitionWriter
from aftersales.store.cursors import get_cursor, set_cursor
from aftersales.store.driver import Driver
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.core import AuditRow, OrderRow
from aftersales.store.tables.returns import (
    PlatformDeadlineRow,
    ReturnDeadlineRow,
    ReturnLineRow,
    ReturnRow,
)
from aftersales.store.types import JSONType

__all__ = ["ReturnsSync"]

_LINES = cast(Table, ReturnLineRow.__table__)
_AUDIT = cast(Table, AuditRow.__table__)
_DEADLINES = cast(Table, ReturnDeadlineRow.__table__)
_REQUESTS = cast(Table, ReturnRow.__table__)
_PLATFORM = cast(Table, PlatformDeadlineRow.__table__)
#: Natural keys per IN list, well under every database's bound-parameter limit.
_CHUNK = 500


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


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


def _insert_many(db: Driver, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` with one executemany per set of columns (in the order first seen),
    straight to the driver: each value converted by its column type's own converter, as
    a Core ``insert`` would (no column given here has a Python-side default left unset)."""
    groups: dict[tuple[str, ...], builtins.list[dict[str, Any]]] = {}
    for values in rows:
        groups.setdefault(tuple(values), []).append(values)
    for names, group in groups.items():
        # Column by column: only the columns whose type converts are mapped.
        columns = list(zip(*(values.values() for values in group), strict=True))
        for i, name in enumerate(names):
            column = table.c[name]
            if db.converts(column):
                convert = db.converter(column)
                if isinstance(column.type, JSONType):
                    convert = _known_json(convert)
                columns[i] = tuple(map(convert, columns[i]))
        db.insert(table, names, list(zip(*columns, strict=True)))


def _known_json(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's converter that writes ``None`` and an empty list as the converter
    wrote them once (most evidence lists and risk verdicts of a page are empty)."""
    null, empty = convert(None), convert([])

    def process(value: Any) -> Any:
        if value is None:
            return null
        if type(value) is list and not value:
            return empty
        return convert(value)
    return process


def _deadline_values(rma_id: str, plan: PlannedDeadline | None) -> dict[str, Any]:
    """The first deadline row of a new request, as ``TransitionWriter.fill_deadline`` sets it."""
    return {"rma_id": rma_id, "name": plan.name if plan else None,
            "status": plan.status.value if plan else None,
            "action": plan.action.value if plan else None,
            "due_at": plan.due_at if plan else None, "alert_at": plan.alert_at if plan else None,
            "alerted_at": None, "lease_until": None, "last_error": None}


class _Opened(NamedTuple):
    """A request a page opens, as far as its first event and the policy read it (the row
    itself goes in by executemany: no ORM object is built for it)."""

    rma_id: str
    marketplace: str
    order_external_id: str
    external_id: str | None
    kind: str
    status: str
    version: int
    buyer_id: str | None


def _new_values(name: str, req: ReturnRequest, order: Order | None, order_row_id: int | None,
                verdict: Eligibility | None, now: datetime) -> dict[str, Any]:
    """The ``return_requests`` columns of a request new to the store, as the first flush of
    the row :meth:`ReturnsSync._new_row` builds would write them (a test compares)."""
    return {
        "rma_id": repo.new_rma_id(), "marketplace": name, "external_id": req.external_id,
        "order_id": order_row_id, "order_external_id": req.order_id,
        "buyer_id": order.buyer.external_id if order else None, "kind": req.kind.value,
        "status": req.status.value, "raw_status": req.raw_status,
        "currency": order.currency if order else None,
        "requested_amount": req.requested_amount.amount if req.requested_amount else None,
        "buyer_note": req.buyer_note, "evidence": list(req.evidence),
        "return_tracking_number": req.return_tracking_number,
        "return_carrier": req.return_carrier, "remote_updated_at": req.updated_at,
        "created_at": req.created_at or now, "updated_at": now,
        "eligibility": verdict.decision.value if verdict else None,
        "eligibility_reasons": verdict.reasons if verdict else None,
        "stage": req.stage.value if req.stage else None,
        "risk": req.risk.model_dump(mode="json") if req.risk else None,
        "version": 1,
    }


def _platform_values(rma_id: str, name: str, deadline: PlatformDeadline,
                     now: datetime) -> dict[str, Any]:
    """The platform deadline row of a new request, as ``record_platform_deadline`` adds it."""
    return {"rma_id": rma_id, "store": name, "status": deadline.status.value,
            "raw_status": deadline.raw_status, "due_at": deadline.due_at,
            "extendable": deadline.extendable, "extensions": deadline.extensions,
            "synced_at": now}


def _known(stats: BuyerStats | None) -> Callable[[], BuyerStats | None]:
    return lambda: stats


def _newer(req: ReturnRequest, stored: datetime | None) -> bool:
    """Whether the listed copy may change the stored one (not a replay or an older copy)."""
    return stored is None or req.updated_at is None or req.updated_at > stored


class ReturnsSync:
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
                changed += self.merge_page(session, name, page.items, later)
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
        wanted = sorted({r.order_id for r in requests if r.external_id})
        stored: set[str] = set()
        with self.ctx.runtime.unit_of_work() as session:
            for chunk in _chunks(wanted):
                stored.update(session.scalars(
                    select(OrderRow.external_id)
                    .where(OrderRow.marketplace == name, OrderRow.external_id.in_(chunk))))
        missing = [o for o in wanted if o not in stored]
        fetched = []
        for order_id in missing:
            try:
                fetched.append(market.get_order(order_id))
            except AfterSalesError:
                continue  # merged without its order, as before
        if fetched:
            with self.ctx.runtime.unit_of_work() as session:
                upsert_orders(session, fetched)

    def merge_page(self, session: Session, name: str, requests: Sequence[ReturnRequest],
                   later: builtins.list[AutoStep]) -> int:
        """Merge one page of requests in the caller's unit of work; how many changed.

        Raises:
            ValidationError: a request has no marketplace id (nothing is written).
        """
        for req in requests:
            if not req.external_id:
                raise ValidationError("a synced request needs its marketplace id",
                                      field="external_id", payload=f"{name} return")
        keys = list(dict.fromkeys(str(r.external_id) for r in requests))
        seen: dict[str, datetime | None] = {}
        for chunk in _chunks(keys):
            for ext, at in session.execute(
                select(ReturnRow.external_id, ReturnRow.remote_updated_at)
                .where(ReturnRow.marketplace == name, ReturnRow.external_id.in_(chunk))
            ):
                seen[str(ext)] = at
        # A stored request changes only if some copy in the page is newer than it.
        changing = {r.external_id for r in requests
                    if r.external_id not in seen or _newer(r, seen[r.external_id])}
        if not changing:
            return 0
        rows: dict[str, ReturnRow] = {}
        stale = [k for k in keys if k in changing and k in seen]
        for chunk in _chunks(stale):
            for row in session.scalars(
                select(ReturnRow).options(selectinload(ReturnRow.lines))
                .where(ReturnRow.marketplace == name, ReturnRow.external_id.in_(chunk))
            ):
                rows[str(row.external_id)] = row
        fresh = [r for r in requests if r.external_id not in seen]
        if not stale and len({r.external_id for r in fresh}) == len(fresh):
            facts = PageFacts(session, name, [r.order_id for r in fresh])
            if self._orders_known(name, facts, fresh):
                self._insert_page(session, name, fresh, facts, later)
                return len(fresh)
        changed = 0
        for req in requests:
            if req.external_id in changing:
                changed += self._merge(session, name, req, later, rows)
        return changed

    def _orders_known(self, name: str, facts: PageFacts,
                      fresh: Sequence[ReturnRequest]) -> bool:
        """Whether every new request's order is stored, or can only stay unknown
        (the store cannot be asked for it): then nothing would be fetched mid-page."""
        market = self.ctx.runtime.marketplaces.get(name)
        if market is None or Capability.GET_ORDER not in market.capabilities:
            return True
        return all(r.order_id in facts.orders for r in fresh)

    def _insert_page(self, session: Session, name: str, fresh: Sequence[ReturnRequest],
                     facts: PageFacts, later: builtins.list[AutoStep]) -> None:
        """Open a page of new requests set-based: what :meth:`_insert` does for each, in
        page order, judged from ``facts``, written in one executemany per table, events in
        one statement."""
        now = self.ctx.runtime.now()
        actor = f"marketplace:{name}"
        policy = self.ctx.policy
        lookback = policy.serial_returner.lookback_days
        rules = bool(policy.auto_approve)  # else Requests.auto_step reads no stats or lines
        opened: builtins.list[tuple[_Opened, ReturnRequest, Order | None, Eligibility | None,
                                    BuyerStats | None, builtins.list[ReturnLine] | None]] = []
        deadlines: builtins.list[dict[str, Any]] = []
        lines: builtins.list[dict[str, Any]] = []
        audits: builtins.list[dict[str, Any]] = []
        requests: builtins.list[dict[str, Any]] = []
        platform: builtins.list[dict[str, Any]] = []
        for req in fresh:
            order, order_row_id = facts.orders.get(req.order_id, (None, None))
            asked_at = req.created_at or now
            verdict = None
            if order is not None:
                # Judged as of when the buyer asked, not when the sync ran.
                verdict = evaluate(EligibilityContext(
                    order=order, lines=req.lines, kind=req.kind, policy=policy, now=asked_at,
                    buyer_stats=facts.buyer_stats(order.buyer.external_id, asked_at, lookback),
                    evidence=req.evidence, already_requested=facts.units_taken(req.order_id),
                ), self.ctx.validators)
            # The row's columns, not an ORM row: the page's rows go in one executemany.
            cols = _new_values(name, req, order, order_row_id, verdict, now)
            requests.append(cols)
            new = _Opened(cols["rma_id"], name, req.order_id, req.external_id,
                          cols["kind"], cols["status"], 1, cols["buyer_id"])
            if req.platform_deadline is not None:
                platform.append(_platform_values(new.rma_id, name, req.platform_deadline, now))
            values = repo.line_values(req.lines, order)
            lines.extend({"rma_id": new.rma_id, **v} for v in values)
            audits.append(repo.audit_values(new.rma_id, actor=actor, at=now, source=None,
                                            target=req.status, reason="request opened",
                                            data={"raw_status": req.raw_status}))
            deadlines.append(_deadline_values(new.rma_id,
                                              plan_deadline(req.kind, req.status, now, policy)))
            facts.opened(new.rma_id, req.order_id, new.buyer_id, req.status, req.lines,
                         asked_at)
            if not rules:  # nothing the policy would read: it approves nothing by itself
                opened.append((new, req, order, verdict, None, None))
                continue
            stats = facts.buyer_stats(new.buyer_id, now, lookback)  # as the policy reads it
            opened.append((new, req, order, verdict, stats,
                           [ReturnLine(order_line_id=v["order_line_external_id"], sku=v["sku"],
                                       quantity=v["quantity"], reason=ReturnReason(v["reason"]),
                                       reason_text=v["reason_text"],
                                       replacement_sku=v["replacement_sku"]) for v in values]))
        db = Driver(session)
        _insert_many(db, _REQUESTS, requests)  # first: the rest refers to them
        _insert_many(db, _PLATFORM, platform)
        _insert_many(db, _LINES, lines)
        _insert_many(db, _AUDIT, audits)
        _insert_many(db, _DEADLINES, deadlines)
        # Requests the page changes again (a dispute) are loaded as stored, in one query.
        stored = self._load(session, [new.rma_id for new, req, *_ in opened
                                      if req.dispute is not None])
        events: builtins.list[tuple[str, dict[str, Any], str]] = []
        disputed: builtins.list[tuple[int, ReturnRow, ReturnRequest]] = []
        for new, req, _, _, _, _ in opened:
            events.append(self.writer.event_of(f"return.{new.status}", new, actor=actor,
                                               extra={"from": None}))
            if req.dispute is not None:
                # As the per-request path: the dispute is merged onto the opened request
                # (its own change: the version moves to 2), its event names version 1.
                row = stored[new.rma_id]
                dispute = req.dispute.model_dump(mode="json")
                events.append(self.writer.event_of(
                    "return.dispute_changed", row, actor=actor,
                    extra={"dispute": dispute, "before": None},
                    key=f"return.dispute_changed:{row.rma_id}:{req.updated_at}"))
                if req.dispute.open and req.status is ReturnStatus.REJECTED:
                    disputed.append((len(events), row, req))  # names version 2: after flush
                row.dispute = dispute
        session.flush()
        for at, row, req in reversed(disputed):
            events.insert(at, self.writer.event_of(
                "return.disputed", row, actor=actor, extra={"dispute": row.dispute},
                key=f"return.disputed:{row.rma_id}:{req.updated_at}"))
        self.ctx.runtime.events.emit_many(session, events)
        steps: builtins.list[tuple[str, AutoStep | None]] = []
        for new, _, order, verdict, stats, stored_lines in opened:
            seen_as: RequestFacts = stored.get(new.rma_id, new)
            if order is None or verdict is None \
                    or seen_as.status != ReturnStatus.REQUESTED.value:
                continue
            try:
                steps.append((new.rma_id, self.requests.auto_step(
                    session, seen_as, order, verdict, now, stats=_known(stats),
                    lines=stored_lines)))
            except AfterSalesError:
                continue
        # Only a request with a decision to carry out is needed as a stored row.
        stored.update(self._load(session, [rma for rma, step in steps
                                           if step is not None and rma not in stored]))
        for rma, step in steps:
            if step is not None:
                self.requests.apply_step(session, stored[rma], step, now, later=later)

    @staticmethod
    def _load(session: Session, rma_ids: Sequence[str]) -> dict[str, ReturnRow]:
        """The stored rows of ``rma_ids`` (just inserted in this unit of work)."""
        out: dict[str, ReturnRow] = {}
        for chunk in _chunks(rma_ids):
            for row in session.scalars(select(ReturnRow).where(ReturnRow.rma_id.in_(chunk))):
                out[row.rma_id] = row
        return out

    def _merge(self, session: Session, name: str, req: ReturnRequest,
               later: builtins.list[AutoStep], rows: dict[str, ReturnRow]) -> bool:
        row = rows.get(str(req.external_id))
        if row is None:
            rows[str(req.external_id)] = self._insert(session, name, req, later)
            return True
        if not _newer(req, row.remote_updated_at):
            return False  # a replay, or an older copy
        return self._update(session, name, row, req)

    def _insert(self, session: Session, name: str, req: ReturnRequest,
                later: builtins.list[AutoStep]) -> ReturnRow:
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
        row = self._new_row(name, req, order, order_row_id, verdict, now)
        session.add(row)
        self.writer.opened(session, row, actor=f"marketplace:{name}", now=now,
                     data={"raw_status": req.raw_status})
        self._merge_dispute(session, row, req, f"marketplace:{name}")
        if order is not None and verdict is not None:
            self.requests.auto_decide(session, row, order, verdict, now, later=later)
        return row

    @staticmethod
    def _new_row(name: str, req: ReturnRequest, order: Order | None, order_row_id: int | None,
                 verdict: Eligibility | None, now: datetime, *, lines: bool = True) -> ReturnRow:
        """The row of a request new to the store, platform deadline (and lines) included."""
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
        if lines:
            repo.fill_lines(row, req.lines, order)
        record_platform_deadline(row, req.platform_deadline, now=now)
        return row

    def _merge_dispute(self, session: Session, row: ReturnRow, req: ReturnRequest,
                       actor: str) -> bool:
        """Keep the platform's dispute as reported; a new or changed one emits
        ``return.dispute_changed`` (the cases area opens or updates its
        platform-dispute case from it). A dispute that opens on a request the
        shop rejected (stored or now reported as rejected) also emits
        ``return.disputed``: the buyer took the rejection to the platform."""
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
        # the marketplace's newer word says what became of an action whose answer was lost
        action_claim.settle_synced(session, row.rma_id, now)
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
