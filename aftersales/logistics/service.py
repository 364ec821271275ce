"""LogisticsService: tracking look-ups, refreshes and anomalies (reached as ``app.logistics``).

Settings (section ``logistics``: ``AfterSales(..., logistics={...})``, ``[logistics]``
in ``aftersales.toml`` or ``AFTERSALES_LOGISTICS_*``):

* ``ttl``: how long a parcel's last check stays fresh, a ``timedelta`` or
  seconds (default 1 hour; Kuaidi100 locks numbers queried more often than
  every 30 minutes);
* ``max_in_flight``: provider calls running at once during a refresh (4);
* ``write_every``: results written per transaction during a refresh (100);
* ``claim_every``: due parcels claimed per transaction during a refresh,
  as the calls need them (200): memory stays flat however many are due,
  and workers sharing the parcels finish together. A multiple of the
  common batch sizes (40, 50, 100), so workers splitting a refresh each
  fill whole batches. Small transactions keep the refresh's turns at the
  database short: SQLite's single write lock is free again sooner for the
  rest of the shop, and the threads waiting on providers are not held up
  behind a long write (400 per transaction measured slower on the
  refresh benchmark);
* ``stuck_after``: ``{carrier: timedelta}`` overriding the stuck thresholds;
* ``receive_returns``: whether a delivered return parcel marks its return
  request received (through the ``receive_return`` callable the app passes
  in, :meth:`ReturnsService.receive_delivered_parcel`); when unset, the
  return policy's ``receive_on_delivery`` decides (off by default).
  Either way the ``parcel.delivered`` event carries ``direction`` and
  ``rma_id``, so the backend or the returns area can react themselves.
"""

from __future__ import annotations

import builtins
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy.orm import Session

from aftersales import observe
from aftersales.errors import (
    AfterSalesError,
    ConfigurationError,
    NotFoundError,
    RemoteRejectedError,
    ValidationError,
)
from aftersales.interfaces import Capability, Carrier
from aftersales.logistics.anomalies import DEFAULT_STUCK_AFTER, STUCK_AFTER, Anomaly, classify
from aftersales.logistics.detect import (
    checked_carrier,
    checked_number,
    detect_carrier,
    is_tracking_number,
    normalize_number,
)
from aftersales.logistics.parcels import Parcel, get_parcel, list_parcels
from aftersales.logistics.refresh import Group, Refresher, RefreshReport
from aftersales.logistics.repository import (
    Change,
    ParcelRef,
    ParcelRow,
    apply_trackings,
    claim_due,
    count_due,
    parcel_stores,
    parcels_by_number,
    problem_parcels,
    release,
    select_due,
    stored_tracking,
)
from aftersales.logistics.snapshot import Snapshot, snapshot
from aftersales.logistics.tracking import scan_clock
from aftersales.models import ParcelStatus, ShipmentDirection, Tracking
from aftersales.store.orders import BuyerContact, buyer_contacts_by_order
from aftersales.times import aware

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["NOTABLE", "LogisticsService", "ReceiveReturnParcel"]

P = TypeVar("P")
E = TypeVar("E", bound=StrEnum)

log = logging.getLogger("aftersales.logistics")

#: statuses whose arrival is announced as an event ``parcel.<status>``.
NOTABLE = frozenset(
    {
        ParcelStatus.PICKED_UP,
        ParcelStatus.OUT_FOR_DELIVERY,
        ParcelStatus.FAILED_ATTEMPT,
        ParcelStatus.AVAILABLE_FOR_PICKUP,
        ParcelStatus.DELIVERED,
        ParcelStatus.EXCEPTION,
        ParcelStatus.RETURNING,
        ParcelStatus.RETURNED,
        ParcelStatus.EXPIRED,
    }
)


class ReceiveReturnParcel(Protocol):
    """How logistics reports a return parcel delivered to the warehouse.

    The returns area implements it (it owns the request's state machine and
    the policy's ``receive_on_delivery``); logistics is given only this
    callable, never the returns service. ``force`` is the ``logistics``
    setting ``receive_returns``: receive even when the policy does not say so.
    """

    def __call__(
        self, rma_id: str, *, number: str, delivered_at: datetime | None, force: bool
    ) -> object:
        """Mark return ``rma_id`` received if the policy (or ``force``) says so."""


class LogisticsService:
    """Tracking look-ups, refreshes and anomalies for every stored parcel.

    Parcels are the shipments the store holds (synced from orders, or
    attached to return requests). Providers are ``app.carriers`` in their
    configured order: the first that serves a parcel's carrier is asked,
    and the next one when it fails or refuses the number.
    """

    def __init__(
        self, runtime: Runtime, *, receive_return: ReceiveReturnParcel | None = None
    ) -> None:
        self.runtime = runtime
        self._receive_return = receive_return
        opts = runtime.settings.logistics
        self.ttl: timedelta = opts.ttl
        self.max_in_flight: int = opts.max_in_flight
        self.write_every: int = opts.write_every
        self.claim_every: int = opts.claim_every
        self.stuck_after: dict[str, timedelta] = {**STUCK_AFTER, **opts.stuck_after}
        self._receive_returns: bool | None = opts.receive_returns

    # ------------------------------------------------------------------ look-ups

    @property
    def providers(self) -> list[Carrier]:
        """The tracking providers, in fallback order."""
        return [c for c in self.runtime.carriers.values() if Capability.TRACK in c.capabilities]

    def track(self, number: str, carrier: str | None = None, *, fresh: bool = False) -> Tracking:
        """A parcel's tracking: stored when fresh enough, else asked of the providers.

        Args:
            number: the tracking number (spaces, dashes and case do not matter).
            carrier: the carrier code when known; else the stored one, else
                detected from the number when only one carrier fits (else the
                provider's own detection decides).
            fresh: ask the providers even within the TTL.

        Returns:
            The tracking; stored parcels with that number are updated and
            their events emitted as in :meth:`refresh`.

        Raises:
            ValidationError: the number is empty or not letters and digits
                (64 at most once folded), or the carrier is neither a code nor
                a courier name the carrier table knows.
            ConfigurationError: no tracking provider is configured.
            RemoteError: every provider failed (the last failure), or a
                provider failed and no later one knew the number (that failure).
        """
        normal = checked_number(number)
        given = checked_carrier(carrier)
        with self.runtime.unit_of_work() as session:
            # matched folded: a parcel stored as "sf 1234-5678" is found by "SF12345678"
            every = parcels_by_number(session, normal)
            code = given or (_current_parcels(every)[0].carrier if every else None)
            refs = _current_parcels(every, code)
            if refs and not fresh and all(self._fresh(r) for r in refs):
                stored = stored_tracking(session, refs)
                if stored is not None:
                    return stored
            buyers = _Buyers()
            buyers.claimed(session, refs)
        group = (normal, code or _unique(detect_carrier(normal)), tuple(refs))
        found: list[Tracking] = []

        def keep(tracking: Tracking) -> tuple[Tracking, Snapshot]:
            return tracking, snapshot(tracking)

        def sink(pairs: list[tuple[Group, tuple[Tracking, Snapshot]]]) -> int:
            found.extend(tracking for _, (tracking, _snap) in pairs)
            return self._write([(g, snap) for g, (_tracking, snap) in pairs])

        with scan_clock(self.runtime.now):
            report = self._refresher(keep, sink, names=buyers.names,
                                     phone=buyers.phone).run([group])
        if found:
            return found[0]
        error = report.errors.get(normal)
        if error is not None:
            raise error
        reason = report.unresolved.get(normal, "no provider answered")
        raise RemoteRejectedError(f"could not track {normal}: {reason}", adapter="logistics")

    @observe.traced("logistics", "refresh")
    def refresh(self, *, progress: Callable[[int, int], None] | None = None) -> RefreshReport:
        """Look up every open parcel not checked within the TTL.

        Delivered, returned and expired parcels are never queried again.
        Due parcels are claimed in chunks of ``claim_every`` as the calls
        need them (their check time set, rows locked with ``SKIP LOCKED``
        on PostgreSQL), so workers on several hosts split the work and
        memory stays flat; numbers no provider could track are released
        and stay due.
        Numbers go to each provider in batches of its ``batch_size``, with
        at most ``max_in_flight`` calls running at once; a batch that fails,
        or a number a provider refuses, falls back to the next provider.
        Results are written in transactions of about ``write_every``
        parcels, each with its ``parcel.*`` events.

        Args:
            progress: called as ``progress(settled, total)`` after each batch:
                parcels settled by that batch, and parcels due in all.

        Returns:
            Counts of parcels checked and changed, and calls per provider.

        Raises:
            ConfigurationError: parcels are due but no tracking provider is configured.
        """
        if not self.providers:
            with self.runtime.unit_of_work() as session:
                if not select_due(session, now=self.runtime.now(), ttl=self.ttl, limit=1):
                    return RefreshReport()  # an idle worker tick is not an error
        now = self.runtime.now()
        report = RefreshReport()
        claimed: dict[int, ParcelRow] = {}  # claimed and not written yet
        buyers = _Buyers()

        def sink(pairs: list[tuple[Group, Snapshot]]) -> int:
            changed = self._write(pairs)
            for (_, _, rows), _ in pairs:
                for row in rows:
                    claimed.pop(row[0], None)
                buyers.written(rows)
            return changed

        tick = None
        if progress is not None:
            with self.runtime.unit_of_work() as session:
                total = count_due(session, now=now, ttl=self.ttl)
            tick = lambda n: progress(n, total)  # noqa: E731 - a closure over total
        refresher = self._refresher(snapshot, sink, tick, write_every=self.write_every,
                                    names=buyers.names, phone=buyers.phone)
        try:
            with scan_clock(self.runtime.now):  # the calls' worker threads get a copy
                refresher.run(self._claim_groups(now, report, claimed, tick, buyers), report)
        finally:
            # Claimed but not written (no provider could track it, or the run
            # stopped on an error): due again at the next refresh.
            if claimed:
                with self.runtime.unit_of_work() as session:
                    release(session, claimed.values())
        return report.tally()

    def _claim_groups(
        self,
        now: datetime,
        report: RefreshReport,
        claimed: dict[int, ParcelRow],
        tick: Callable[[int], None] | None,
        buyers: _Buyers,
    ) -> Iterator[Group]:
        """Claim due parcels a chunk at a time, as the refresher asks for more.

        Parcels sharing a number within a chunk are one look-up; a number
        whose parcels fall into two chunks (far apart in id) is looked up
        twice, which costs a slot in a batch, never a wrong answer.
        """
        after = 0
        while True:
            with self.runtime.unit_of_work() as session:
                chunk = claim_due(session, now=now, ttl=self.ttl, after=after,
                                  limit=self.claim_every)
                groups, unusable = _group(chunk)
                buyers.claimed(session, [row for _, _, rows in groups for row in rows])
            if not chunk:
                return
            after = chunk[-1][0]
            report.due += len(chunk)
            for row in unusable:  # stays claimed: back after the TTL
                report.unresolved[row[1]] = "not a tracking number"
            if unusable and tick is not None:
                tick(len(unusable))
            for _, _, rows in groups:
                for row in rows:
                    claimed[row[0]] = row
            del chunk  # only the groups stay referenced while they are looked up
            yield from groups

    def handle_push(self, provider: str, body: bytes, headers: Mapping[str, str]) -> int:
        """Verify and apply a provider's push (webhook); returns parcels updated.

        Numbers the store holds no parcel for are ignored, and so are
        numbers that are not letters and digits (an empty one would match
        the parcels stored without a real number). A push item naming its
        carrier goes to that carrier's parcels (and those of no known
        carrier); one naming none goes to the number's parcels only when
        they are all of one carrier, or all of no known one. When they are
        of several, or some of none (digits-only waybills of ZTO, STO and SF
        share lengths: a parcel of no known carrier may be another's), it
        is refused: nothing written, one WARNING naming the provider, the
        number and the carriers, and the parcels stay due for their refresh. A push saying the
        provider stopped watching a parcel not yet at a final state
        (``Tracking.push_stopped``) leaves that parcel due for a refresh by
        query at once.

        Raises:
            NotFoundError: no provider of that name is configured.
            SignatureError: the push's signature is missing or wrong.
            ValidationError: the body is not a push of that provider.
        """
        adapter = self.runtime.carriers.get(provider)
        if adapter is None:
            raise NotFoundError("carrier", provider)
        with scan_clock(self.runtime.now):
            trackings = adapter.parse_push(body, headers)
        pairs: list[tuple[Group, Snapshot]] = []
        orphaned = []  # parcels no push will follow: due for a query at once
        with self.runtime.unit_of_work() as session:
            for tracking in trackings:
                normal = normalize_number(tracking.number)
                if not is_tracking_number(normal):
                    # An empty or garbled number would match the parcels stored
                    # without a real one (a marketplace's blank): never written.
                    continue
                # matched folded, whatever spacing or case the shop stored it with
                refs = _current_parcels(parcels_by_number(session, normal), tracking.carrier)
                # a parcel of no known carrier may be any carrier's: one more to tell apart
                carriers = sorted({ref.carrier or "unknown carrier" for ref in refs})
                if not tracking.carrier and len(carriers) > 1:
                    # Which carrier's parcel is it? The push cannot say: none is written,
                    # and each stays due for its refresh, which asks per carrier.
                    log.warning("push from %s for %s names no carrier and the number is "
                                "parcels of %s: not applied", provider, normal,
                                ", ".join(carriers))
                    continue
                # A stop notice may say nothing of the parcel (no status, no events):
                # the parcel keeps what it has and is only made due for a query.
                says_nothing = (tracking.push_stopped and tracking.raw_status is None
                                and not tracking.events)
                if refs and not says_nothing:
                    pairs.append(((normal, tracking.carrier, tuple(refs)), snapshot(tracking)))
                if tracking.push_stopped and says_nothing:  # the parcel's own status decides
                    orphaned += [ref._replace(last_checked_at=None) for ref in refs
                                 if not ref.status.is_terminal]
                elif tracking.push_stopped and not tracking.status.is_terminal:
                    orphaned += [ref._replace(last_checked_at=None) for ref in refs]
        self._write(pairs)
        if orphaned:
            with self.runtime.unit_of_work() as session:
                release(session, orphaned)
        return sum(len(parcels) for (_, _, parcels), _ in pairs)

    def get(self, parcel_id: int) -> Parcel:
        """One stored parcel.

        Raises:
            NotFoundError: no such parcel.
        """
        with self.runtime.unit_of_work() as session:
            return get_parcel(session, parcel_id)

    def list(
        self, *, store: str | None = None, status: ParcelStatus | str | None = None,
        carrier: str | None = None, direction: str | None = None, open_only: bool = False,
        since: datetime | None = None, limit: int = 50,
    ) -> builtins.list[Parcel]:
        """Stored parcels, newest first, by store, status, carrier, direction or openness.

        Raises:
            ValidationError: an unknown status or direction, a naive ``since``
                or a ``limit`` below 1, by the argument's name.
        """
        wanted = _choice(ParcelStatus, status, "status")
        way = _choice(ShipmentDirection, direction, "direction")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError("must be a whole number of at least 1", field="limit")
        with self.runtime.unit_of_work() as session:
            return list_parcels(session, store=store, status=wanted, carrier=carrier,
                                direction=way, open_only=open_only,
                                since=aware(since, "since"), limit=limit)

    def anomalies(self, *, now: datetime | None = None) -> builtins.list[Anomaly]:
        """Parcels that need attention: exceptions, failed attempts, returns to
        sender, and parcels stuck without a new event for longer than their
        carrier usually takes (``stuck_after``), oldest first."""
        now = aware(now, "now") or self.runtime.now()
        with self.runtime.unit_of_work() as session:
            refs = problem_parcels(session)
        found = []
        for ref in refs:
            kind = classify(
                status=ref.status,
                carrier=ref.carrier,
                direction=ref.direction,
                last_event_at=ref.last_event_at,
                shipped_at=ref.shipped_at,
                now=now,
                stuck_after=self.stuck_after,
                default=DEFAULT_STUCK_AFTER,
            )
            if kind is not None:
                found.append(Anomaly(
                    shipment_id=ref.id, tracking_number=ref.number, carrier=ref.carrier,
                    kind=kind, status=ref.status, issue=ref.issue,
                    since=ref.last_event_at or ref.shipped_at, direction=ref.direction,
                    order_id=ref.order_id, rma_id=ref.rma_id,
                ))
        return sorted(found, key=lambda a: (a.since is None, a.since or now))

    # ------------------------------------------------------------------ internals

    def _fresh(self, ref: ParcelRef) -> bool:
        if ref.terminal:
            return True
        checked = ref.last_checked_at
        return checked is not None and self.runtime.now() - checked < self.ttl

    def _refresher(
        self,
        prepare: Callable[[Tracking], P],
        sink: Callable[[builtins.list[tuple[Group, P]]], int],
        progress: Callable[[int], None] | None = None,
        *,
        write_every: int = 1,
        names: Callable[[Sequence[Group]], Sequence[str]] | None = None,
        phone: Callable[[Group], str | None] | None = None,
    ) -> Refresher[P]:
        if not self.providers:
            raise ConfigurationError("no tracking provider configured; set AFTERSALES_CARRIERS")
        return Refresher(
            self.providers,
            max_in_flight=self.max_in_flight,
            prepare=prepare,
            sink=sink,
            progress=progress,
            write_every=write_every,
            names=names,
            phone=phone,
        )

    def _write(self, pairs: builtins.list[tuple[Group, Snapshot]]) -> int:
        """Store one batch of trackings and emit their events; returns parcels changed."""
        now = self.runtime.now()
        with self.runtime.unit_of_work() as session:
            changes = apply_trackings(
                session, [(row, snap) for (_, _, rows), snap in pairs for row in rows], now=now
            )
            stores = parcel_stores(session, changes)
            for change in changes:
                self._emit(session, change, stores.get(change.parcel.id))
        for change in changes:
            if change.status is ParcelStatus.DELIVERED and change.parcel.direction == "return":
                self._return_delivered(change)
        return len(changes)

    def _emit(self, session: Session, change: Change, store: str | None) -> None:
        if change.status not in NOTABLE:
            return
        ref = change.parcel
        when = change.last_event_at.isoformat() if change.last_event_at else ""
        payload = {
            "marketplace": store,  # the store of the parcel's order or return
            "shipment_id": ref.id,
            "tracking_number": ref.number,
            "carrier": ref.carrier,
            "status": change.status.value,
            "previous_status": ref.status.value,
            "issue": change.issue.value if change.issue else None,
            "direction": ref.direction,
            "order_id": ref.order_id,
            "rma_id": ref.rma_id,
            "delivered_at": change.delivered_at.isoformat() if change.delivered_at else None,
            "last_event_at": when or None,
        }
        key = f"parcel.{change.status.value}:{ref.id}"
        if not change.status.is_terminal:
            key += f":{when}"  # a parcel may fail twice; a delivery happens once
        if change.status is ParcelStatus.EXCEPTION and change.issue is not None:
            # lost, then found damaged with no newer scan: a new alert (and claim)
            key += f":{change.issue.value}"
        self.runtime.events.emit(session, f"parcel.{change.status.value}", payload, key=key)

    def _return_delivered(self, change: Change) -> None:
        # The returns area owns the request's state machine and its policy;
        # logistics only reports the delivery, after its own write committed.
        rma_id = change.parcel.rma_id
        if rma_id is None or self._receive_return is None or self._receive_returns is False:
            return
        when = change.delivered_at or change.last_event_at
        try:
            self._receive_return(rma_id, number=change.parcel.number, delivered_at=when,
                                 force=bool(self._receive_returns))
        except AfterSalesError as exc:
            # Already received, cancelled meanwhile, …: the event still tells the backend.
            log.warning("return %s not marked received: %s", rma_id, exc)


#: Carriers that show a waybill's scans only with the last four digits of the
#: sender's or recipient's phone (Kuaidi100's query requires ``phone`` for
#: 顺丰速运 and 中通快递; code 408 without it); no other carrier's query carries
#: the buyer's phone.
PHONE_CHECKED = frozenset({"sf", "zto"})


class _Buyers:
    """The buyers of the parcels a look-up holds (claimed, not yet written), by
    order: their names masked while their numbers are asked
    (:func:`~aftersales.redact.known_names`), and their phone's last four digits
    for the carriers of :data:`PHONE_CHECKED`.

    Read once per claimed chunk, and dropped once every parcel of the order is
    written, so a refresh of a million parcels holds only the buyers in hand.
    """

    def __init__(self) -> None:
        self._contacts: dict[int, BuyerContact] = {}
        self._held: Counter[int] = Counter()

    def claimed(self, session: Session, rows: Sequence[ParcelRow]) -> None:
        orders = [row[8] for row in rows if row[8] is not None]
        self._held.update(orders)
        new = {order for order in orders if order not in self._contacts}
        if new:
            self._contacts.update(buyer_contacts_by_order(session, new))

    def written(self, rows: Sequence[ParcelRow]) -> None:
        for row in rows:
            order = row[8]
            if order is not None and order in self._held:
                self._held[order] -= 1
                if self._held[order] <= 0:
                    del self._held[order]
                    self._contacts.pop(order, None)

    def names(self, batch: Sequence[Group]) -> tuple[str, ...]:
        found = {name for _, _, rows in batch for row in rows if row[8] is not None
                 for name in self._contact(row[8]).names}
        return tuple(found)

    def phone(self, group: Group) -> str | None:
        _, carrier, rows = group
        if carrier not in PHONE_CHECKED:
            return None
        return next((phone for row in rows if row[8] is not None
                     if (phone := self._contact(row[8]).phone_suffix)), None)

    def _contact(self, order: int) -> BuyerContact:
        return self._contacts.get(order, _NO_CONTACT)


_NO_CONTACT = BuyerContact((), None)


def _current_parcels(
    refs: Sequence[ParcelRef], carrier: str | None = None
) -> builtins.list[ParcelRef]:
    """The parcels an answer for their shared number is about: those of ``carrier``
    (or of no known carrier), and of those the open ones, if any.

    A number is unique only within its carrier: digits-only waybills of
    ZTO, STO and Yunda share lengths, so two stores' parcels may carry one
    number with two carriers, and an answer naming one carrier is never
    stored on the other's parcel (as :func:`~aftersales.logistics.tracking.foreign_answer`
    keeps a polled answer off it). Carriers also reuse numbers: years after
    a parcel was delivered its number may be a new parcel's. While one
    parcel of the number is open, a push or a look-up is about that one; a
    finished parcel keeps its own history.
    """
    if carrier:
        refs = [ref for ref in refs if ref.carrier in (None, carrier)]
    live = [ref for ref in refs if not ref.terminal]
    return live or builtins.list(refs)


def _choice(kind: type[E], value: str | None, field: str) -> str | None:
    """The stored value of ``value`` as a member of ``kind``, or refused by ``field``."""
    if value is None:
        return None
    try:
        return kind(value).value
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ValidationError(f"must be one of {choices}", field=field) from None


def _unique(codes: Sequence[str]) -> str | None:
    return codes[0] if len(codes) == 1 else None


def _group(rows: Sequence[ParcelRow]) -> tuple[list[Group], list[ParcelRow]]:
    """Parcels grouped by normalised number and carrier, and those with no usable number."""
    by_key: dict[tuple[str, str | None], list[ParcelRow]] = {}
    unusable = []
    for row in rows:
        _, stored_number, stored_carrier, *_ = row
        number = normalize_number(stored_number)
        if not is_tracking_number(number):  # a NUL, a look-alike letter, a megabyte
            unusable.append(row)
            continue
        carrier = stored_carrier or _unique(detect_carrier(number))
        by_key.setdefault((number, carrier), []).append(row)
    groups = [(number, carrier, tuple(same)) for (number, carrier), same in by_key.items()]
    return groups, unusable
