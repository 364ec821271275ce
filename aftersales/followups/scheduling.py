"""Putting follow-ups on the calendar, and hearing back from buyers.

Scheduling computes the due time on the buyer's wall clock (or the shop's):
the plan's delay after the anchor (the delivery, the return's closing),
no earlier than a review window opens, then moved out of quiet hours. The
deadline (``not_after``) is the end of the review window or the plan's
``expires_after``, whichever is first. Every schedule is idempotent on its
key: an event delivered twice schedules one follow-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.errors import (
    InvalidTransitionError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from aftersales.followups.inputs import check_ids, check_row_id, check_text, checked_context
from aftersales.followups.plans import FollowUpPlan
from aftersales.followups.quiet_hours import next_allowed, resolve_zone, shift_local
from aftersales.followups.repository import begin_write
from aftersales.models import FollowUp, FollowUpStatus
from aftersales.store.driver import Driver
from aftersales.store.orders import get_order_row
from aftersales.store.tables.followups import FollowUpRow
from aftersales.times import aware

if TYPE_CHECKING:
    from aftersales.events import Event
    from aftersales.runtime import Runtime

__all__ = ["Scheduling", "to_model"]

_OPEN = (FollowUpStatus.SCHEDULED.value, FollowUpStatus.CLAIMED.value)
_SCHEDULED = FollowUpStatus.SCHEDULED.value
#: The columns schedule_many writes per follow-up, and those a chunk shares.
_COLUMNS = ("buyer_id", "marketplace", "order_external_id", "rma_id", "due_at", "not_after",
            "status", "idempotency_key", "context", "last_error")
_SHARED = ("plan", "kind", "channel", "attempts", "version", "created_at", "updated_at")
_KEY = _COLUMNS.index("idempotency_key")
#: The longest text an event field keeps in a triggered follow-up's context.
_EVENT_TEXT = 1000


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


class Scheduling:
    """Scheduling and outcomes, a part of :class:`FollowUpsService` (which owns the plans).

    Args:
        runtime: the app's runtime.
        plans: the service's registered plans by name (shared, not copied).
        plan: the service's lookup of a plan by name.
        register: the service's registration of a plan.
    """

    def __init__(self, runtime: Runtime, plans: dict[str, FollowUpPlan],
                 plan: Callable[[str], FollowUpPlan], register: Callable[..., None]) -> None:
        self.runtime = runtime
        self.plans = plans
        self.plan = plan
        self.register = register
        self._zones: dict[str, Any] = {}

    # ------------------------------------------------------------ context

    def buyer_for(self, payload: dict[str, Any]) -> str | None:
        """The buyer an event is about: its ``buyer_id``, or its order's buyer.

        Raises:
            ValidationError: the order id or store cannot be one (named).
        """
        if payload.get("buyer_id"):
            return str(payload["buyer_id"])
        market, order_id = payload.get("marketplace"), payload.get("order_id")
        if market and order_id:
            # refused by name (the caller skips the event) rather than failing the query
            check_ids(marketplace=str(market), order_id=str(order_id))
            with self.runtime.unit_of_work() as session:
                row = get_order_row(session, str(market), str(order_id))
                return row.buyer_id if row else None
        return None

    def _order_context(self, marketplace: str | None, order_id: str | None) -> dict[str, Any]:
        if not (marketplace and order_id):
            return {}
        with self.runtime.unit_of_work() as session:
            row = get_order_row(session, marketplace, order_id)
            if row is None:
                return {}
            return {
                "buyer": dict(row.buyer or {}),
                "order": {
                    "id": row.external_id, "marketplace": row.marketplace,
                    "total": str(row.total), "currency": row.currency,
                    "placed_at": row.placed_at.isoformat(),
                    "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
                    "buyer_id": row.buyer_id,
                },
            }

    # ------------------------------------------------------------ scheduling

    def schedule(
        self,
        plan: FollowUpPlan | str,
        *,
        buyer_id: str,
        order_id: str | None = None,
        marketplace: str | None = None,
        rma_id: str | None = None,
        at: datetime | None = None,
        due_at: datetime | None = None,
        context: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> FollowUp:
        """Schedule one follow-up of ``plan`` for a buyer (a caller's own follow-up).

        Args:
            plan: a registered plan's name, or a plan (registered on the way).
            buyer_id: whom to contact.
            order_id, marketplace: the order it is about; its buyer and order
                fields become template fields.
            rma_id: the return it is about, if any.
            at: the anchor the plan's delay counts from (the delivery);
                defaults to now.
            due_at: an exact due time instead of anchor plus delay (still
                moved out of quiet hours).
            context: more template fields (merged over the order's).
            key: the idempotency key; the same key schedules once. Defaults
                to plan + order (or + return), else a fresh one.

        Returns:
            The follow-up, ``skipped`` when its window closes before any
            allowed moment.

        Raises:
            NotFoundError: ``plan`` names no registered plan.
            ValidationError: a naive datetime, a bad time zone, a blank or
                over-long id, or a context JSON cannot hold (see
                :mod:`~aftersales.followups.inputs`); nothing is written.
        """
        if isinstance(plan, FollowUpPlan):
            if self.plans.get(plan.name) != plan:
                self.register(plan)
        else:
            plan = self.plan(plan)
        aware(at, "at")
        aware(due_at, "due_at")
        check_ids(buyer_id=buyer_id, order_id=order_id, marketplace=marketplace, rma_id=rma_id)
        given = checked_context(context)
        if key is not None:
            check_ids(key=key)
        ctx = self._order_context(marketplace, order_id)
        for name, value in given.items():
            if isinstance(value, dict) and isinstance(ctx.get(name), dict):
                ctx[name] = {**ctx[name], **value}
            else:
                ctx[name] = value
        due, not_after, status, error = self._timing(plan, ctx, at, due_at, marketplace)
        key = key or (f"{plan.name}:{marketplace}:{order_id}" if order_id
                      else f"{plan.name}:rma:{rma_id}" if rma_id
                      else f"{plan.name}:{uuid.uuid4().hex}")
        check_ids(key=key)
        try:
            return self._insert_one(plan, key, buyer_id, marketplace, order_id, rma_id, due,
                                    not_after, status, ctx, error)
        except StorageError:
            # Another caller inserted the same key between our check and our write.
            with self.runtime.unit_of_work() as session:
                existing = session.scalar(select(FollowUpRow).where(
                    FollowUpRow.idempotency_key == key))
                if existing is None:
                    raise
                return to_model(existing)

    def _insert_one(
        self, plan: FollowUpPlan, key: str, buyer_id: str, marketplace: str | None,
        order_id: str | None, rma_id: str | None, due: datetime, not_after: datetime | None,
        status: str, ctx: dict[str, Any], error: str | None,
    ) -> FollowUp:
        with self.runtime.unit_of_work() as session:
            begin_write(session)
            existing = session.scalar(select(FollowUpRow).where(
                FollowUpRow.idempotency_key == key))
            if existing is not None:
                return to_model(existing)
            row = FollowUpRow(
                plan=plan.name, kind=plan.kind.value, channel=plan.channel, buyer_id=buyer_id,
                marketplace=marketplace, order_external_id=order_id, rma_id=rma_id,
                due_at=due, not_after=not_after, status=status, attempts=0,
                idempotency_key=key, context=ctx, last_error=error,
                created_at=self.runtime.now(), updated_at=self.runtime.now(),
            )
            session.add(row)
            session.flush()
            return to_model(row)

    def _timing(
        self, plan: FollowUpPlan, ctx: dict[str, Any], at: datetime | None,
        due_at: datetime | None, marketplace: str | None, now: datetime | None = None,
    ) -> tuple[datetime, datetime | None, str, str | None]:
        """(due_at, not_after, status, reason) of a new follow-up; see the module docstring.

        ``now``: the clock's reading, when the caller already took it (a chunk shares one).
        """
        found = ctx.get("buyer")
        buyer: dict[str, Any] = found if isinstance(found, dict) else {}
        raw_zone = buyer.get("timezone") if plan.zone_preference == "buyer" else None
        zone: Any = self.runtime.timezone
        if raw_zone:
            name = str(raw_zone)
            if name not in self._zones:
                try:
                    self._zones[name] = resolve_zone(name, None)
                except ValidationError:  # an unknown zone on record: use the shop's
                    self._zones[name] = self.runtime.timezone
            zone = self._zones[name]
        now = now or self.runtime.now()
        anchor = at or now
        due = due_at or shift_local(anchor, plan.delay, zone)
        not_after: datetime | None = None
        window = plan.window_for(marketplace)
        if window is not None:
            first, last = window.bounds(anchor, zone)
            due, not_after = max(due, first), last
        if plan.expires_after is not None:
            limit = due + plan.expires_after
            not_after = min(not_after, limit) if not_after else limit
        due = next_allowed(due, plan.quiet_hours, zone)
        if not_after is not None and max(due, now) > not_after:
            return due, not_after, FollowUpStatus.SKIPPED.value, (
                "no allowed moment inside its window")
        return due, not_after, _SCHEDULED, None

    def schedule_many(self, plan: FollowUpPlan | str, items: Iterable[Mapping[str, Any]], *,
                      chunk: int = 5000) -> int:
        """Schedule many follow-ups of one plan in bulk; returns how many were new.

        Each item holds ``buyer_id`` and optionally ``order_id``,
        ``marketplace``, ``rma_id``, ``at``, ``due_at``, ``context`` and
        ``key`` (as for :meth:`schedule`; the key defaults to plan + order,
        which then must be given). Timing rules are the same as
        :meth:`schedule`'s, but the order is not looked up: put the template
        fields in ``context``. Rows are written ``chunk`` at a time, and a key
        already scheduled is left as it is, so a re-run schedules nothing twice.

        Raises:
            ValidationError: an item lacks ``buyer_id`` or a key, or holds
                what :meth:`schedule` refuses; the error names its 1-based
                row. Nothing of that item's chunk is written; earlier chunks
                are, and re-running the fixed input schedules none of them twice.
        """
        if isinstance(plan, FollowUpPlan):
            if self.plans.get(plan.name) != plan:
                self.register(plan)
        else:
            plan = self.plan(plan)
        created = 0
        batch: list[tuple[Any, ...]] = []
        now = self.runtime.now()  # one reading per chunk, as one transaction writes it
        for n, item in enumerate(items, start=1):
            order_id, market = item.get("order_id"), item.get("marketplace")
            key = item.get("key") or (f"{plan.name}:{market}:{order_id}" if order_id else None)
            if item.get("buyer_id") is None or not key:
                raise ValidationError("each item needs buyer_id and a key or order_id",
                                      field="buyer_id" if item.get("buyer_id") is None else "key",
                                      row=n)
            check_ids(row=n, buyer_id=item["buyer_id"], order_id=order_id, marketplace=market,
                      rma_id=item.get("rma_id"), key=key)
            ctx = checked_context(item.get("context"), row=n)
            due, not_after, status, error = self._timing(plan, ctx, item.get("at"),
                                                         item.get("due_at"), market, now)
            # In the order of _COLUMNS.
            batch.append((str(item["buyer_id"]), market, order_id, item.get("rma_id"), due,
                          not_after, status, key, ctx, error))
            if len(batch) >= chunk:
                created += self._insert_new(plan, batch, now)
                batch = []
                now = self.runtime.now()
        if batch:
            created += self._insert_new(plan, batch, now)
        return created

    def _insert_new(self, plan: FollowUpPlan, rows: list[tuple[Any, ...]],
                    now: datetime) -> int:
        """Write a chunk's new follow-ups: one read of its keys, one ``executemany``.

        A key already stored, or earlier in the chunk, is left as it is (the
        insert also skips a key a racing writer stored meanwhile).
        """
        with self.runtime.unit_of_work() as session:
            db = Driver(session)
            table = FollowUpRow.__table__
            keys = list(dict.fromkeys(r[_KEY] for r in rows))
            known = {r[0] for r in db.select_in(table, ("idempotency_key",), "idempotency_key",
                                                keys)}
            fresh: dict[str, tuple[Any, ...]] = {}
            for r in rows:
                if r[_KEY] not in known and r[_KEY] not in fresh:
                    fresh[r[_KEY]] = r
            if not fresh:
                return 0
            when = db.converter(table.c.due_at)
            ctx_js = db.converter(table.c.context)
            empty = ctx_js({})
            stamp = when(now)
            shared = (plan.name, plan.kind.value, plan.channel, 0, 1, stamp, stamp)
            names = ", ".join(db.quote(c) for c in (*_SHARED, *_COLUMNS))
            marks = ", ".join([db.mark] * (len(_SHARED) + len(_COLUMNS)))
            db.conn.exec_driver_sql(
                f"INSERT INTO {db.table_name(table)} ({names}) VALUES ({marks}) "  # noqa: S608
                "ON CONFLICT (idempotency_key) DO NOTHING",
                [(*shared, buyer, market, order, rma, when(due), when(not_after), status, key,
                  ctx_js(ctx) if ctx else empty, error)
                 for buyer, market, order, rma, due, not_after, status, key, ctx, error
                 in fresh.values()])
            return len(fresh)

    def schedule_for_event(self, plan: FollowUpPlan, event: Event) -> FollowUp | None:
        """Schedule ``plan`` for the buyer an event is about (the trigger hook)."""
        p = event.payload
        buyer = self.buyer_for(p)
        if buyer is None:
            return None
        anchor = (_parse_time(p.get("delivered_at")) or _parse_time(p.get("closed_at"))
                  or _parse_time(p.get("at")) or self.runtime.now())
        # The event's plain fields, a long text (a review's) cut so the
        # context stays well inside its size bound.
        extra = {k: v[:_EVENT_TEXT] if isinstance(v, str) else v for k, v in p.items()
                 if isinstance(v, (str, int, float, bool))}
        return self.schedule(
            plan, buyer_id=buyer, order_id=_id_text(p.get("order_id")),
            marketplace=_id_text(p.get("marketplace")), rma_id=_id_text(p.get("rma_id")),
            at=anchor, context={"event": extra},
            key=f"{plan.name}:{event.key}",
        )

    def cancel(self, follow_up_id: int, reason: str = "cancelled by caller") -> FollowUp:
        """Cancel a follow-up that has not gone out yet.

        Raises:
            NotFoundError: no such follow-up.
            InvalidTransitionError: it was already sent, failed or settled.
            ValidationError: a bad id or reason (named).
        """
        follow_up_id = check_row_id(follow_up_id)
        check_text(reason, "reason")
        with self.runtime.unit_of_work() as session:
            row = session.get(FollowUpRow, follow_up_id)
            if row is None:
                raise NotFoundError("follow-up", follow_up_id)
            if row.status not in _OPEN:
                raise InvalidTransitionError("follow-up", row.status, "cancelled")
            row.status = FollowUpStatus.CANCELLED.value
            row.last_error = reason[:500]
            row.lease_owner = row.lease_until = None
            return to_model(row)

    # ------------------------------------------------------------ outcomes

    def record_outcome(self, follow_up_id: int, *, csat: int | None = None,
                       nps: int | None = None, comment: str | None = None) -> FollowUp:
        """Record the buyer's answer to a sent follow-up.

        A CSAT at or below the plan's ``low_csat``, or an NPS at or below
        its ``low_nps``, emits ``followup.low_score`` (an alert a backend can
        hook) and schedules the plan's ``low_score_plan`` when it has one.
        The answer commits first and the low-score follow-up is scheduled
        after; recording the same answer again changes nothing but schedules
        that follow-up if it is missing (keyed, so once), so a caller who
        retries after a failure between the two loses no call-back.

        Raises:
            ValidationError: no score, a score that is not a whole number in
                range (CSAT 1–5, NPS 0–10), or a comment that is not text
                (NUL, lone surrogates); nothing is written then.
            NotFoundError: no such follow-up.
            InvalidTransitionError: the follow-up was never sent.
        """
        follow_up_id = check_row_id(follow_up_id)
        if csat is None and nps is None:
            raise ValidationError("give csat (1-5) or nps (0-10)", field="csat")
        for name, value, low_end, high_end in (("csat", csat, 1, 5), ("nps", nps, 0, 10)):
            if value is not None and (type(value) is not int or not low_end <= value <= high_end):
                raise ValidationError(f"{name.upper()} is a whole number from {low_end} to "
                                      f"{high_end}", field=name)
        if comment is not None:
            check_text(comment, "comment")
        now = self.runtime.now()
        with self.runtime.unit_of_work() as session:
            row = session.get(FollowUpRow, follow_up_id)
            if row is None:
                raise NotFoundError("follow-up", follow_up_id)
            if row.status not in (FollowUpStatus.SENT.value, FollowUpStatus.RESPONDED.value):
                raise InvalidTransitionError("follow-up", row.status, "responded",
                                             "only a sent follow-up can be answered")
            plan = self.plans.get(row.plan)
            low = plan is not None and (
                (csat is not None and csat <= plan.low_csat)
                or (nps is not None and nps <= plan.low_nps))
            buyer, order, market = row.buyer_id, row.order_external_id, row.marketplace
            model = to_model(row)
            repeated = (row.status == FollowUpStatus.RESPONDED.value
                        and (row.csat, row.nps, row.comment) == (csat, nps, comment))
            if not repeated:
                model = self._respond(session, row, now, csat, nps, comment, low)
        if low and plan is not None and plan.low_score_plan:
            # Keyed: a repeated answer finds it scheduled, or schedules what
            # a failure after the answer's commit left out.
            self.schedule(plan.low_score_plan, buyer_id=buyer, order_id=order,
                          marketplace=market, key=f"{plan.low_score_plan}:low:{follow_up_id}",
                          context={"outcome": {"csat": csat, "nps": nps,
                                               "comment": comment or ""}})
        return model

    def _respond(self, session: Session, row: FollowUpRow, now: datetime, csat: int | None,
                 nps: int | None, comment: str | None, low: bool) -> FollowUp:
        """Store the answer on ``row`` and emit its events, in the caller's transaction."""
        row.status = FollowUpStatus.RESPONDED.value
        row.responded_at = now
        row.csat, row.nps, row.comment = csat, nps, comment
        payload = {"follow_up_id": row.id, "plan": row.plan, "buyer_id": row.buyer_id,
                   "order_id": row.order_external_id, "marketplace": row.marketplace,
                   "csat": csat, "nps": nps}
        self.runtime.events.emit(session, "followup.responded", payload,
                                 key=f"followup.responded:{row.id}:{row.version}")
        if low:
            self.runtime.events.emit(session, "followup.low_score", payload,
                                     key=f"followup.low_score:{row.id}")
        return to_model(row)


def _id_text(value: Any) -> Any:
    """An id from an event payload as text: JSON payloads carry order numbers as numbers too."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def to_model(row: FollowUpRow) -> FollowUp:
    """The stored row as the core's :class:`~aftersales.models.FollowUp`."""
    return FollowUp(
        id=row.id, plan=row.plan, channel=row.channel, due_at=row.due_at,
        status=FollowUpStatus(row.status), buyer_id=row.buyer_id,
        order_id=row.order_external_id, rma_id=row.rma_id, attempts=row.attempts,
        last_error=row.last_error, context=dict(row.context or {}),
        marketplace=row.marketplace,
    )
