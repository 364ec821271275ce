"""AfterSales: the facade a store backend, a worker or a script holds.

It wires the store, the adapters and the area services together::

    from aftersales import AfterSales
    from aftersales.sandbox import SandboxMarketplace

    app = AfterSales("sqlite:///aftersales.db", marketplaces=[SandboxMarketplace()])
    app.sync()                          # pull what changed since the last sync
    app.returns.approve(rma_id, note="ok")

Everything has a default read from ``aftersales.toml`` and the environment
(:mod:`aftersales.config`), so ``AfterSales()`` works in a worker configured
by ``AFTERSALES_*`` variables.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aftersales import observe, registry
from aftersales.config import AfterSalesSettings
from aftersales.errors import ConfigurationError, NotFoundError, UnsupportedOperationError
from aftersales.events import EventBus, Hook
from aftersales.interfaces import Capability, Carrier, Channel, Marketplace
from aftersales.money import Money
from aftersales.runtime import Runtime, adapter_options, by_name
from aftersales.store import Store
from aftersales.store.cursors import get_cursor, set_cursor
from aftersales.store.order_page import write_order_page
from aftersales.store.orders import get_order_row
from aftersales.store_metrics import StoreMetrics, store_metrics
from aftersales.stores import build_stores
from aftersales.ticks import TickReport, failure_text

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from aftersales.cases.service import CasesService
    from aftersales.customers.service import Customers
    from aftersales.followups.service import FollowUpsService
    from aftersales.kb.service import KnowledgeBase
    from aftersales.kb.suggest import Subject
    from aftersales.logistics.service import LogisticsService
    from aftersales.outbox import Outbox
    from aftersales.reports.service import ReportsService
    from aftersales.returns.service import ReturnsService
    from aftersales.reviews.service import ReviewsService

__all__ = ["DEFAULT_DATABASE_URL", "AfterSales", "SyncReport"]

DEFAULT_DATABASE_URL = "sqlite:///aftersales.db"
#: What :meth:`AfterSales.sync` pulls from each marketplace, in order.
_STREAMS = (("orders", Capability.LIST_ORDERS), ("returns", Capability.LIST_RETURNS),
            ("reviews", Capability.LIST_REVIEWS))
#: What a store must declare at least one of to have anything to sync.
SYNC_CAPABILITIES = frozenset(capability for _, capability in _STREAMS)


@dataclass
class SyncReport(TickReport):
    """What one :meth:`AfterSales.sync` pulled, per marketplace and stream.

    ``done`` counts the changed items over every marketplace and stream;
    ``failed`` the streams that failed (a marketplace whose orders and
    returns both failed counts two), each in ``failures`` by marketplace and
    stream with its error (redacted), and named in the marketplace's one
    line in ``reasons``; its other streams and the other marketplaces still
    synced.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, marketplace: str, stream: str, count: int) -> None:
        """Count ``count`` changed items of ``stream`` from ``marketplace``."""
        per = self.counts.setdefault(marketplace, {})
        per[stream] = per.get(stream, 0) + count
        self.done += count

    def fail_stream(self, marketplace: str, stream: str, exc: Exception) -> None:
        """Count ``stream`` of ``marketplace`` failed with ``exc`` (redacted text)."""
        error = failure_text(exc)
        self.failures.setdefault(marketplace, {})[stream] = error
        previous = self.reasons.get(marketplace)
        self.failed += 1
        self.reasons[marketplace] = (f"{stream}: {error}" if previous is None
                                     else f"{previous}; {stream}: {error}")

    def failed_streams(self) -> str:
        """What failed, in a few words: ``down (orders, returns), east (reviews)``."""
        return ", ".join(f"{m} ({', '.join(per)})" for m, per in self.failures.items())

    def total(self, stream: str) -> int:
        """Changed items of ``stream`` over every marketplace."""
        return sum(per.get(stream, 0) for per in self.counts.values())


def _resolve(group: str, given: Iterable[Any], settings: AfterSalesSettings) -> list[Any]:
    return [
        registry.create(group, g, **adapter_options(settings, group, g))
        if isinstance(g, str)
        else g
        for g in given
    ]


def _given(given: Sequence[Any] | None, configured: list[str]) -> Sequence[Any]:
    return configured if given is None else given


class AfterSales:
    """The library's entry point.

    Settings come from :class:`~aftersales.config.AfterSalesSettings`: the
    TOML file (``AFTERSALES_CONFIG`` or ``./aftersales.toml``), then the
    ``AFTERSALES_*`` variables, then the arguments here, each winning over
    the one before.

    Args:
        database_url: SQLAlchemy URL (``database_url``; default
            ``sqlite:///aftersales.db``).
        marketplaces: adapter instances or registered names (default: the
            ``marketplaces`` setting and the configured ``stores``; given,
            these are the app's marketplaces and the settings' are not read).
        carriers: tracking providers, in fallback order (``carriers``).
        channels: message channels (``channels``; default the built-in ``outbox``).
        timezone: the shop's IANA zone (``timezone``, default UTC), used for
            quiet hours and day counts when a buyer's zone is unknown.
        clock: returns the current aware time; tests pass a fixed one.
        migrate: apply the packaged migrations on start (default True).
        config: the TOML settings file to read instead of the default one.
        settings: ready settings; then neither a file nor the environment is read.
        options: other settings, by section (``returns={"policy": "p.toml"}``)
            or by a shortcut (``return_policy="p.toml"``).

    Raises:
        ConfigurationError: an unknown setting (named, with the closest valid
            one), an invalid value, a bad URL or a clash of names.
        AdapterNotFoundError: a named adapter is not installed.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        marketplaces: Sequence[Marketplace | str] | None = None,
        carriers: Sequence[Carrier | str] | None = None,
        channels: Sequence[Channel | str] | None = None,
        timezone: str | None = None,
        clock: Callable[[], datetime] | None = None,
        migrate: bool = True,
        config: str | Path | None = None,
        settings: AfterSalesSettings | None = None,
        **options: Any,
    ) -> None:
        if settings is None:
            settings = AfterSalesSettings.load(
                config, database_url=database_url, timezone=timezone, **options
            )
        elif options or config is not None or timezone is not None:
            raise ConfigurationError("pass either settings= or other settings, not both")
        self.settings = settings
        # Adapters first: a configuration error (a store's unset variable, a
        # clash of names) must stop the app before the database is touched.
        markets = _resolve(
            registry.MARKETPLACES, _given(marketplaces, settings.marketplaces), settings)
        if marketplaces is None:
            markets += build_stores(settings.stores, from_env=settings.marketplaces)
        markets_by_name = by_name(markets, "marketplace")
        carriers_by_name = by_name(
            _resolve(registry.CARRIERS, _given(carriers, settings.carriers), settings), "carrier")
        store = Store(database_url or settings.database_url)
        if migrate:
            store.upgrade()
        #: What every area service is given instead of this facade.
        self.runtime = Runtime(
            store,
            settings,
            marketplaces=markets_by_name,
            carriers=carriers_by_name,
            channels=list(_given(channels, settings.channels)),
            clock=clock,
        )
        self.store: Store = store
        self.events: EventBus = self.runtime.events
        self.timezone: ZoneInfo = self.runtime.timezone
        self.marketplaces: dict[str, Marketplace] = self.runtime.marketplaces
        self.carriers: dict[str, Carrier] = self.runtime.carriers
        for spec in _given(channels, settings.channels):  # a misspelt name fails now
            if isinstance(spec, str):
                registry.load(registry.CHANNELS, spec)
        # Built now, not on first use: its plans and contact holds listen to
        # events that other areas emit before anyone touches app.followups.
        _ = self.followups
        _ = self.cases  # opens cases from the events above, so built now too

    # ------------------------------------------------------------------ basics

    def now(self) -> datetime:
        """The current time as the app sees it (aware, UTC)."""
        return self.runtime.now()

    def marketplace(self, name: str) -> Marketplace:
        """The configured marketplace adapter called ``name``.

        Raises:
            NotFoundError: no marketplace of that name is configured here.
        """
        return self.runtime.marketplace(name)

    @property
    def channels(self) -> dict[str, Channel]:
        """The configured channels by name (built on first use: some need the store)."""
        return self.runtime.channels

    def channel(self, name: str) -> Channel:
        """The configured channel called ``name``."""
        return self.runtime.channel(name)

    def on(self, event: str, hook: Hook) -> Hook:
        """Call ``hook(event)`` after each committed event named ``event`` (``"*"``: all).

        Events are named ``area.what``: ``return.approved``, ``parcel.delivered``,
        ``review.negative``, ``order.delivered``, … Usable as a decorator's target.
        """
        return self.runtime.on(event, hook)

    # ------------------------------------------------------------------ areas

    @cached_property
    def returns(self) -> ReturnsService:
        """Returns, exchanges and refunds."""
        from aftersales.returns.service import ReturnsService

        return ReturnsService(self.runtime)

    @cached_property
    def logistics(self) -> LogisticsService:
        """Tracking look-ups, refreshes and anomalies."""
        from aftersales.logistics.service import LogisticsService

        return LogisticsService(self.runtime, receive_return=self._receive_return_parcel)

    @cached_property
    def reviews(self) -> ReviewsService:
        """Review sync, classification, alerts, metrics and replies."""
        from aftersales.reviews.service import ReviewsService

        return ReviewsService(self.runtime)

    @cached_property
    def outbox(self) -> Outbox:
        """The outbox's reader: buyer messages, shop alerts and domain events to deliver."""
        from aftersales.outbox import Outbox

        return Outbox(self.store, clock=self.now)

    @cached_property
    def followups(self) -> FollowUpsService:
        """Scheduled follow-up visits (回访)."""
        from aftersales.followups.service import FollowUpsService

        return FollowUpsService(self.runtime)

    @cached_property
    def kb(self) -> KnowledgeBase:
        """The knowledge base: FAQ entries, reply templates, search and suggestions."""
        from aftersales.kb.service import KnowledgeBase

        return KnowledgeBase(self.runtime, case_facts=self._case_subject)

    def _case_subject(self, case_id: str) -> Subject:
        # The knowledge base sees a case only as the facts its suggestions rank by.
        from aftersales.kb.suggest import case_subject

        try:
            number = int(case_id)
        except ValueError:
            raise NotFoundError("case", case_id[:40]) from None
        return case_subject(self.cases.get(number))

    @cached_property
    def reports(self) -> ReportsService:
        """Reports and analytics over every area: SQL aggregates in the shop's zone."""
        from aftersales.reports.service import ReportsService

        return ReportsService(self.runtime, policy=lambda: self.returns.policy)

    @cached_property
    def customers(self) -> Customers:
        """Customer records (客户档案): one view of a buyer across every area."""
        from aftersales.customers.service import Customers

        return Customers(self.runtime)

    @cached_property
    def cases(self) -> CasesService:
        """Complaint cases (投诉工单): the loop, auto-opening, SLA and escalation."""
        from aftersales.cases.service import CasesService

        return CasesService(self.runtime, refund=self._case_refund,
                            schedule_callback=self._case_callback,
                            record_contact=self._case_contact,
                            forget_contact=self._case_forget_contact)

    def _case_refund(self, *, store: str, order_id: str, rma_id: str | None,
                     amount: Decimal | None, currency: str | None, key: str,
                     note: str | None) -> dict[str, Any]:
        # Cases pay only through returns: a refund-only request for the case's
        # order when no return is named, then one refund under the case's key.
        from aftersales.models import ReturnStatus

        if rma_id is None:
            with self.store.session() as session:
                order = get_order_row(session, store, order_id)
                if order is None:
                    raise NotFoundError("order", f"{store}/{order_id}")
                lines = {line.external_id: line.quantity for line in order.lines}
            request = self.returns.request(store, order_id, lines, kind="refund_only",
                                           reason="other", idempotency_key=f"{key}:request",
                                           actor="case", force=True, auto=False)
            rma_id = str(request.rma_id)
            if request.status is ReturnStatus.REQUESTED:
                self.returns.approve(rma_id, actor="case", override=True,
                                     note="refund agreed on a complaint case")
        money = Money(amount, currency or "") if amount is not None else None
        refund = self.returns.refund(rma_id, amount=money, idempotency_key=key, actor="case",
                                     note=note)
        return {"rma_id": rma_id, "refund": refund.external_id or refund.idempotency_key,
                "amount": str(refund.amount.amount), "currency": refund.amount.currency}

    def _case_callback(self, plan: str, *, buyer_id: str, order_id: str | None,
                       marketplace: str, key: str, context: dict[str, Any]) -> int:
        scheduled = self.followups.schedule(plan, buyer_id=buyer_id, order_id=order_id,
                                            marketplace=marketplace, key=key, context=context)
        return int(scheduled.id or 0)

    def _case_contact(self, buyer_id: str, *, key: str, channel: str, source: str,
                      store: str) -> bool:
        from aftersales.followups.contact_policy import MessageKind

        return self.followups.record_contact(buyer_id, MessageKind.RETURN_UPDATE, key=key,
                                             channel=channel, source=source,
                                             store=store).allowed

    def _case_forget_contact(self, key: str) -> None:
        self.followups.forget_contact(key)

    def _receive_return_parcel(
        self, rma_id: str, *, number: str, delivered_at: datetime | None, force: bool
    ) -> object:
        # The one place that joins two areas: logistics sees only this callable.
        return self.returns.receive_delivered_parcel(
            rma_id, number=number, delivered_at=delivered_at, force=force
        )

    def scheduler(self, **kwargs: Any) -> BaseScheduler:
        """A configured APScheduler ``BackgroundScheduler`` running the worker's ticks.

        The caller starts and stops it; nothing runs until then.
        """
        from aftersales.scheduler import build_scheduler

        return build_scheduler(self, **kwargs)

    # ------------------------------------------------------------------ sync

    @observe.traced("sync", "sync", store_arg="store", counts=lambda r: {
        **{s: r.total(s) for s in ("orders", "returns", "reviews")}, "errors": r.failed})
    def sync(self, store: str | None = None, *,
             progress: Callable[[str, int], None] | None = None) -> SyncReport:
        """Pull everything that changed since the last sync, from every store (or ``store``).

        Orders first, then return requests and reviews, each resuming from its
        own saved cursor. Each page is written in one transaction together with
        its cursor, so an interrupted sync resumes where it stopped and a repeat
        writes nothing new.

        Args:
            store: only this store (a configured marketplace's name).
            progress: called as ``progress(stream, count)`` after each page.

        Returns:
            Counts of changed items per marketplace and stream; a marketplace
            that failed is named in ``reasons`` with what failed, and its other
            streams and the other marketplaces still sync. Pages written before
            a failure stay written, so the next sync resumes after them.

        Raises:
            UnsupportedOperationError: ``store`` lists none of orders, returns
                or reviews, so there is nothing to sync.
        """
        report = SyncReport()
        chosen = self.marketplaces if store is None else {store: self.marketplace(store)}
        if store is not None and not SYNC_CAPABILITIES & chosen[store].capabilities:
            # asked by name, a store with nothing to list would "sync" 0 rows and succeed
            raise UnsupportedOperationError(store, "sync (it lists no orders, returns or reviews)")
        for name, market in chosen.items():
            for stream, capability in _STREAMS:
                if capability not in market.capabilities:
                    continue
                try:
                    report.add(name, stream, self._sync_stream(name, stream, progress))
                except Exception as exc:  # one marketplace's failure must not stop the others
                    report.fail_stream(name, stream, exc)
        return report

    def _sync_stream(self, name: str, stream: str,
                     progress: Callable[[str, int], None] | None) -> int:
        if stream == "orders":
            return self.sync_orders(name, progress=progress)
        if stream == "returns":
            return self.returns.sync(name).get(name, 0)
        per_page = None if progress is None else (lambda _store, n: progress("reviews", n))
        return self.reviews.sync(name, progress=per_page).get(name, 0)

    @observe.traced("sync", "orders", store_arg="marketplace", counts=lambda n: {"changed": n})
    def sync_orders(
        self, marketplace: str, *, progress: Callable[[str, int], None] | None = None
    ) -> int:
        """Pull one marketplace's changed orders; returns how many changed.

        Emits ``order.delivered`` the first time an order is seen delivered.
        """
        market = self.marketplace(marketplace)
        with self.store.session() as session:
            cursor = get_cursor(session, marketplace, "orders")
        changed = 0
        started = time.monotonic()
        for page in market.list_orders(cursor):
            before = changed
            with self.runtime.unit_of_work() as session:
                written = write_order_page(session, page.items)
                changed += sum(w.changed for w in written)
                self.events.emit_many(session, [
                    ("order.delivered",
                     {"marketplace": marketplace, "order_id": w.external_id,
                      "buyer_id": w.buyer_id,
                      "delivered_at": w.delivered_at.isoformat() if w.delivered_at else None},
                     f"order.delivered:{marketplace}:{w.external_id}")
                    for w in written if w.newly_delivered])
                if page.cursor is not None:
                    set_cursor(session, marketplace, "orders", page.cursor)
            observe.log_page("sync", marketplace, "orders", len(page.items), changed - before,
                             started)
            started = time.monotonic()
            if progress is not None:
                progress("orders", len(page.items))
        return changed

    def store_metrics(self, store: str | None = None) -> StoreMetrics:
        """Figures per store and their roll-up across stores (:mod:`aftersales.store_metrics`)."""
        with self.store.session() as session:
            return store_metrics(session, store=store)

    def close(self) -> None:
        """Release the database connections."""
        self.store.dispose()

    def __enter__(self) -> AfterSales:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
