"""``SandboxMarketplace``: the embedded, deterministic simulated shop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, TypeVar

from aftersales.errors import RemoteNotFoundError, RemoteRejectedError
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    Message,
    Order,
    Page,
    Receipt,
    Refund,
    ReturnKind,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
    ShipmentDirection,
)
from aftersales.money import Money
from aftersales.sandbox._clock import SandboxClock
from aftersales.sandbox._cursor import Key, paginate
from aftersales.sandbox._data import RAW_RETURN_REASONS, RAW_RETURN_STATUSES
from aftersales.sandbox._faults import FaultInjector, Faults
from aftersales.sandbox._orders import order_index
from aftersales.sandbox._parcels import FORMATS, issue_number
from aftersales.sandbox._returns import ALLOWED, Action, ReturnState, return_index
from aftersales.sandbox._reviews import Reply, review_index
from aftersales.sandbox._world import World

if TYPE_CHECKING:
    from aftersales.sandbox.carrier import SandboxCarrier

__all__ = ["SandboxMarketplace"]

_T = TypeVar("_T")

_PROGRESSED = frozenset({ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED,
                         ReturnStatus.RECEIVED, ReturnStatus.REFUNDED,
                         ReturnStatus.EXCHANGE_SHIPPED, ReturnStatus.CLOSED})
_TARGET = {"approve": ReturnStatus.APPROVED, "reject": ReturnStatus.REJECTED,
           "receive": ReturnStatus.RECEIVED}


class SandboxMarketplace(MarketplaceBase):
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
    :attr:`refunds_paid`; messages in :attr:`messages_sent`; every call is
    counted in :attr:`calls`. Pass ``faults=Faults(...)`` to make calls fail
    with rate limits, timeouts and 503s at given rates, deterministically.

    Use in a test::

        shop = SandboxMarketplace(seed=1, orders=50)
        carrier = shop.carrier()          # a SandboxCarrier on the same clock
        pages = list(shop.list_returns())
        shop.advance(days=3)              # parcels move, buyers act
        newer = list(shop.list_returns(pages[-1].cursor))

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
        name: the marketplace name written into every model.
    """

    name = "sandbox"
    capabilities: frozenset[Capability] = frozenset({
        Capability.LIST_ORDERS, Capability.GET_ORDER, Capability.LIST_RETURNS,
        Capability.APPROVE_RETURN, Capability.REJECT_RETURN,
        Capability.CONFIRM_RETURN_RECEIVED, Capability.REFUND, Capability.SHIP_EXCHANGE,
        Capability.LIST_REVIEWS, Capability.REPLY_REVIEW, Capability.MESSAGE_BUYER,
        Capability.LIST_SHIPMENTS,
    })
    raw_return_statuses: ClassVar[tuple[str, ...]] = tuple(RAW_RETURN_STATUSES)
    #: raw status -> canonical status, one row per documented raw status.
    return_status_table: ClassVar[Mapping[str, ReturnStatus]] = RAW_RETURN_STATUSES
    #: raw reason text -> canonical reason, Chinese and English.
    raw_return_reasons: ClassVar[Mapping[str, ReturnReason]] = RAW_RETURN_REASONS

    def __init__(
        self,
        seed: int = 0,
        orders: int = 100,
        *,
        days: float = 30,
        future_days: float = 0,
        start: datetime | None = None,
        clock: SandboxClock | None = None,
        page_size: int = 50,
        returns: int | None = None,
        faults: Faults | None = None,
        name: str | None = None,
    ) -> None:
        if orders < 1:
            raise ValueError("orders must be at least 1")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if days <= 0 or future_days < 0:
            raise ValueError("days must be positive and future_days not negative")
        self.name = name or type(self).name
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
    def now(self) -> datetime:
        """The sandbox's simulated present."""
        return self.clock.now

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

    def carrier(self, **kwargs: object) -> SandboxCarrier:
        """A :class:`SandboxCarrier` sharing this shop's clock (and seed)."""
        from aftersales.sandbox.carrier import SandboxCarrier

        kwargs.setdefault("seed", self.seed)
        return SandboxCarrier(clock=self.clock, **kwargs)  # type: ignore[arg-type]

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
        """One return request by id, as it stands now (a sandbox convenience)."""
        return self._world.return_request(self._visible_return(external_id), self.now)

    def get_review(self, external_id: str) -> Review:
        """One review by id, as it stands now (a sandbox convenience)."""
        return self._world.review(self._visible_review(external_id), self.now)

    def refunded_total(self, order_id: str) -> Money:
        """What has been refunded on an order through :meth:`refund`."""
        return self._world.refunded(self._visible_order(order_id))

    # ------------------------------------------------------------ actions

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """See :meth:`Marketplace.approve_return`; approving twice is a no-op."""
        self._begin("approve_return")
        self._act(self._visible_return(request.external_id), "approve", note=note)
        self._faults.after_write("approve_return")

    def reject_return(self, request: ReturnRequest, *, reason: str,
                      note: str | None = None) -> None:
        """See :meth:`Marketplace.reject_return`; a received request may be rejected too."""
        self._begin("reject_return")
        if not reason.strip():
            raise self._rejected("a rejection needs a reason for the buyer", "reason_required")
        self._act(self._visible_return(request.external_id), "reject", note=reason)
        self._faults.after_write("reject_return")

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """See :meth:`Marketplace.confirm_return_received`."""
        self._begin("confirm_return_received")
        r = self._visible_return(request.external_id)
        if self._world.return_plan(r).kind is ReturnKind.REFUND_ONLY:
            raise self._rejected("a refund-only request has no goods to receive", "no_goods")
        self._act(r, "receive")
        self._faults.after_write("confirm_return_received")

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """See :meth:`Marketplace.refund`.

        Raises:
            RemoteNotFoundError: no such order or request.
            RemoteRejectedError: more than the order has left to refund, a
                non-positive amount, another currency, a request that cannot be
                refunded now, or an idempotency key reused with other values.
        """
        self._begin("refund")
        w = self._world
        i = self._visible_order(refund.order_id)
        done = self._refund_keys.get(refund.idempotency_key)
        if done is not None:
            if done.order_id != refund.order_id or done.amount != refund.amount:
                raise self._rejected("idempotency key reused with other values",
                                     "idempotency_mismatch")
            self._faults.after_write("refund")
            return done
        total = w.order_total(i)
        if refund.amount.currency != total.currency:
            raise self._rejected("refund currency differs from the order's", "currency")
        if refund.amount.amount <= 0:
            raise self._rejected("refund amount must be positive", "amount")
        remaining = total - w.refunded(i)
        if refund.amount > remaining:
            raise self._rejected(f"refund exceeds the refundable {remaining}",
                                 "exceeds_refundable")
        r = None
        if request is not None:
            r = self._visible_return(request.external_id)
            if w.return_plan(r).order_index != i:
                raise self._rejected("the request belongs to another order", "order_mismatch")
        stamp = self.clock.tick()
        if r is not None:
            state = self._state(r, stamp)
            if state.status not in ALLOWED["refund"]:
                raise self._rejected(f"cannot refund a request that is {state.raw_status}",
                                     "invalid_status")
            if state.status is not ReturnStatus.REFUNDED:
                w.return_actions.setdefault(r, []).append(Action(stamp, "refund"))
        paid = refund.model_copy(update={
            "external_id": f"RF{len(self.refunds_paid) + 1:08d}",
            "raw_status": "SUCCESS",
            "created_at": stamp,
        })
        self.refunds_paid.append(paid)
        self._refund_keys[refund.idempotency_key] = paid
        w.refunds.setdefault(i, []).append(paid)
        w.order_touched[i] = stamp
        self._faults.after_write("refund")
        return paid

    def ship_exchange(self, request: ReturnRequest, shipment: Shipment) -> Shipment:
        """See :meth:`Marketplace.ship_exchange`; the same number twice records one parcel."""
        self._begin("ship_exchange")
        w = self._world
        r = self._visible_return(request.external_id)
        plan = w.return_plan(r)
        if plan.kind is not ReturnKind.EXCHANGE:
            raise self._rejected("only an exchange request ships a replacement", "not_exchange")
        recorded = w.exchange_shipments.setdefault(plan.order_index, [])
        for s in recorded:
            if s.tracking_number == shipment.tracking_number:
                return s
        stamp = self.clock.tick()
        state = self._state(r, stamp)
        if state.status not in ALLOWED["exchange"]:
            raise self._rejected(f"cannot ship an exchange for a request that is "
                                 f"{state.raw_status}", "invalid_status")
        sent = shipment.model_copy(update={
            "direction": ShipmentDirection.EXCHANGE,
            "external_id": f"{plan.external_id}-X{len(recorded) + 1}",
            "shipped_at": min(shipment.shipped_at or stamp, stamp),
            "line_ids": shipment.line_ids or [ln.order_line_id for ln in plan.lines],
        })
        recorded.append(sent)
        w.return_actions.setdefault(r, []).append(Action(stamp, "exchange"))
        w.order_touched[plan.order_index] = stamp
        self._faults.after_write("ship_exchange")
        return sent

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        """See :meth:`Marketplace.reply_review`; one reply per review, as on most marketplaces.

        Raises:
            RemoteRejectedError: empty or over-long text, or the review already has
                a reply made with another idempotency key.
        """
        self._begin("reply_review")
        i = self._visible_review(review.external_id)
        done = self._reply_keys.get(idempotency_key)
        if done is not None:
            return done.reply_id
        if not text.strip() or len(text) > 500:
            raise self._rejected("a reply needs 1 to 500 characters", "reply_length")
        if i in self._world.replies:
            raise self._rejected("the review already has a reply", "already_replied")
        stamp = self.clock.tick()
        reply = Reply(f"RP{len(self._reply_keys) + 1:08d}", text, idempotency_key, stamp)
        self._world.replies[i] = reply
        self._reply_keys[idempotency_key] = reply
        self._faults.after_write("reply_review")
        return reply.reply_id

    def send_message(self, message: Message) -> Receipt:
        """See :meth:`Marketplace.send_message`.

        ``message.buyer_id`` or ``message.to`` must name one of the shop's
        buyers (its id, ``B0000001``, or its e-mail, ``buyer1@example.com``).
        """
        self._begin("send_message")
        done = self._receipts.get(message.idempotency_key)
        if done is not None:
            return done
        if not message.body.strip():
            raise self._rejected("an empty message cannot be sent", "empty_body")
        if not any(self._is_buyer(x) for x in (message.buyer_id, message.to) if x):
            raise RemoteNotFoundError("no such buyer in the sandbox", adapter=self.name,
                                      status=404, code="buyer_not_found")
        if message.order_id is not None:
            self._visible_order(message.order_id)
        stamp = self.clock.tick()
        receipt = Receipt(channel=self.name, message_id=f"MSG{len(self._receipts) + 1:08d}",
                          accepted_at=stamp)
        self._receipts[message.idempotency_key] = receipt
        self.messages_sent.append(message)
        self._faults.after_write("send_message")
        return receipt

    # ------------------------------------------------------------ helpers

    def _begin(self, op: str) -> None:
        self.calls[op] += 1
        self._faults.before(op)

    def _rejected(self, message: str, code: str) -> RemoteRejectedError:
        return RemoteRejectedError(message, adapter=self.name, status=409, code=code)

    def _not_found(self, what: str) -> RemoteNotFoundError:
        return RemoteNotFoundError(f"no such {what}", adapter=self.name, status=404,
                                   code="not_found")

    def _visible_order(self, order_id: str) -> int:
        i = order_index(order_id)
        if i is None or i >= self._world.orders or self._world.plan(i).placed_at > self.now:
            raise self._not_found("order")
        return i

    def _visible_return(self, external_id: str | None) -> int:
        r = return_index(external_id) if external_id else None
        if r is None or r >= self._world.returns or self._world.return_state(r, self.now) is None:
            raise self._not_found("return request")
        return r

    def _visible_review(self, external_id: str) -> int:
        i = review_index(external_id)
        if i is None or i >= self._world.orders or self._world.review_updated(i, self.now) is None:
            raise self._not_found("review")
        return i

    def _is_buyer(self, ref: str) -> bool:
        pool = max(1, self._world.orders * 4 // 5)
        ref = ref.strip().lower()
        if ref.startswith("b") and ref[1:].isdigit() and len(ref) == 8:
            return 1 <= int(ref[1:]) <= pool
        if ref.startswith("buyer") and ref.endswith("@example.com"):
            n = ref[len("buyer") : -len("@example.com")]
            return n.isdigit() and 1 <= int(n) <= pool
        return False

    def _state(self, r: int, at: datetime) -> ReturnState:
        state = self._world.return_state(r, at)
        assert state is not None
        return state

    def _act(self, r: int, op: str, note: str | None = None) -> None:
        stamp = self.clock.tick()
        state = self._state(r, stamp)
        target = _TARGET[op]
        reached = any(st is target for _, st in state.history)
        if state.status is target or (reached and state.status in _PROGRESSED):
            return  # already done: a retry changes nothing
        if state.status not in ALLOWED[op]:
            raise self._rejected(f"cannot {op} a request that is {state.raw_status}",
                                 "invalid_status")
        self._world.return_actions.setdefault(r, []).append(Action(stamp, op, note=note))


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

