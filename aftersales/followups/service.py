"""FollowUpsService: scheduled follow-up visits (reached as ``app.followups``).

::

    app.followups.register(FollowUpPlan(name="satisfaction", trigger="order.delivered",
                                        delay="3d", channel="outbox", body="Hi {buyer.name}"))
    app.sync()                                   # order.delivered events schedule follow-ups
    app.followups.dispatch_due()                 # the worker's tick: send what is due
    app.followups.record_outcome(fid, csat=2, comment="box was crushed")
    app.followups.metrics()

Plans come from Python, from TOML (``register("plans.toml")``) or from the
app's ``plans=`` option. A plan with a ``trigger`` is scheduled by the
app's event bus. The service also owns the **one contact policy** every
area consults before writing to a buyer (:meth:`check_contact`,
:meth:`record_contact`) and the holds and opt-outs behind it.
"""

from __future__ import annotations

import builtins
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales import observe
from aftersales.errors import NotFoundError, ValidationError
from aftersales.events import Event, skipping_invalid
from aftersales.followups import repository as repo
from aftersales.followups.contact_policy import (
    ContactPolicy,
    Decision,
    HoldKind,
    MessageKind,
    Verdict,
)
from aftersales.followups.dispatch import Dispatcher, DispatchReport
from aftersales.followups.inputs import check_ids, check_limit, check_row_id, check_text, choice
from aftersales.followups.metrics import PlanMetrics, plan_metrics
from aftersales.followups.plans import FollowUpPlan, load_plans
from aftersales.followups.scheduling import Scheduling, to_model
from aftersales.models import FollowUp, FollowUpStatus
from aftersales.store.tables.followups import ContactHoldRow, ContactLogRow, FollowUpRow, OptOutRow
from aftersales.times import aware

if TYPE_CHECKING:
    from aftersales.interfaces import Channel
    from aftersales.runtime import Runtime

__all__ = ["HOLD_EVENTS", "FollowUpsService"]

log = logging.getLogger("aftersales.followups")

#: Events that open (True) or resolve (False) a hold on the buyer's contact.
HOLD_EVENTS: dict[str, tuple[HoldKind, bool]] = {
    "return.requested": (HoldKind.RETURN, True),
    "return.opened": (HoldKind.RETURN, True),
    "return.closed": (HoldKind.RETURN, False),
    "return.cancelled": (HoldKind.RETURN, False),
    "return.rejected": (HoldKind.RETURN, False),  # a revision emits return.requested again
    "complaint.opened": (HoldKind.COMPLAINT, True),
    "complaint.resolved": (HoldKind.COMPLAINT, False),
    "review.negative": (HoldKind.NEGATIVE_REVIEW, True),
    "review.resolved": (HoldKind.NEGATIVE_REVIEW, False),
}


#: The widths of the contact log's label columns (and a plan's name).
_LABEL_WIDTHS = {"store": 80, "channel": 40, "source": 80, "plan": 80}


def _labels(**values: str | None) -> None:
    """Refuse a store, channel, source or plan name no store can hold, by name.

    Raises:
        ValidationError: not text, a NUL or lone surrogate, or wider than its column.
    """
    for name, value in values.items():
        if value is None or value == "":
            continue
        check_text(value, name)
        if len(value) > _LABEL_WIDTHS[name]:
            raise ValidationError(f"longer than {_LABEL_WIDTHS[name]} characters", field=name)


class FollowUpsService:
    """Plans, scheduling, dispatch, outcomes and the contact policy.

    Settings read (section ``followups``): ``plans`` (a TOML path, TOML
    text, a mapping, or plans), ``contact_policy`` (a :class:`ContactPolicy`),
    ``lease`` (seconds a claim lasts, default 300) and ``batch`` (rows
    claimed per round, default 100).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.policy: ContactPolicy = runtime.settings.followups.contact_policy or ContactPolicy()
        self.plans: dict[str, FollowUpPlan] = {}
        self.lease = timedelta(seconds=runtime.settings.followups.lease)
        self.batch = runtime.settings.followups.batch
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._triggers: set[str] = set()
        self._market_channels: dict[str, Channel] = {}
        scheduling = Scheduling(runtime, self.plans, self.plan, self.register)
        self.buyer_for = scheduling.buyer_for
        self.schedule = scheduling.schedule
        self.schedule_many = scheduling.schedule_many
        self.schedule_for_event = scheduling.schedule_for_event
        self.cancel = scheduling.cancel
        self.record_outcome = scheduling.record_outcome
        for name in HOLD_EVENTS:
            runtime.on(name, self._on_hold_event)
        configured = runtime.settings.followups.plans
        if configured:
            self.register(configured)

    # ------------------------------------------------------------ plans

    def register(self, *plans: FollowUpPlan | str | Path | Mapping[str, Any]) -> None:
        """Add plans: instances, a TOML file path, TOML text or a parsed mapping.

        A plan with a ``trigger`` is scheduled from then on whenever the app
        emits that event. Registering a plan again under the same name
        replaces it.

        Raises:
            ValidationError: a plan is invalid (nothing is registered then).
        """
        found: list[FollowUpPlan] = []
        for item in plans:
            if isinstance(item, FollowUpPlan):
                found.append(item)
            elif isinstance(item, Path) or (isinstance(item, str) and "\n" not in item
                                             and item.endswith(".toml")):
                found.extend(load_plans(Path(item)).values())
            elif isinstance(item, (str, Mapping)):
                found.extend(load_plans(item).values())
            elif isinstance(item, Iterable):
                self.register(*item)
            else:
                raise ValidationError(f"not a plan: {type(item).__name__}", field="plans")
        for plan in found:
            self.plans[plan.name] = plan
            if plan.trigger and plan.trigger not in self._triggers:
                self._triggers.add(plan.trigger)
                self.runtime.on(plan.trigger, self._on_trigger)

    def plan(self, name: str) -> FollowUpPlan:
        """The registered plan called ``name``.

        Raises:
            NotFoundError: no such plan is registered.
        """
        try:
            return self.plans[name]
        except KeyError:
            raise NotFoundError("follow-up plan", name) from None

    def _on_trigger(self, event: Event) -> None:
        for plan in list(self.plans.values()):
            if plan.trigger == event.name:
                with skipping_invalid(log, f"follow-up {plan.name!r} for", event):
                    self.schedule_for_event(plan, event)

    # ------------------------------------------------------------ contact policy

    def _on_hold_event(self, event: Event) -> None:
        """Open or resolve the hold an event names; a value the table cannot hold
        (a 300-character buyer id) skips this event on one warning line."""
        with skipping_invalid(log, "contact hold for", event):
            kind, opens = HOLD_EVENTS[event.name]
            buyer = self.buyer_for(event.payload)
            if buyer is None:
                return
            p = event.payload
            field = {HoldKind.RETURN: "rma_id", HoldKind.NEGATIVE_REVIEW: "review_id",
                     HoldKind.COMPLAINT: "complaint_id"}[kind]
            ref = str(p.get(field) or p.get("external_id") or p.get("order_id") or event.key)
            if opens:
                self.hold(buyer, kind, ref)
            else:
                self.resolve_hold(buyer, kind, ref)

    def hold(self, buyer_id: str, kind: HoldKind | str, ref: str, *,
             at: datetime | None = None) -> None:
        """Open a hold (a return, complaint or negative review) on the buyer's contact.

        Opening an open hold changes nothing; opening a resolved one reopens it.
        ``kind`` may be given by its name (``"return"``).

        Raises:
            ValidationError: a blank buyer or ref, an unknown kind, a naive ``at``.
        """
        check_ids(buyer_id=buyer_id, ref=ref)
        kind = choice(HoldKind, kind, "kind")
        at = aware(at, "at") or self.runtime.now()
        with self.runtime.unit_of_work() as session:
            repo.begin_write(session)
            existing = session.scalar(select(ContactHoldRow).where(
                ContactHoldRow.buyer_id == buyer_id, ContactHoldRow.kind == kind.value,
                ContactHoldRow.ref == ref))
            if existing is None:
                session.add(ContactHoldRow(buyer_id=buyer_id, kind=kind.value, ref=ref,
                                           opened_at=at))
            elif existing.resolved_at is not None:
                existing.resolved_at = None
                existing.opened_at = at

    def resolve_hold(
        self, buyer_id: str, kind: HoldKind | str, ref: str | None = None, *,
        at: datetime | None = None,
    ) -> int:
        """Resolve the buyer's open holds of ``kind`` (only ``ref``'s when given).

        Raises:
            ValidationError: a blank or over-long buyer or ref, an unknown
                kind, a naive ``at``.
        """
        check_ids(buyer_id=buyer_id, ref=ref)
        kind = choice(HoldKind, kind, "kind")
        at = aware(at, "at") or self.runtime.now()
        with self.runtime.unit_of_work() as session:
            query = select(ContactHoldRow).where(
                ContactHoldRow.buyer_id == buyer_id, ContactHoldRow.kind == kind.value,
                ContactHoldRow.resolved_at.is_(None))
            if ref is not None:
                query = query.where(ContactHoldRow.ref == ref)
            rows = list(session.scalars(query))
            for row in rows:
                row.resolved_at = at
            return len(rows)

    def opt_out(self, buyer_id: str, scope: MessageKind | str = "*", *,
                note: str | None = None) -> None:
        """Record that the buyer wants no messages (``*``) or none of one kind."""
        check_ids(buyer_id=buyer_id)
        if note is not None:
            check_text(note, "note")
        scope = choice(MessageKind, scope, "scope").value if scope != "*" else "*"
        with self.runtime.unit_of_work() as session:
            repo.begin_write(session)
            found = session.scalar(select(OptOutRow).where(
                OptOutRow.buyer_id == buyer_id, OptOutRow.scope == scope))
            if found is None:
                session.add(OptOutRow(buyer_id=buyer_id, scope=scope, note=note,
                                      created_at=self.runtime.now()))

    def opt_in(self, buyer_id: str, scope: MessageKind | str = "*") -> None:
        """Withdraw an opt-out."""
        check_ids(buyer_id=buyer_id)
        scope = choice(MessageKind, scope, "scope").value if scope != "*" else "*"
        with self.runtime.unit_of_work() as session:
            for row in session.scalars(select(OptOutRow).where(
                    OptOutRow.buyer_id == buyer_id, OptOutRow.scope == scope)):
                session.delete(row)

    def _decide(self, session: Session, buyer_id: str, kind: MessageKind,
                now: datetime, store: str | None = None) -> Decision:
        return self.policy.decide(
            kind, now=now,
            history=repo.contact_history(session, buyer_id, now - self.policy.lookback, store),
            open_holds=repo.open_holds(session, buyer_id),
            opted_out=repo.opted_out(session, buyer_id, kind),
        )

    def check_contact(self, buyer_id: str, kind: MessageKind | str, *,
                      now: datetime | None = None, store: str | None = None) -> Decision:
        """What the contact policy says about messaging ``buyer_id`` now.

        Other areas (return updates, review replies by message) call this
        before they write to a buyer, then :meth:`record_contact` after.
        Caps count per store: with ``store``, only that store's contacts
        (and those recorded for no store) count; without, all of them.
        """
        check_ids(buyer_id=buyer_id)
        _labels(store=store)
        kind = choice(MessageKind, kind, "kind")
        now = aware(now, "now") or self.runtime.now()
        with self.runtime.unit_of_work() as session:
            return self._decide(session, buyer_id, kind, now, store)

    def record_contact(self, buyer_id: str, kind: MessageKind | str, *, key: str, channel: str = "",
                       source: str = "", at: datetime | None = None,
                       store: str | None = None) -> Decision:
        """Check the policy and, when it allows, log the contact, atomically per buyer.

        Returns the decision; the contact is logged only when it is ``SEND``.
        A repeated ``key`` is logged once. ``store``: the store the message
        is for (its caps); a contact recorded without one counts for every store.
        """
        check_ids(buyer_id=buyer_id, key=key)
        _labels(store=store, channel=channel, source=source)
        kind = choice(MessageKind, kind, "kind")
        now = aware(at, "at") or self.runtime.now()
        with self.runtime.unit_of_work() as session:
            repo.lock_buyer(session, buyer_id)
            if session.scalar(select(ContactLogRow.id).where(ContactLogRow.key == key)):
                return Decision(Verdict.SEND, "already recorded")
            decision = self._decide(session, buyer_id, kind, now, store)
            if decision.allowed:
                session.add(ContactLogRow(key=key, buyer_id=buyer_id, store=store, sent_at=now,
                                          kind=kind.value, channel=channel, source=source))
            return decision

    def forget_contact(self, key: str) -> None:
        """Withdraw the contact recorded under ``key``: its message was never sent.

        For an area that recorded a contact (:meth:`record_contact`), then
        had its channel refuse the message outright: a contact the buyer
        never got must not count against the caps. A failure that may have
        sent it (a lost answer) keeps the contact.

        Raises:
            ValidationError: a blank or over-long key.
        """
        check_ids(key=key)
        with self.runtime.unit_of_work() as session:
            repo.forget_contact(session, key)

    # ------------------------------------------------------------ dispatch

    def _channel_for(self, plan: FollowUpPlan, row: FollowUpRow) -> Channel:
        if plan.channel != "marketplace":
            return self.runtime.channel(plan.channel)
        from aftersales.channels.marketplace import MarketplaceChannel

        name = row.marketplace or ""
        if name not in self._market_channels:
            self._market_channels[name] = MarketplaceChannel(self.runtime.marketplace(name))
        return self._market_channels[name]

    def dispatcher(self) -> Dispatcher:
        """The object that sends claimed rows for this worker."""
        return Dispatcher(self.runtime.unit_of_work, owner=self.owner, plans=self.plans,
                          policy=self.policy, channel_for=self._channel_for,
                          shop_zone=self.runtime.timezone, lease=self.lease,
                          clock=self.runtime.now)

    def request_stop(self) -> None:
        """Ask a running :meth:`dispatch_due` to finish the row in hand and return."""
        self._stop.set()

    @observe.traced("followups", "dispatch")
    def dispatch_due(self, now: datetime | None = None, limit: int = 1000, *,
                     progress: Callable[[int], None] | None = None) -> DispatchReport:
        """Send up to ``limit`` follow-ups that are due at ``now``.

        Rows are claimed in batches under a lease (``SELECT … FOR UPDATE SKIP
        LOCKED`` on PostgreSQL, one writer on SQLite), so many workers can
        run this at once and each follow-up goes to one of them. After
        :meth:`request_stop`, the row in hand is finished and the rest of
        the batch is released back to the pool at once. A channel that
        fails as a whole (refused credentials, a server out of reach) fails
        no follow-up: its due queue waits for a later try and the run stops
        there (the report's ``stopped`` says why; see :mod:`.dispatch`).

        Args:
            progress: called with the number of rows after each claimed
                batch is processed.

        Returns:
            Counts of what happened (sent, deferred, retried, failed, …).

        Raises:
            ValidationError: ``now`` is naive (as do ``check_contact``,
                ``record_contact``, ``hold``, ``resolve_hold`` and ``metrics``
                for their times).
        """
        aware(now, "now")
        report = DispatchReport()
        dispatcher = self.dispatcher()
        while report.claimed < limit and not self._stop.is_set():
            tick = now or self.runtime.now()
            with self.runtime.unit_of_work() as session:
                rows = repo.claim_due(session, owner=self.owner, now=tick,
                                      until=tick + self.lease,
                                      limit=min(self.batch, limit - report.claimed))
            if not rows:
                break
            report.claimed += len(rows)
            dispatcher.process_all(rows, now or self.runtime.now(), report, self._stop.is_set)
            if progress is not None:
                progress(len(rows))
            if dispatcher.halted:  # a channel failed as a whole: its queue waits
                break
        return report

    # ------------------------------------------------------------ reading

    def get(self, follow_up_id: int) -> FollowUp:
        """One follow-up.

        Raises:
            NotFoundError: no such follow-up.
        """
        follow_up_id = check_row_id(follow_up_id)
        with self.runtime.unit_of_work() as session:
            row = session.get(FollowUpRow, follow_up_id)
            if row is None:
                raise NotFoundError("follow-up", follow_up_id)
            return to_model(row)

    def list(self, *, status: FollowUpStatus | str | None = None, plan: str | None = None,
             buyer_id: str | None = None, limit: int = 50) -> builtins.list[FollowUp]:
        """Follow-ups, soonest due first, filtered by status, plan or buyer.

        Raises:
            ValidationError: a ``limit`` not from 1 to 10000, or a filter that
                is not text a store can hold (named).
        """
        limit = check_limit(limit)
        for name, value in (("plan", plan), ("buyer_id", buyer_id)):
            if value is not None:
                check_text(value, name)
        query = select(FollowUpRow).order_by(FollowUpRow.due_at, FollowUpRow.id).limit(limit)
        if status is not None:
            query = query.where(FollowUpRow.status == choice(FollowUpStatus, status,
                                                             "status").value)
        if plan is not None:
            query = query.where(FollowUpRow.plan == plan)
        if buyer_id is not None:
            query = query.where(FollowUpRow.buyer_id == buyer_id)
        with self.runtime.unit_of_work() as session:
            return [to_model(r) for r in session.scalars(query)]

    def metrics(self, *, plan: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> builtins.list[PlanMetrics]:
        """Sent, response rate, CSAT and NPS per plan (see :mod:`.metrics`)."""
        aware(since, "since")
        aware(until, "until")
        _labels(plan=plan)
        with self.runtime.unit_of_work() as session:
            return plan_metrics(session, plan=plan, since=since, until=until)
