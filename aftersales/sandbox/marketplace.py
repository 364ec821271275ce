"""``SandboxMarketplace``: the embedded, deterministic simulated shop."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, TypeVar

from aftersales.errors import ConfigurationError
from aftersales.http import notify_send
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    Message,
    Order,
    Page,
    Receipt,
    Refund,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
)
from aftersales.money import Money
from aftersales.sandbox._actions import ShopActions
from aftersales.sandbox._clock import SandboxClock
from aftersales.sandbox._cursor import Key, paginate
from aftersales.sandbox._data import RAW_RETURN_REASONS, RAW_RETURN_STATUSES
from aftersales.sandbox._faults import FaultInjector, Faults
from aftersales.sandbox._orders import order_index
from aftersales.sandbox._parcels import FORMATS, issue_number
from aftersales.sandbox._returns import return_index
from aftersales.sandbox._reviews import Reply, review_index
from aftersales.sandbox._world import World
from aftersales.sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from aftersales.sandbox.carrier import SandboxCarrier

__all__ = ["SandboxMarketplace"]

_T = TypeVar("_T")


class SandboxMarketplace(ShopActions, MarketplaceBase):
    """A deterministic simulated shop: the embedded default marketplace.

    Demos, tests and benchmarks of every area run against it; it needs no
    network and no credentials. ``SandboxMarketplace(seed=0, orders=100)``
    has 100 orders placed over the ``days`` before its clock's start, each
    with 1–4 lines, a buyer and a parcel whose tracking advances with the
    simulated clock; return requests of every kind and reason (about one in
    five orders, at least 30); and reviews in Chinese and English. The same
    seed and the same calls always give the same data. Orders are generated
    one index at a time on demand, so ``orders=100_000`` is fine.

    Time is simulated: ``now`` starts at ``start`` (2026-01-05 UTC unless
    given) and moves only with :meth:`advance`; each action takes one
    simulated second. Listings show what changed up to ``now``; as the clock
    moves, parcels are delivered, buyers return, cancel, revise and ship
    goods back, and reviews are written, edited and appended (追评), so
    incremental syncs always have something new to pick up.

    Actions change the shop: approving, rejecting, receiving, refunding,
    shipping an exchange, replying to a review and messaging a buyer. Refunds
    are idempotent on ``refund.idempotency_key`` and recorded in
    :attr:`refunds_paid`; replies are idempotent on their key too (hence
    ``reply_idempotent``: a reply whose answer was lost is simply re-sent);
    messages in :attr:`messages_sent`; every call is
    counted in :attr:`calls`. Pass ``faults=Faults(...)`` to make calls fail
    with rate limits, timeouts and 503s at given rates, deterministically.

    Use in a test::

        shop = SandboxMarketplace(seed=1, orders=50)
        carrier = shop.carrier()          # a SandboxCarrier on the same clock
        pages = list(shop.list_returns())
        shop.advance(days=3)              # parcels move, buyers act
        newer = list(shop.list_returns(pages[-1].cursor))

    Built with no arguments (as the registry does), it reads
    ``AFTERSALES_SANDBOX_SEED`` (default 0) and ``AFTERSALES_SANDBOX_ORDERS``
    (default 100) from the environment.

    Args:
        seed: fixes every generated value.
        orders: how many orders the shop has (placed before ``start``).
        days: the span before ``start`` over which orders are placed.
        future_days: a further span after ``start`` over which the rest of the
            orders are placed, so new orders arrive as the clock advances
            (0 by default: every order exists from the start).
        start: where the clock starts (aware datetime); ignored when ``clock`` is given.
        clock: a clock to share with a :class:`SandboxCarrier`.
        page_size: items per listing page.
        returns: how many return requests (default one per five orders, at least 30).
        faults: fault injection rates, or ``None`` for none.
        settings: seed and order count as a :class:`SandboxSettings` (a
            store's settings); ``seed`` and ``orders`` given here win.
        name: the store's name, written into every model (default ``sandbox``).
    """

    name = "sandbox"
    capabilities: frozenset[Capability] = frozenset({
        Capability.LIST_ORDERS, Capability.GET_ORDER, Capability.LIST_RETURNS,
        Capability.GET_RETURN, Capability.APPROVE_RETURN, Capability.REJECT_RETURN,
        Capability.CONFIRM_RETURN_RECEIVED, Capability.REFUND, Capability.SHIP_EXCHANGE,
        Capability.LIST_REVIEWS, Capability.REPLY_REVIEW, Capability.MESSAGE_BUYER,
        Capability.LIST_SHIPMENTS,
    })
    raw_return_statuses: ClassVar[tuple[str, ...]] = tuple(RAW_RETURN_STATUSES)
    #: the same reply key answers with the first reply (see ``reply_review``).
    reply_idempotent: ClassVar[bool] = True
    #: raw status -> canonical status, one row per documented raw status.
    return_status_table: ClassVar[Mapping[str, ReturnStatus]] = RAW_RETURN_STATUSES
    #: raw reason text -> canonical reason, Chinese and English.
    raw_return_reasons: ClassVar[Mapping[str, ReturnReason]] = RAW_RETURN_REASONS

    def __init__(
        self,
        seed: int | None = None,
        orders: int | None = None,
        *,
        days: float = 30,
        future_days: float = 0,
        start: datetime | None = None,
        clock: SandboxClock | None = None,
        page_size: int = 50,
        returns: int | None = None,
        faults: Faults | None = None,
        settings: SandboxSettings | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        if settings is not None:
            seed = settings.seed if seed is None else seed
            orders = settings.orders if orders is None else orders
        seed = seed if seed is not None else _env_int("AFTERSALES_SANDBOX_SEED", 0)
        orders = orders if orders is not None else _env_int("AFTERSALES_SANDBOX_ORDERS", 100)
        if orders < 1:
            raise ValueError("orders must be at least 1")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if days <= 0 or future_days < 0:
            raise ValueError("days must be positive and future_days not negative")
        self.seed = seed
        self.page_size = page_size
        self.clock = clock or SandboxClock(start)
        n_returns = returns if returns is not None else max(min(orders, 30), orders // 5)
        if not 1 <= n_returns <= orders:
            raise ValueError("returns must be between 1 and orders")
        before = timedelta(days=days)
        window = before + timedelta(days=future_days)
        self._world = World(self.name, seed, orders, n_returns, self.clock.start - before, window)
        self._faults = FaultInjector(faults, self.name)
        self._next_serial = orders + n_returns
        #: every refund paid through :meth:`refund`, in order (a retried key appears once).
        self.refunds_paid: list[Refund] = []
        self._refund_keys: dict[str, Refund] = {}
        #: every message accepted by :meth:`send_message` (a retried key appears once).
        self.messages_sent: list[Message] = []
        self._receipts: dict[str, Receipt] = {}
        self._reply_keys: dict[str, Reply] = {}
        #: how many times each operation was called (faulted calls included).
        self.calls: Counter[str] = Counter()

    # ------------------------------------------------------------ the clock

    @property
    def start(self) -> datetime:
        """Where the simulated clock started."""
        return self.clock.start

    @property
    def faults_injected(self) -> Counter[str]:
        """How many faults of each kind were raised so far."""
        return self._faults.injected

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        """Move the simulated clock forward; returns the new ``now``."""
        return self.clock.advance(days=days, hours=hours, minutes=minutes)

    def carrier(self, *, carriers: frozenset[str] | None = None, batch_size: int = 40,
                faults: Faults | None = None) -> SandboxCarrier:
        """A :class:`SandboxCarrier` sharing this shop's clock (and seed)."""
        from aftersales.sandbox.carrier import SandboxCarrier

        return SandboxCarrier(self.seed, clock=self.clock, carriers=carriers,
                              batch_size=batch_size, faults=faults)

    @classmethod
    def map_return_status(cls, raw_status: str) -> ReturnStatus:
        """The canonical status of one of the sandbox's raw statuses.

        Raises:
            KeyError: the raw status is not one the sandbox uses.
        """
        return RAW_RETURN_STATUSES[raw_status]

    def new_tracking_number(self, carrier: str = "sf") -> str:
        """Issue a fresh number, handed over now, that :class:`SandboxCarrier` can track.

        Use it for exchange parcels in tests and demos.
        """
        if carrier not in FORMATS:
            raise ValueError(f"the sandbox issues numbers for {sorted(FORMATS)}, not {carrier!r}")
        self._next_serial += 1
        return issue_number(carrier, self._next_serial, self.now)

    # ------------------------------------------------------------ listings

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """See :meth:`Marketplace.list_orders`; ordered by ``(updated_at, id)``."""
        self.calls["list_orders"] += 1
        now, w = self.now, self._world
        keys: list[Key] = []
        seen: dict[str, datetime] = {}
        w.index_returns()
        for i in range(w.orders):
            updated = w.order_updated(i, now)
            if updated is None:
                break  # orders are placed in index order
            oid = w.plan(i).external_id
            keys.append((updated, oid))
            seen[oid] = updated
        return self._pages(keys, cursor, lambda oid: w.order(_order(oid), now, seen[oid]),
                           "list_orders")

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """See :meth:`Marketplace.list_returns`; ordered by ``(updated_at, id)``."""
        self.calls["list_returns"] += 1
        now, w = self.now, self._world
        keys: list[Key] = []
        for r in range(w.returns):
            state = w.return_state(r, now)
            if state is not None:
                keys.append((state.updated_at, w.return_plan(r).external_id))
        return self._pages(keys, cursor, lambda rid: w.return_request(_ret(rid), now),
                           "list_returns")

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        """See :meth:`Marketplace.list_reviews`; ordered by ``(updated_at, id)``."""
        self.calls["list_reviews"] += 1
        now, w = self.now, self._world
        keys: list[Key] = []
        for i in range(w.orders):
            if w.plan(i).placed_at > now:
                break
            updated = w.review_updated(i, now)
            if updated is not None:
                keys.append((updated, f"RV{i + 1:08d}"))
        return self._pages(keys, cursor, lambda vid: w.review(_rev(vid), now), "list_reviews")

    def _pages(self, keys: list[Key], cursor: str | None, build: Callable[[str], _T],
               op: str) -> Iterator[Page[_T]]:
        return paginate(keys, cursor, self.page_size, build, lambda: self._page_fault(op))

    def _page_fault(self, op: str) -> None:
        self.calls[op + "_page"] += 1
        self._faults.before(op)


    # ------------------------------------------------------------ lookups

    def get_order(self, order_id: str) -> Order:
        """See :meth:`Marketplace.get_order`."""
        self._begin("get_order")
        return self._world.order(self._visible_order(order_id), self.now)

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """See :meth:`Marketplace.list_shipments`: outbound, return and exchange parcels."""
        self._begin("list_shipments")
        return self._world.shipments(self._visible_order(order_id), self.now)

    def get_return(self, external_id: str) -> ReturnRequest:
        """See :meth:`MarketplaceBase.get_return`: one return request by id, as it stands now.

        Counted in ``calls`` and seen by send hooks as a call, but never
        faulted (tests read the shop's state through it).
        """
        notify_send(self.name, "CALL", "get_return")  # as a real marketplace's HTTP call would
        self.calls["get_return"] += 1
        return self._world.return_request(self._visible_return(external_id), self.now)

    def get_review(self, external_id: str) -> Review:
        """One review by id, as it stands now (a sandbox convenience)."""
        return self._world.review(self._visible_review(external_id), self.now)

    def refunded_total(self, order_id: str) -> Money:
        """What has been refunded on an order through :meth:`refund`."""
        return self._world.refunded(self._visible_order(order_id))


def _order(order_id: str) -> int:
    i = order_index(order_id)
    assert i is not None
    return i


def _ret(external_id: str) -> int:
    r = return_index(external_id)
    assert r is not None
    return r


def _rev(external_id: str) -> int:
    i = review_index(external_id)
    assert i is not None
    return i


def _env_int(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        # never the value: the rule for every variable (another one may be a secret)
        raise ConfigurationError(f"{variable} must be a whole number (value not shown)") from None
