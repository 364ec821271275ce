"""The actions of the sandbox shop, and the lookups they share with its listings.

:class:`ShopActions` is a part of
:class:`~aftersales.sandbox.SandboxMarketplace` (one of its two bases, beside
:class:`~aftersales.interfaces.MarketplaceBase`): every operation that changes
the shop (approve, reject, receive, refund, ship an exchange, reply to a
review, message a buyer) lives here, each taking one simulated second,
refusing what the marketplace would refuse with ``RemoteRejectedError`` and
unknown ids with ``RemoteNotFoundError``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime

from aftersales.errors import RemoteNotFoundError, RemoteRejectedError
from aftersales.evidence import Evidence, refuse_unsent
from aftersales.http import notify_send
from aftersales.models import (
    Message,
    Receipt,
    Refund,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
    ShipmentDirection,
)
from aftersales.sandbox._clock import SandboxClock
from aftersales.sandbox._faults import FaultInjector
from aftersales.sandbox._orders import order_index
from aftersales.sandbox._returns import ALLOWED, Action, ReturnState, return_index
from aftersales.sandbox._reviews import Reply, review_index
from aftersales.sandbox._world import World

__all__ = ["ShopActions"]

_PROGRESSED = frozenset({ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED,
                         ReturnStatus.RECEIVED, ReturnStatus.REFUNDED,
                         ReturnStatus.EXCHANGE_SHIPPED, ReturnStatus.CLOSED})
_TARGET = {"approve": ReturnStatus.APPROVED, "reject": ReturnStatus.REJECTED,
           "receive": ReturnStatus.RECEIVED}


class ShopActions:
    """The sandbox marketplace's actions; state is set up by the marketplace class."""

    name: str

    clock: SandboxClock
    _world: World
    _faults: FaultInjector
    refunds_paid: list[Refund]
    _refund_keys: dict[str, Refund]
    messages_sent: list[Message]
    _receipts: dict[str, Receipt]
    _reply_keys: dict[str, Reply]
    calls: Counter[str]

    @property
    def now(self) -> datetime:
        """The sandbox's simulated present."""
        return self.clock.now

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """See :meth:`Marketplace.approve_return`; approving twice is a no-op."""
        self._begin("approve_return")
        self._act(self._visible_return(request.external_id), "approve", note=note)
        self._faults.after_write("approve_return")

    def reject_return(self, request: ReturnRequest, *, reason: str,
                      note: str | None = None, reason_code: str | None = None,
                      evidence: Evidence | None = None) -> None:
        """See :meth:`Marketplace.reject_return`; a received request may be rejected too."""
        refuse_unsent(self.name, reason_code=reason_code, evidence=evidence)
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
            return done.model_copy(deep=True)
        total = w.order_total(i)
        if refund.amount.currency != total.currency:
            raise self._rejected("refund currency differs from the order's", "currency")
        if refund.amount.amount <= 0 or refund.amount.rounded() != refund.amount:
            raise self._rejected("refund amount must be positive whole cents", "amount")
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
        return paid.model_copy(deep=True)

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """See :meth:`Marketplace.find_refund`: by key, as the sandbox keeps every key it paid."""
        self._begin("find_refund")
        for key in (refund.idempotency_key, *keys):
            done = self._refund_keys.get(key)
            if done is not None:
                return done.model_copy(deep=True)
        return None

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
                return s.model_copy(deep=True)
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
        return sent.model_copy(deep=True)

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        """See :meth:`Marketplace.reply_review`; one reply per review, as on most marketplaces.

        The same ``idempotency_key`` again answers with the first reply (the
        sandbox keeps every key it was sent), so the sandbox marketplace is
        ``reply_idempotent`` and a lost answer is re-sent with the same key.

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
            return done.model_copy()
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
        self.messages_sent.append(message.model_copy(deep=True))
        self._faults.after_write("send_message")
        return receipt.model_copy()

    # ------------------------------------------------------------ helpers

    def _begin(self, op: str) -> None:
        notify_send(self.name, "CALL", op)  # as a real marketplace's HTTP call would
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

