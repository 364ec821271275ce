"""CasesService: complaint cases as a closed loop (reached as ``app.cases``).

::

    case = app.cases.open(store="sandbox", buyer_id="b1", order_id="o1", kind="complaint",
                          channel="phone", subject="arrived broken")
    app.cases.investigate(case.id)
    app.cases.set_cause(case.id, "logistics.damaged_in_transit", valid=True)
    app.cases.propose(case.id, Resolution("refund", amount="20.00"))   # tells the buyer
    app.cases.resolve(case.id)       # pays the refund once, schedules the 回访
    app.cases.run_sla()              # warnings, breaches, escalation
    app.cases.tick()                 # the worker's tick: catch_up(), then run_sla()

Cases also open by themselves from events (see :mod:`.triggers`); a second
trigger for the same store, buyer, order and kind is a new fact on the open
case, never a second case. Every change and note is an audit row; every
change emits one event (``case.opened``, ``case.investigating``, …,
``case.sla_warning``, ``case.sla_breached``, ``case.escalated``).

What the service needs of other areas it is given as narrow callables by
the app: ``refund`` (pay through returns), ``schedule_callback`` (a 回访
through the follow-ups area), ``record_contact`` (the one contact policy)
and ``forget_contact`` (withdraw a contact whose message the channel
refused, so the caps count only messages that may have reached the buyer).
"""

from __future__ import annotations

import builtins
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales import observe
from aftersales.amounts import check_amount
from aftersales.cases import repository as repo
from aftersales.cases import sla
from aftersales.cases.catch_up import CatchUpReport, catch_up
from aftersales.cases.causes import CRITICAL_CAUSES, Cause, CauseCatalog
from aftersales.cases.clock import CalendarClock, Clock
from aftersales.cases.inputs import check_unicode, free_text
from aftersales.cases.model import AuditEntry, Case, to_case, to_entry
from aftersales.cases.opening import open_batch
from aftersales.cases.policy import CasesPolicy, load_policy
from aftersales.cases.resolutions import Resolution, ResolutionKind
from aftersales.cases.states import (
    TRANSITIONS,
    CaseChannel,
    CaseKind,
    CaseStatus,
    Priority,
    check_transition,
    parse_enum,
)
from aftersales.cases.triggers import TRIGGERS, Opening, OrderFacts, OrderLookup, opening_for
from aftersales.errors import (
    ChannelUnavailableError,
    ConcurrentUpdateError,
    InvalidTransitionError,
    NotEligibleError,
    NotFoundError,
    RemoteRejectedError,
    StorageError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.events import Event, skipping_invalid
from aftersales.models import Message
from aftersales.store.keys import stored_key
from aftersales.store.orders import get_order_row
from aftersales.store.tables.cases import CaseFactRow, CaseLinkRow, CaseRow, CaseSlaRow
from aftersales.store.tables.core import OrderRow
from aftersales.times import aware

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["CasesService", "CasesTickReport", "RefundFn", "SlaReport"]

log = logging.getLogger("aftersales.cases")

S = CaseStatus
#: ``refund(store=, order_id=, rma_id=, amount=, currency=, key=, note=)`` pays through
#: returns and returns ``{"rma_id", "refund", "amount", "currency"}``.
RefundFn = Callable[..., dict[str, Any]]
#: ``schedule_callback(plan, buyer_id=, order_id=, marketplace=, key=, context=)`` → follow-up id.
CallbackFn = Callable[..., int]
#: ``record_contact(buyer_id, key=, channel=, source=, store=)`` → True when the policy allows.
ContactFn = Callable[..., bool]
#: ``forget_contact(key)``: withdraw a recorded contact whose message was never sent.
ForgetFn = Callable[[str], object]

#: What the returns area raises when it refused a refund outright, nothing paid (see
#: ``ReturnsService.refund``); anything else (a lost answer, a refund in flight, a
#: crash) may have paid, so the proposal stays marked started.
_REFUSED: tuple[type[Exception], ...] = (
    ValidationError, InvalidTransitionError, NotEligibleError, NotFoundError,
    UnsupportedOperationError, RemoteRejectedError)

#: Where proposing the current offer again is a retry of it, not a new proposal.
_TOLD_OR_TELLING = frozenset({CaseStatus.PROPOSED.value, CaseStatus.AWAITING_CUSTOMER.value})

#: The most intents one buyer message may carry.
_INTENTS = 100

#: The longest note on a status change, a cause or a resolution.
_NOTE = 5000

_LIMITS = {"store": 80, "buyer_id": 120, "order_id": 120, "subject": 300, "assignee": 120,
           "actor": 120}


def _limit(value: object, top: int | None = None) -> None:
    """Refuse a limit that is not a whole number from 1 (to ``top``), naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 \
            or (top is not None and value > top):
        raise ValidationError(f"from 1 to {top}" if top else "a whole number from 1",
                              field="limit")


def _flag(value: object, field: str) -> bool:
    """``value`` if it is True or False; a truthy "no" must not count as yes."""
    if not isinstance(value, bool):
        raise ValidationError("true or false", field=field)
    return value


def _text(value: object, field: str, *, required: bool = True) -> str | None:
    """A clean one-line value of ``field``, or a ValidationError naming it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("is required", field=field)
        return None
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    text = value.strip()
    if any(ord(c) < 32 for c in text) or "\x7f" in text:
        raise ValidationError("must be one line without control characters", field=field)
    check_unicode(text, field)
    limit = _LIMITS.get(field, 200)
    if len(text) > limit:
        raise ValidationError(f"at most {limit} characters", field=field)
    return text


@dataclass
class SlaReport:
    """What one SLA tick did."""

    checked: int = 0
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    skipped: int = 0


@dataclass
class CasesTickReport(SlaReport):
    """What the worker's ``cases`` tick did: the SLA counts and the catch-up's.

    ``replayed`` trigger events the catch-up handed over, ``added`` the new
    facts (cases or facts on open ones) they gave, ``failed`` a catch-up
    batch that raised (it is retried next tick).
    """

    replayed: int = 0
    added: int = 0
    failed: int = 0


class CasesService:
    """Complaint cases: the loop, auto-opening, SLA and escalation; see the module docstring.

    Settings read (section ``cases``): ``policy`` (a TOML path or text, or a
    :class:`~aftersales.cases.policy.CasesPolicy`), ``causes`` (the shop's own
    root causes), ``batch`` (deadlines per SLA transaction) and
    ``notify_channel``.
    """

    def __init__(self, runtime: Runtime, *, refund: RefundFn | None = None,
                 schedule_callback: CallbackFn | None = None,
                 record_contact: ContactFn | None = None,
                 forget_contact: ForgetFn | None = None) -> None:
        self.runtime = runtime
        options = runtime.settings.cases
        self.policy: CasesPolicy = load_policy(options.policy)
        self.causes = CauseCatalog(options.causes)
        self.batch = options.batch
        self.notify_channel: str | None = options.notify_channel
        self._refund = refund
        self._schedule_callback = schedule_callback
        self._record_contact = record_contact
        self._forget_contact = forget_contact
        self._clocks: dict[str, Clock] = {"calendar": CalendarClock()}
        runtime.events.on_many(TRIGGERS, self.open_from_events)

    # ------------------------------------------------------------ reading

    def get(self, case_id: int) -> Case:
        """One case with its facts, links and deadlines.

        Raises:
            NotFoundError: no such case.
        """
        with self.runtime.store.session() as session:
            return self._model(session, self._row(session, case_id))

    def list(self, *, status: S | str | None = None, kind: CaseKind | str | None = None,
             store: str | None = None, buyer_id: str | None = None,
             order_id: str | None = None, open_only: bool = False,
             limit: int = 50) -> builtins.list[Case]:
        """Cases, newest first, filtered (facts and deadlines not loaded)."""
        _limit(limit, 10_000)
        query = select(CaseRow).order_by(CaseRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(CaseRow.status == parse_enum(S, status, "status").value)
        if kind is not None:
            query = query.where(CaseRow.kind == parse_enum(CaseKind, kind, "kind").value)
        for col, value, name in ((CaseRow.store, store, "store"),
                                 (CaseRow.buyer_id, buyer_id, "buyer_id"),
                                 (CaseRow.order_id, order_id, "order_id")):
            if value is not None:
                _text(value, name, required=False)  # text a column can hold, or named
                query = query.where(col == value)
        if open_only:
            query = query.where(CaseRow.open_key.is_not(None))
        with self.runtime.store.session() as session:
            return [to_case(r) for r in session.scalars(query)]

    def history(self, case_id: int) -> builtins.list[AuditEntry]:
        """The case's audit trail (the 记录), oldest first."""
        with self.runtime.store.session() as session:
            self._row(session, case_id)
            return [to_entry(r) for r in repo.history(session, case_id)]

    def root_causes(self) -> builtins.list[Cause]:
        """The pick-list: canonical causes and the shop's own."""
        return self.causes.all()

    # ------------------------------------------------------------ opening

    def open(self, *, store: str, buyer_id: str, kind: CaseKind | str,
             channel: CaseChannel | str = CaseChannel.PHONE, order_id: str | None = None,
             priority: Priority | str = Priority.NORMAL, subject: str = "",
             key: str | None = None, source: str = "manual",
             data: dict[str, Any] | None = None,
             links: Iterable[tuple[str, str]] = (), actor: str = "merchant") -> Case:
        """Open a case, or add a fact to the open one for the same store, buyer, order and kind.

        Args:
            key: the fact's natural key; the same key never adds a second
                fact (a retried call or event), and a new key on an open
                case adds a fact instead of a second case.
            source: what reported it (``phone``, ``douyin.arbitrate_status``, …).
            links: ``(kind, ref)`` pairs: ``return``, ``refund``, ``parcel``,
                ``review`` or ``follow_up`` and its id.

        Raises:
            ValidationError: a bad field (named).
        """
        store_ = _text(store, "store")
        buyer = _text(buyer_id, "buyer_id")
        order = _text(order_id, "order_id", required=False)
        assert store_ is not None
        assert buyer is not None
        found = self._lookup(store_, order, None) if order else None
        opening = Opening(
            store=store_, buyer_id=buyer, order_id=order,
            kind=parse_enum(CaseKind, kind, "kind"),
            channel=parse_enum(CaseChannel, channel, "channel"),
            priority=parse_enum(Priority, priority, "priority"),
            subject=_text(subject, "subject", required=False) or "",
            key=stored_key(_text(key, "key") or "") if key is not None
            else f"manual:{uuid.uuid4().hex}",
            source=_text(source, "source") or "manual", data=dict(data or {}),
            links=[(self._link_kind(k), _text(r, "link") or "") for k, r in links],
            order_total=found.total if found else None,
            currency=found.currency if found else None,
        )
        return self._open(opening, actor=_text(actor, "actor") or "merchant")

    def open_or_update(self, *, store: str, buyer_id: str, kind: CaseKind | str,
                       key: str, source: str, order_id: str | None = None,
                       data: dict[str, Any] | None = None,
                       channel: CaseChannel | str = CaseChannel.MARKETPLACE,
                       priority: Priority | str = Priority.HIGH, subject: str = "") -> Case:
        """Open or update a case from another area or adapter (a platform dispute).

        The same as :meth:`open` with a required natural ``key``: call it for
        every change a platform reports (Douyin ``arbitrate_status``, Taobao
        ``cs_status``); each new key becomes a fact on the one open case.
        """
        return self.open(store=store, buyer_id=buyer_id, kind=kind, channel=channel,
                         order_id=order_id, priority=priority, subject=subject, key=key,
                         source=source, data=data, actor=f"source:{source}"[:120])

    def receive_message(self, *, store: str, buyer_id: str, text: str, message_id: str,
                        order_id: str | None = None, intents: Iterable[str] = (),
                        channel: CaseChannel | str = CaseChannel.MARKETPLACE) -> Case | None:
        """Take in one buyer message; a complaint (by the shop's rules) opens or updates a case.

        The messages-in path: a marketplace's or chat tool's inbound message
        is recorded as the ``message.received`` event (once per
        ``message_id``), and the cases area's trigger reads it like any other
        event. The policy's ``complaint_keywords`` (words in the text) and
        ``complaint_intents`` (intents the shop's own classifier gave the
        message) decide; a complaint becomes a fact on the open complaint
        case of that store, buyer and order, or opens one. A message sent
        again with the same id changes nothing.

        Returns:
            The case the message is a fact of, or None when it is no complaint.

        Raises:
            ValidationError: a bad field (named).
        """
        store_ = _text(store, "store")
        buyer = _text(buyer_id, "buyer_id")
        message = _text(message_id, "message_id")
        order = _text(order_id, "order_id", required=False)
        text = free_text(text, "text", 5000) or ""
        if isinstance(intents, str | bytes) or not isinstance(intents, Iterable):
            # one intent given as text was read letter by letter: no complaint, no error
            raise ValidationError("a list of intent names", field="intents")
        said = [_text(i, "intents") or "" for i in itertools.islice(intents, _INTENTS + 1)]
        if len(said) > _INTENTS:
            raise ValidationError(f"at most {_INTENTS} intents", field="intents")
        how = parse_enum(CaseChannel, channel, "channel")
        key = stored_key(f"message.received:{store_}:{message}")
        payload: dict[str, Any] = {"store": store_, "marketplace": store_, "buyer_id": buyer,
                                   "order_id": order, "message_id": message,
                                   "text": text[:500], "intents": said, "channel": how.value}
        with self.runtime.store.session() as session:
            self.runtime.events.emit(session, "message.received", payload, key=key)
        # the cases' own hook has run after that commit (or did the first time)
        with self.runtime.store.session() as session:
            case_id = repo.fact_seen(session, key)
            return self._model(session, self._row(session, case_id)) if case_id else None

    def _on_event(self, event: Event) -> None:
        """One committed trigger event: :meth:`open_from_events` with a batch of one."""
        self.open_from_events([event])

    def open_from_events(self, events: Iterable[Event]) -> int:
        """Open cases from committed trigger events, set-based per batch; returns new facts.

        The event bus hands the cases area each commit's trigger events as one
        list (a review page's ``review.negative`` events, say); they are
        handled ``batch`` at a time, each batch in one transaction of a few
        statements (:mod:`.opening`). Events that answer a 回访 or lift a
        negative review are applied one at a time, in their place in the
        order. An event that cannot be read is logged and skipped; the
        others still open their cases.
        """
        added, chunk = 0, builtins.list[Event]()
        for event in events:
            chunk.append(event)
            if len(chunk) >= self.batch:
                added += self._events_batch(chunk)
                chunk = []
        return added + (self._events_batch(chunk) if chunk else 0)

    def _events_batch(self, events: builtins.list[Event]) -> int:
        lookup = self._prefetch(events)
        run: builtins.list[tuple[Opening, str]] = []
        added = 0
        for event in events:
            opening: Opening | None = None
            try:
                # a value the cases cannot hold: this event skipped, named, no value
                with skipping_invalid(log, "case trigger", event):
                    special = self._applies_alone(event)
                    if special is not None:
                        added += self._open_run(run)
                        run = []
                        special()
                        continue
                    opening = opening_for(event.name, event.payload, stored_key(event.key),
                                          self.policy, lookup)
            except Exception:
                log.exception("case trigger %s not handled", event.name)
                continue
            if opening is not None:
                run.append((opening, f"rule:{event.name}"))
        return added + self._open_run(run)

    def _applies_alone(self, event: Event) -> Callable[[], object] | None:
        """The change an event makes to one existing case, if it is such an event."""
        p = event.payload
        if event.name == "followup.responded" and p.get("follow_up_id") is not None:
            with self.runtime.store.session() as session:
                case_id = repo.case_for_link(session, "callback", str(p["follow_up_id"]))
            if case_id is not None:
                return lambda: self.record_answer(case_id, csat=p.get("csat"),
                                                  nps=p.get("nps"), key=event.key)
        if event.name == "review.resolved" and p.get("review_id") is not None:
            return lambda: self._review_revised(str(p["review_id"]), stored_key(event.key))
        return None

    def _open_run(self, run: builtins.list[tuple[Opening, str]]) -> int:
        """Open a run of openings set-based; one at a time if the batch hit a conflict."""
        if not run:
            return 0
        try:
            return open_batch(self, run)
        except StorageError:
            # Only if something bypassed the keys' locks: one transaction each instead.
            added = 0
            for opening, actor in run:
                before = self._fact_exists(opening.key)
                self._open_quiet(opening, actor=actor)
                added += not before
            return added

    def _prefetch(self, events: builtins.list[Event]) -> OrderLookup:
        """The orders ``events`` name, read in one or two queries, as a look-up."""
        names: set[str] = set()
        internal: set[int] = set()
        for event in events:
            order = event.payload.get("order_id")
            if isinstance(order, int) and not isinstance(order, bool):
                internal.add(order)
            if order is not None and order != "":
                names.add(str(order))
        by_key: dict[tuple[str, str], OrderFacts] = {}
        by_id: dict[int, OrderFacts] = {}
        cols = (OrderRow.id, OrderRow.marketplace, OrderRow.external_id, OrderRow.buyer_id,
                OrderRow.total, OrderRow.currency)
        with self.runtime.store.session() as session:
            rows = builtins.list(session.execute(select(*cols).where(
                OrderRow.external_id.in_(sorted(names))))) if names else []
            if internal:
                rows += session.execute(select(*cols).where(OrderRow.id.in_(sorted(internal))))
        for r in rows:
            facts = OrderFacts(r.marketplace, r.external_id, r.buyer_id, r.total, r.currency)
            by_key[(r.marketplace, r.external_id)] = facts
            by_id[r.id] = facts

        def lookup(store: str | None, order_id: str | None,
                   internal_id: int | None) -> OrderFacts | None:
            if internal_id is not None:
                return by_id.get(internal_id)
            if store and order_id:
                return by_key.get((store, order_id))
            return None

        return lookup

    def _review_revised(self, review_id: str, key: str) -> None:
        """The buyer lifted their 差评 out of negative: the negative-review case closes."""
        with self.runtime.store.session() as session:
            case_id = repo.case_for_link(session, "review", review_id)
        if case_id is None:
            return

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            if row.kind != CaseKind.NEGATIVE_REVIEW.value or row.open_key is None \
                    or repo.fact_seen(session, key) is not None:
                return
            repo.add_fact(session, row.id, key=key, source="review.resolved", at=now,
                          data={"review_id": review_id})
            self._move(session, row, S.CLOSED, actor="rule:review.resolved", now=now,
                       reason="the buyer revised the review")

        self._change(case_id, work)

    def _lookup(self, store: str | None, order_id: str | None,
                internal: int | None) -> OrderFacts | None:
        with self.runtime.store.session() as session:
            if internal is not None:
                row = session.get(OrderRow, internal)
            elif store and order_id:
                row = get_order_row(session, store, order_id)
            else:
                row = None
            if row is None:
                return None
            return OrderFacts(row.marketplace, row.external_id, row.buyer_id, row.total,
                              row.currency)

    def open_many(self, openings: Iterable[Opening], *, actor: str = "import") -> int:
        """Open or update many cases, ``batch`` at a time set-based; returns new facts."""
        added, run = 0, builtins.list[tuple[Opening, str]]()
        for opening in openings:
            run.append((opening, actor))
            if len(run) >= self.batch:
                added += self._open_run(run)
                run = []
        return added + self._open_run(run)

    def _fact_exists(self, key: str) -> bool:
        with self.runtime.store.session() as session:
            return repo.fact_seen(session, key) is not None

    def _open(self, opening: Opening, *, actor: str) -> Case:
        case = self._open_quiet(opening, actor=actor, model=True)
        assert case is not None
        return case

    def _open_quiet(self, opening: Opening, *, actor: str, model: bool = False) -> Case | None:
        """Open or add the fact; the case as a model only when ``model`` (a hook needs none)."""
        try:
            return self._open_once(opening, actor, model)
        except StorageError:
            # Only if something bypassed the key's lock: the other case won; add the fact.
            return self._open_once(opening, actor, model)

    def _open_once(self, o: Opening, actor: str, model: bool) -> Case | None:
        now = self.runtime.now()
        okey = repo.open_key(o.store, o.buyer_id, o.order_id, o.kind.value)
        with self.runtime.store.session() as session:
            # The buyer's key too: a case opened at the same instant for another of
            # their orders is counted (repeat complainant) by whichever opens second.
            repo.lock_open_keys(session, [okey, repo.repeat_key(o.store, o.buyer_id)])
            seen = repo.fact_seen(session, o.key)
            if seen is not None:
                return self._model(session, self._row(session, seen)) if model else None
            row = repo.find_open(session, okey)
            fact = {"subject": o.subject, **o.data} if o.subject else dict(o.data)
            if row is not None:
                repo.add_fact(session, row.id, key=o.key, source=o.source, at=now, data=fact)
                for kind, ref in o.links:
                    repo.link(session, row.id, kind, ref, now)
                row.updated_at = now
                session.flush()
                repo.audit(session, row.id, actor=actor, at=now, reason="fact added",
                           data={"source": o.source, "key": o.key})
                self._emit(session, "case.fact_added", row, key=f"case.fact_added:{o.key}",
                           extra={"source": o.source})
                return self._model(session, row) if model else None
            row = CaseRow(store=o.store, kind=o.kind.value, channel=o.channel.value,
                          buyer_id=o.buyer_id, order_id=o.order_id, priority=o.priority.value,
                          status=S.RECEIVED.value, open_key=okey, subject=o.subject[:300],
                          order_total=o.order_total, currency=o.currency, escalation=0,
                          reopened=0, opened_at=now, created_at=now, updated_at=now,
                          root_cause=o.cause)
            session.add(row)
            session.flush()
            repo.add_fact(session, row.id, key=o.key, source=o.source, at=now, data=fact)
            for kind, ref in o.links:
                repo.link(session, row.id, kind, ref, now)
            repo.audit(session, row.id, actor=actor, at=now, target=S.RECEIVED.value,
                       reason="opened", note=o.subject or None,
                       data={"source": o.source, "kind": o.kind.value,
                             "channel": o.channel.value, "priority": o.priority.value})
            repo.hold(session, row.buyer_id, self._hold_ref(row), now)
            for metric in ("first_response", "resolution"):
                session.add(self._deadline(row, metric, now))
            self._emit(session, "case.opened", row, key=f"case.opened:{row.id}",
                       extra={"source": o.source, "channel": row.channel})
            self.runtime.events.emit(session, "complaint.opened",
                                     {"complaint_id": self._hold_ref(row),
                                      "buyer_id": row.buyer_id, "store": row.store,
                                      "marketplace": row.store, "order_id": row.order_id,
                                      "case_id": row.id},
                                     key=f"complaint.opened:{self._hold_ref(row)}:0")
            self._escalate_on_open(session, row, o, now)
            session.flush()
            return self._model(session, row) if model else None

    def _escalate_on_open(self, session: Session, row: CaseRow, o: Opening,
                          now: datetime) -> None:
        rules = self.policy.escalation
        level, reasons = 0, list[str]()
        if o.cause in CRITICAL_CAUSES:
            level, reasons = max(level, rules.critical_level), [*reasons, "counterfeit or safety"]
        if rules.is_high_value(o.order_total, o.currency):
            level, reasons = max(level, 1), [*reasons, "high-value order"]
        since = repo.lookback(now, rules.repeat_days)
        if repo.prior_cases(session, row.store, row.buyer_id, since, exclude=row.id) \
                >= rules.repeat_cases:
            level, reasons = max(level, 1), [*reasons, "repeat complainant"]
        if level:
            self._escalate(session, row, level, reason=", ".join(reasons), now=now)

    # ------------------------------------------------------------ working a case

    def investigate(self, case_id: int, *, actor: str = "merchant",
                    note: str | None = None) -> Case:
        """Start working the case (the first response: its SLA is met)."""
        return self.transition(case_id, S.INVESTIGATING, actor=actor, note=note)

    def transition(self, case_id: int, target: S | str, *, actor: str = "merchant",
                   reason: str | None = None, note: str | None = None) -> Case:
        """Move the case to ``target`` if the state machine allows it.

        Raises:
            InvalidTransitionError: the move is not allowed from the case's status.
            NotFoundError: no such case.
        """
        goal = parse_enum(S, target, "status")
        actor = _text(actor, "actor") or "merchant"
        reason = _text(reason, "reason", required=False)
        note = free_text(note, "note", _NOTE, required=False)

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            self._move(session, row, goal, actor=actor, now=now, reason=reason, note=note)

        return self._change(case_id, work)

    def note(self, case_id: int, text: str, *, actor: str = "merchant",
             reply: bool = False) -> Case:
        """Add a note to the audit trail; ``reply=True`` marks it as the answer to the buyer.

        A reply meets the first-response deadline.
        """
        text = free_text(text, "text", 5000) or ""
        actor = _text(actor, "actor") or "merchant"
        reply = _flag(reply, "reply")

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            repo.audit(session, row.id, actor=actor, at=now,
                       reason="reply" if reply else "note", note=text)
            if reply:
                self._first_response(session, row, now)
            row.updated_at = now
            session.flush()
            self._emit(session, "case.noted", row, key=f"case.noted:{row.id}:{row.version}",
                       extra={"reply": reply})

        return self._change(case_id, work)

    def assign(self, case_id: int, assignee: str, *, actor: str = "merchant") -> Case:
        """Give the case to ``assignee`` (recorded in the audit trail)."""
        who = _text(assignee, "assignee")
        actor = _text(actor, "actor") or "merchant"

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            before = row.assignee
            if before == who:
                return
            row.assignee = who
            row.updated_at = now
            session.flush()
            repo.audit(session, row.id, actor=actor, at=now, reason="assigned",
                       data={"from": before, "to": who})
            self._emit(session, "case.assigned", row,
                       key=f"case.assigned:{row.id}:{row.version}", extra={"assignee": who})

        return self._change(case_id, work)

    def set_priority(self, case_id: int, priority: Priority | str, *,
                     actor: str = "merchant") -> Case:
        """Change the case's priority (recorded); deadlines already running keep their targets."""
        level = parse_enum(Priority, priority, "priority")
        actor = _text(actor, "actor") or "merchant"

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            if row.priority == level.value:
                return
            repo.audit(session, row.id, actor=actor, at=now, reason="priority",
                       data={"from": row.priority, "to": level.value})
            row.priority = level.value
            row.updated_at = now

        return self._change(case_id, work)

    def set_cause(self, case_id: int, code: str, *, valid: bool, actor: str = "merchant",
                  note: str | None = None) -> Case:
        """Record the root cause (分析) and whether the complaint was justified.

        A counterfeit or safety cause escalates the case.

        Raises:
            ValidationError: an unknown cause (field ``root_cause``).
        """
        cause = self.causes.get(code)
        if not isinstance(valid, bool):
            raise ValidationError("true or false", field="valid")
        actor = _text(actor, "actor") or "merchant"
        note = free_text(note, "note", _NOTE, required=False)

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            repo.audit(session, row.id, actor=actor, at=now, reason="root cause", note=note,
                       data={"from": row.root_cause, "to": cause.code, "valid": valid})
            row.root_cause, row.cause_valid = cause.code, valid
            row.updated_at = now
            session.flush()
            self._emit(session, "case.cause_set", row,
                       key=f"case.cause_set:{row.id}:{row.version}",
                       extra={"root_cause": cause.code, "valid": valid})
            if cause.code in CRITICAL_CAUSES:
                self._escalate(session, row, self.policy.escalation.critical_level,
                               reason="counterfeit or safety", now=now)

        return self._change(case_id, work)

    def link(self, case_id: int, kind: str, ref: str) -> Case:
        """Link the case to a return, refund, parcel, review or follow-up."""
        k, r = self._link_kind(kind), _text(ref, "ref")

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            repo.link(session, row.id, k, r or "", now)

        return self._change(case_id, work)

    @staticmethod
    def _link_kind(kind: str) -> str:
        allowed = ("return", "refund", "parcel", "review", "follow_up", "callback", "message")
        if kind not in allowed:
            raise ValidationError(f"one of {', '.join(allowed)}", field="link")
        return kind

    # ------------------------------------------------------------ the resolution

    def propose(self, case_id: int, resolution: Resolution, *, actor: str = "merchant",
                notify: bool = True, message: str | None = None) -> Case:
        """Propose a resolution (方案) and tell the buyer (反馈).

        The proposal is recorded first; the buyer is told through the
        ``notify_channel`` (under the contact policy) after that commit, and
        the case then waits for the customer (its clock paused). A message
        the contact policy refuses (the buyer opted out) leaves the case
        ``proposed`` with a note saying so. Proposing the same resolution
        again while the case is still ``proposed`` (the channel failed or its
        answer was lost) records nothing new and tells the buyer under the
        first proposal's key, so a channel that already took it sends it
        once; once the case is ``awaiting_customer`` (the call went through
        and only its answer was lost) the message is on record as sent, and
        nothing is recorded or sent again.
        """
        if not isinstance(resolution, Resolution):
            raise ValidationError("a Resolution", field="resolution")
        actor = _text(actor, "actor") or "merchant"
        number: list[int] = []
        told: list[bool] = []

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            if resolution.kind is ResolutionKind.REFUND and not row.order_id:
                raise ValidationError("a refund needs the case's order", field="resolution")
            if resolution.kind is ResolutionKind.REFUND and resolution.currency \
                    and row.currency and resolution.currency != row.currency:
                # returns refuses it when the case is resolved: the buyer must not be told
                raise ValidationError(f"the order is in {row.currency}, not "
                                      f"{resolution.currency}", field="currency")
            if resolution.amount is not None and not resolution.currency and row.currency:
                check_amount(resolution.amount, row.currency)  # 10.5 JPY: refused now
            previous = row.resolution or {}
            offer = {**resolution.to_dict(), "currency": resolution.currency or row.currency}
            same = {k: previous.get(k) for k in offer} == offer
            if previous.get("started") and not previous.get("done"):
                # Resolving has started paying this proposal's refund (or paid it and
                # failed to record it): another proposal would be paid on top of it.
                if not same:
                    raise ValidationError(
                        f"the refund of proposal {previous.get('number') or 1} has started; "
                        "resolve the case to finish it first", field="resolution")
                number.append(int(previous.get("number") or 1))
                return
            if row.status in _TOLD_OR_TELLING and not previous.get("done") and same:
                # The same offer again (the buyer's message may have gone before a lost
                # answer, or the whole call went through and only its answer was lost):
                # tell them under the first proposal's key, not a new one; once the
                # case is awaiting the customer, their message is on record as sent.
                number.append(int(previous.get("number") or 1))
                told.append(row.status == S.AWAITING_CUSTOMER.value)
                return
            n = int(previous.get("number") or 0) + 1
            number.append(n)
            row.resolution = {**offer, "number": n, "done": False}
            self._move(session, row, S.PROPOSED, actor=actor, now=now,
                       reason=f"proposed {resolution.kind.value}", data=row.resolution)

        case = self._change(case_id, work)
        if not notify or any(told):
            return case
        return self._tell_buyer(case, number[0], message or resolution.note, actor)

    def _tell_buyer(self, case: Case, number: int, text: str, actor: str) -> Case:
        key = f"case:{case.id}:proposal:{number}"
        name = self._channel_name()
        channel = self.runtime.channel(name)
        to = self._address(case, name)  # before the contact is recorded
        allowed = True
        if self._record_contact is not None:
            allowed = self._record_contact(case.buyer_id, key=key, source=f"case:{case.id}",
                                           channel=name, store=case.store)
        if not allowed:
            return self.note(case.id, "the buyer was not told: the contact policy refused it",
                             actor=actor)
        body = text or f"We have a proposal for your complaint #{case.id}."
        message = Message(to=to, subject=f"About your complaint #{case.id}",
                          body=body, idempotency_key=key, buyer_id=case.buyer_id,
                          order_id=case.order_id,
                          metadata={"kind": "case_proposal", "case_id": case.id,
                                    "store": case.store})
        try:
            receipt = channel.send(message)
        except Exception as exc:
            # Refused outright (or the channel is down): nothing reached the
            # buyer, so the contact must not count against the caps. A lost
            # answer (retryable: it may have gone) keeps it.
            unsent = not getattr(exc, "retryable", False) or isinstance(
                exc, ChannelUnavailableError)
            if unsent and allowed and self._forget_contact is not None:
                self._forget_contact(key)
            raise

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            if row.status != S.PROPOSED.value:
                return
            self._move(session, row, S.AWAITING_CUSTOMER, actor=actor, now=now,
                       reason="buyer told", data={"channel": receipt.channel,
                                                  "message_id": receipt.message_id})

        return self._change(case.id, work)

    def _address(self, case: Case, channel: str) -> str:
        """Where ``channel`` reaches the case's buyer: the order's e-mail for ``smtp``
        (as follow-ups address it), the buyer id for any other channel.

        Raises:
            ValidationError: an e-mail channel, and no e-mail on the case's order.
        """
        if channel != "smtp":
            return case.buyer_id
        email = None
        if case.order_id:
            with self.runtime.store.session() as session:
                order = get_order_row(session, case.store, case.order_id)
                buyer = order.buyer if order is not None else None
                email = buyer.get("email") if isinstance(buyer, dict) else None
        if not isinstance(email, str) or not email.strip():
            raise ValidationError("the buyer has no email on record", field="buyer.email")
        return email.strip()

    def _channel_name(self) -> str:
        if self.notify_channel:
            return self.notify_channel
        names = list(self.runtime.channels)
        if not names:
            raise ValidationError("no channel is configured to tell buyers",
                                  field="cases.notify_channel")
        return names[0]

    def resolve(self, case_id: int, *, actor: str = "merchant", note: str | None = None,
                follow_up_plan: str | None = None) -> Case:
        """Carry out the proposed resolution and mark the case resolved, then schedule the 回访.

        A refund is paid through returns under a key derived from the case
        and the proposal's number, so calling this again after a lost answer
        or a crash resumes that refund and never pays twice. The proposal is
        marked ``started`` in its own commit before the refund is asked for:
        from then until it is resolved, :meth:`propose` refuses any other
        offer (it would be paid on top); a refund the returns area refused
        outright (nothing paid) lifts the mark. A case closed by someone
        while its refund was paid keeps the refund on record (fact, links,
        an audit row) and stays closed, with no 回访. With a
        follow-up plan (``follow_up_plan`` or the policy's), a 回访 is
        scheduled under the one contact policy and the case moves to
        ``following_up``; the buyer's answer closes or reopens it. Resolving
        a case left ``resolved`` because scheduling the 回访 failed schedules
        it (once: under the same key).

        Raises:
            InvalidTransitionError: the case cannot be resolved now.
            ValidationError: a refund the returns area refused (its reason).
        """
        actor = _text(actor, "actor") or "merchant"
        note = free_text(note, "note", _NOTE, required=False)
        case = self.get(case_id)
        plan = follow_up_plan or self.policy.follow_up_plan
        if case.status is S.RESOLVED and plan and self._schedule_callback is not None:
            # Resolved, but the 回访 was not scheduled (it failed, or its answer was
            # lost): schedule it now, under the same key.
            return self._callback(case, plan, actor)
        check_transition(case.status, S.RESOLVED, entity=f"case {case_id}")
        outcome: dict[str, Any] = {}
        res = case.resolution or {}
        if res.get("kind") == ResolutionKind.REFUND.value and not res.get("done"):
            if self._refund is None:
                raise ValidationError("refunds need the returns area (use app.cases)",
                                      field="resolution")
            amount = Decimal(res["amount"]) if res.get("amount") else None
            number = res.get("number") or 1
            self._mark_refund(case_id, number, started=True)
            try:
                outcome = self._refund(store=case.store, order_id=case.order_id,
                                       rma_id=res.get("rma_id"), amount=amount,
                                       currency=res.get("currency") or case.currency,
                                       key=f"case:{case.id}:refund:{number}",
                                       note=res.get("note") or None)
            except _REFUSED:
                self._mark_refund(case_id, number, started=False)
                raise

        moved: list[bool] = []

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            if outcome and ((row.resolution or {}).get("number") or 1) != (res.get("number") or 1):
                raise ConcurrentUpdateError(f"case {row.id} got another proposal while its "
                                            "refund was paid; resolve it again")
            if outcome:
                repo.link(session, row.id, "return", str(outcome["rma_id"]), now)
                repo.link(session, row.id, "refund", str(outcome["refund"]), now)
                repo.add_fact(session, row.id, key=f"case:{row.id}:refund:{outcome['refund']}",
                              source="returns.refund", at=now, data=outcome)
            if row.resolution is not None:
                row.resolution = {**row.resolution, "done": True}
            if outcome and S.RESOLVED not in TRANSITIONS[S(row.status)]:
                # Closed by someone while the refund was paid: the money went out, so
                # it is recorded on the case as it is; the case is not moved.
                row.updated_at = now
                session.flush()
                repo.audit(session, row.id, actor=actor, at=now,
                           reason="refund paid after the case was closed", note=note,
                           data={"refund": outcome})
                return
            self._move(session, row, S.RESOLVED, actor=actor, now=now, note=note,
                       reason="resolved", data={"refund": outcome} if outcome else None)
            moved.append(True)

        case = self._change(case_id, work)
        if moved and plan and self._schedule_callback is not None:
            return self._callback(case, plan, actor)
        return case

    def _mark_refund(self, case_id: int, number: int, *, started: bool) -> None:
        """Mark proposal ``number``'s refund started (committed before it is asked for),
        or lift the mark after the returns area refused it; refused if the case moved on."""
        def work(session: Session, row: CaseRow, now: datetime) -> None:
            current = row.resolution or {}
            if current.get("done") or (current.get("number") or 1) != number:
                if started:
                    raise ConcurrentUpdateError(f"case {row.id} got another proposal; "
                                                "resolve it again")
                return
            if started:
                check_transition(S(row.status), S.RESOLVED, entity=f"case {row.id}")
            if bool(current.get("started")) != started:
                row.resolution = {**current, "started": started}

        self._change(case_id, work)

    def _callback(self, case: Case, plan: str, actor: str) -> Case:
        round_ = case.reopened
        assert self._schedule_callback is not None
        follow_up_id = self._schedule_callback(
            plan, buyer_id=case.buyer_id, order_id=case.order_id, marketplace=case.store,
            key=f"case:{case.id}:callback:{round_}",
            context={"case": {"id": case.id, "kind": case.kind.value,
                              "subject": case.subject}})

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            repo.link(session, row.id, "callback", str(follow_up_id), now)
            if row.status == S.RESOLVED.value:
                self._move(session, row, S.FOLLOWING_UP, actor=actor, now=now,
                           reason="回访 scheduled",
                           data={"follow_up_id": follow_up_id, "plan": plan})

        return self._change(case.id, work)

    def record_answer(self, case_id: int, *, csat: int | None = None, nps: int | None = None,
                      key: str | None = None) -> Case:
        """The buyer's answer to the 回访: satisfied closes the case, else it reopens it.

        Raises:
            ValidationError: no score, or a CSAT not from 1 to 5 or an NPS not
                from 0 to 10 (named).
        """
        if csat is None and nps is None:
            raise ValidationError("give csat (1-5) or nps (0-10)", field="csat")
        for name, value, low, top in (("csat", csat, 1, 5), ("nps", nps, 0, 10)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not low <= value <= top):
                raise ValidationError(f"a whole number from {low} to {top}", field=name)
        satisfied = not ((csat is not None and csat <= self.policy.low_csat)
                         or (nps is not None and nps <= self.policy.detractor_nps))
        fact_key = stored_key(key or f"case:{case_id}:answer:{uuid.uuid4().hex}")

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            if repo.fact_seen(session, fact_key) is not None:
                return
            repo.add_fact(session, row.id, key=fact_key, source="followup.responded", at=now,
                          data={"csat": csat, "nps": nps, "satisfied": satisfied})
            row.csat = csat if csat is not None else row.csat
            if satisfied:
                self._move(session, row, S.CLOSED, actor="buyer", now=now,
                           reason="satisfied", data={"csat": csat, "nps": nps})
            else:
                self._reopen(session, row, now, actor="buyer",
                             reason="not satisfied with the resolution")

        return self._change(case_id, work)

    def close(self, case_id: int, *, actor: str = "merchant", note: str | None = None) -> Case:
        """Close the case (it leaves the open key: a new trigger opens a new case)."""
        return self.transition(case_id, S.CLOSED, actor=actor, note=note, reason="closed")

    def reopen(self, case_id: int, *, actor: str = "merchant",
               reason: str = "reopened") -> Case:
        """Reopen a resolved, following-up or closed case, one priority step higher."""
        actor = _text(actor, "actor") or "merchant"
        reason = _text(reason, "reason") or "reopened"

        def work(session: Session, row: CaseRow, now: datetime) -> None:
            self._reopen(session, row, now, actor=actor, reason=reason)

        return self._change(case_id, work)

    def _reopen(self, session: Session, row: CaseRow, now: datetime, *, actor: str,
                reason: str) -> None:
        if row.open_key is None:
            okey = repo.open_key(row.store, row.buyer_id, row.order_id, row.kind)
            repo.lock_open_key(session, okey)
            other = repo.find_open(session, okey)
            if other is not None and other.id != row.id:
                raise InvalidTransitionError(f"case {row.id}", row.status, S.REOPENED.value,
                                             f"case {other.id} is open for the same order")
            row.open_key = okey
        row.priority = Priority(row.priority).raised().value
        row.reopened += 1
        self._move(session, row, S.REOPENED, actor=actor, now=now, reason=reason,
                   data={"priority": row.priority, "round": row.reopened})

    # ------------------------------------------------------------ moves

    def _move(self, session: Session, row: CaseRow, target: S, *, actor: str, now: datetime,
              reason: str | None = None, note: str | None = None,
              data: dict[str, Any] | None = None) -> None:
        source = S(row.status)
        check_transition(source, target, entity=f"case {row.id}")
        row.status = target.value
        row.updated_at = now
        if target is S.RESOLVED:
            row.resolved_at = now
        if target is S.CLOSED:
            row.closed_at = now
            row.open_key = None
        session.flush()  # bumps the version now: a lost race surfaces here
        repo.audit(session, row.id, actor=actor, at=now, source=source.value,
                   target=target.value, reason=reason, note=note, data=data)
        self._clock_effects(session, row, source, target, now)
        self._emit(session, f"case.{target.value}", row,
                   key=f"case.{target.value}:{row.id}:{row.version}",
                   extra={"from": source.value, "actor": actor})
        ref = self._hold_ref(row)
        if target is S.CLOSED:
            repo.release_hold(session, row.buyer_id, ref, now)
            self.runtime.events.emit(session, "complaint.resolved",
                                     {"complaint_id": ref, "buyer_id": row.buyer_id,
                                      "store": row.store, "case_id": row.id},
                                     key=f"complaint.resolved:{ref}:{row.version}")
        elif target is S.REOPENED and source is S.CLOSED:
            repo.hold(session, row.buyer_id, ref, now)

    def _clock_effects(self, session: Session, row: CaseRow, source: S, target: S,
                       now: datetime) -> None:
        slas = {s.metric: s for s in repo.slas_of(session, row.id)}
        if source is S.RECEIVED or target in (S.RESOLVED, S.CLOSED):
            self._first_response(session, row, now, slas)
        if target is S.AWAITING_CUSTOMER:
            for s in slas.values():
                sla.pause(s, now, self._clock(s.clock))
        elif source is S.AWAITING_CUSTOMER:
            for s in slas.values():
                sla.resume(s, now, self._clock(s.clock))
        if target in (S.RESOLVED, S.CLOSED) and "resolution" in slas:
            sla.meet(slas["resolution"], now, self._clock(slas["resolution"].clock))
        if target is S.REOPENED and "resolution" in slas:
            s = slas["resolution"]
            target_ = self.policy.target(CaseKind(row.kind), Priority(row.priority))
            seconds = target_.resolution.total_seconds()
            sla.restart(s, now, self._clock(s.clock), target=seconds,
                        warn=seconds * self.policy.warn_ratio)

    def _first_response(self, session: Session, row: CaseRow, now: datetime,
                        slas: dict[str, CaseSlaRow] | None = None) -> None:
        if row.first_response_at is None:
            row.first_response_at = now
        found = slas if slas is not None else {s.metric: s for s in repo.slas_of(session,
                                                                                  row.id)}
        first = found.get("first_response")
        if first is not None:
            sla.meet(first, now, self._clock(first.clock))

    # ------------------------------------------------------------ SLA

    def _deadline(self, row: CaseRow, metric: str, now: datetime) -> CaseSlaRow:
        target = self.policy.target(CaseKind(row.kind), Priority(row.priority))
        name, clock = self.policy.clock_for(target, self.runtime.timezone)
        self._clocks.setdefault(name, clock)
        seconds = (target.first_response if metric == "first_response"
                   else target.resolution).total_seconds()
        deadline = CaseSlaRow(case_id=row.id, metric=metric, clock=name, round=1,
                              target_seconds=seconds,
                              warn_seconds=seconds * self.policy.warn_ratio,
                              elapsed_seconds=0.0, running_since=now, status=sla.RUNNING)
        sla.recompute(deadline, clock)
        return deadline

    def _clock(self, name: str) -> Clock:
        if name not in self._clocks:
            self._clocks[name] = (self.policy.hours.clock(self.runtime.timezone)
                                  if name == "business" else CalendarClock())
        return self._clocks[name]

    @observe.traced("cases", "tick")
    def tick(self, now: datetime | None = None, limit: int | None = None) -> CasesTickReport:
        """The worker's ``cases`` tick: :meth:`catch_up` on missed triggers, then :meth:`run_sla`.

        Catching up comes first, so a case a crash kept from opening gets its
        deadlines before the SLA work reads them.
        """
        aware(now, "now")
        if limit is not None:
            _limit(limit)
        caught = self.catch_up()
        sla_ = self.run_sla(now, limit)
        return CasesTickReport(**vars(sla_), replayed=caught.done, added=caught.added,
                               failed=caught.failed)

    @observe.traced("cases", "catch_up")
    def catch_up(self, limit: int | None = None) -> CatchUpReport:
        """Open the cases of trigger events whose hooks never ran (a crash after the commit).

        Reads the outbox's trigger events after a stored position and hands
        them to :meth:`open_from_events`, ``batch`` at a time; an event that
        already gave its fact adds nothing. See :mod:`.catch_up` for the
        position, concurrent workers and the first run.
        """
        if limit is not None:
            _limit(limit)
        return catch_up(self, limit)

    @observe.traced("cases", "sla")
    def run_sla(self, now: datetime | None = None, limit: int | None = None) -> SlaReport:
        """The worker's tick: emit each due warning and breach once, and escalate on a breach.

        Due deadlines are claimed ``FOR UPDATE SKIP LOCKED`` (one writer on
        SQLite) and handled in the transaction that claims them, so any
        number of workers may run this at once: each event is emitted once,
        and a worker killed half-way leaves its rows due for another.
        """
        aware(now, "now")
        if limit is not None:
            _limit(limit)
        report = SlaReport()
        skip: set[int] = set()
        while limit is None or report.checked < limit:
            tick = now or self.runtime.now()
            size = self.batch if limit is None else min(self.batch, limit - report.checked)
            with self.runtime.store.session() as session:
                rows = [r for r in repo.claim_due_slas(session, tick, size + len(skip))
                        if r.id not in skip][:size]
                if not rows:
                    break
                cases = repo.lock_cases(session, sorted({r.case_id for r in rows}))
                for deadline in rows:
                    case = cases.get(deadline.case_id)
                    if case is None:
                        skip.add(deadline.id)
                        report.skipped += 1
                        continue
                    report.checked += 1
                    self._tick_one(session, case, deadline, tick, report)
            if len(rows) < size:
                break
        return report

    def _tick_one(self, session: Session, row: CaseRow, deadline: CaseSlaRow, now: datetime,
                  report: SlaReport) -> None:
        clock = self._clock(deadline.clock)
        extra = {"metric": deadline.metric, "round": deadline.round,
                 "due_at": deadline.due_at.isoformat() if deadline.due_at else None}
        tag = f"{row.id}:{deadline.metric}:{deadline.round}"
        if deadline.warned_at is None and deadline.warn_at is not None \
                and deadline.warn_at <= now:
            deadline.warned_at = now
            repo.audit(session, row.id, actor="sla", at=now, reason="SLA warning", data=extra)
            self._emit(session, "case.sla_warning", row, key=f"case.sla_warning:{tag}",
                       extra=extra)
            report.warned += 1
        if deadline.breached_at is None and deadline.due_at is not None \
                and deadline.due_at <= now:
            deadline.breached_at = now
            deadline.status = sla.BREACHED
            repo.audit(session, row.id, actor="sla", at=now, reason="SLA breached", data=extra)
            self._emit(session, "case.sla_breached", row, key=f"case.sla_breached:{tag}",
                       extra=extra)
            report.breached += 1
            if self._escalate(session, row, row.escalation + 1,
                              reason=f"{deadline.metric} SLA breached", now=now):
                report.escalated += 1
        sla.recompute(deadline, clock)

    def _escalate(self, session: Session, row: CaseRow, level: int, *, reason: str,
                  now: datetime) -> bool:
        """Raise the case to ``level``: record it and the new assignee, alert the shop."""
        if level <= row.escalation:
            return False
        before, row.escalation = row.escalation, level
        assignee = self.policy.escalation.assignee(level)
        if assignee:
            row.assignee = assignee
        row.updated_at = now
        session.flush()
        data = {"from": before, "to": level, "assignee": row.assignee, "reason": reason}
        repo.audit(session, row.id, actor="escalation", at=now,
                   reason=f"escalated to level {level}", note=reason, data=data)
        self._emit(session, "case.escalated", row, key=f"case.escalated:{row.id}:{level}",
                   extra=data)
        from aftersales.channels.outbox import OutboxChannel

        OutboxChannel().send_in(session, Message(
            to=row.assignee or "shop", subject=f"Case #{row.id} escalated to level {level}",
            body=f"Case #{row.id} ({row.kind}, {row.priority}) escalated: {reason}.",
            idempotency_key=f"case-escalation:{row.id}:{level}", buyer_id=None,
            order_id=row.order_id,
            metadata={"kind": "case_alert", "audience": "shop", "case_id": row.id,
                      "store": row.store, "level": level}))
        return True

    # ------------------------------------------------------------ plumbing

    @staticmethod
    def _hold_ref(row: CaseRow) -> str:
        return f"case:{row.id}"

    def _emit(self, session: Session, name: str, row: CaseRow, *, key: str,
              extra: dict[str, Any] | None = None) -> None:
        payload = {"case_id": row.id, "store": row.store, "marketplace": row.store,
                   "buyer_id": row.buyer_id, "order_id": row.order_id, "kind": row.kind,
                   "priority": row.priority, "status": row.status, "version": row.version,
                   **(extra or {})}
        self.runtime.events.emit(session, name, payload, key=stored_key(key))

    def _row(self, session: Session, case_id: int) -> CaseRow:
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            raise ValidationError("must be a whole number", field="case_id")
        if not 1 <= case_id < 2**63:  # past the database's integers: an OverflowError
            raise ValidationError("must be from 1 to 2**63 - 1", field="case_id")
        row = session.get(CaseRow, case_id)
        if row is None:
            raise NotFoundError("case", case_id)
        return row

    def _model(self, session: Session, row: CaseRow) -> Case:
        session.flush()
        facts = list(session.scalars(select(CaseFactRow).where(CaseFactRow.case_id == row.id)
                                     .order_by(CaseFactRow.id)))
        links = [(k, r) for k, r in session.execute(
            select(CaseLinkRow.kind, CaseLinkRow.ref).where(CaseLinkRow.case_id == row.id)
            .order_by(CaseLinkRow.id))]
        return to_case(row, facts, links, repo.slas_of(session, row.id))

    def _change(self, case_id: int, work: Callable[[Session, CaseRow, datetime], None]) -> Case:
        with self.runtime.store.session() as session:
            self._row(session, case_id)
            row = repo.lock_case(session, case_id)
            if row is None:
                raise NotFoundError("case", case_id)
            work(session, row, self.runtime.now())
            return self._model(session, row)

    def count_open(self) -> int:
        """How many cases are open."""
        with self.runtime.store.session() as session:
            return int(session.scalar(select(func.count()).select_from(CaseRow)
                                      .where(CaseRow.open_key.is_not(None))) or 0)

