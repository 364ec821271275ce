"""The sandbox's return requests: what each buyer asks for, and how it evolves.

Request ``r`` belongs to an order spread evenly over the shop's orders; its
kind cycles through every :class:`ReturnKind` and its reason through every
:class:`ReturnReason`, so any 30 consecutive requests cover every pair. The
status at a moment is computed by replaying, in time order, what the
marketplace side scripted (the buyer cancels, revises, ships the goods back;
the shop's own console approves; finished requests close) together with the
actions the library performed through the sandbox's API.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from aftersales.models import ReturnKind, ReturnReason, ReturnStatus
from aftersales.money import Money
from aftersales.sandbox._clock import rng
from aftersales.sandbox._data import BUYER_NOTES, RAW_RETURN_REASONS
from aftersales.sandbox._orders import LinesSpec, money
from aftersales.sandbox._parcels import issue_number

__all__ = ["Action", "ReturnPlan", "ReturnState", "plan_return", "replay", "return_id"]

KINDS = tuple(ReturnKind)
REASONS = tuple(ReturnReason)
_EVIDENCE_REASONS = frozenset({ReturnReason.QUALITY_ISSUE, ReturnReason.DAMAGED_IN_TRANSIT,
                               ReturnReason.NOT_AS_DESCRIBED, ReturnReason.WRONG_ITEM})
_TEXTS: dict[ReturnReason, tuple[str, str]] = {}
for _text, _reason in RAW_RETURN_REASONS.items():
    zh, en = _TEXTS.get(_reason, ("", ""))
    _TEXTS[_reason] = (zh, _text) if _text.isascii() else (_text, en)
_CARRIERS = ("sf", "yto", "zto", "jd", "sto", "yunda", "jtexpress")
_CENT = Decimal("0.01")
_HOUR = timedelta(hours=1)
_CLOSE_AFTER_REFUND = timedelta(days=2)
_CLOSE_AFTER_EXCHANGE = timedelta(days=4)


def return_id(index: int) -> str:
    """The marketplace id of return request ``index``."""
    return f"RT{index + 1:08d}"


def return_index(external_id: str) -> int | None:
    """The index behind a return id, or ``None`` when it is not one."""
    if len(external_id) == 10 and external_id.startswith("RT") and external_id[2:].isdigit():
        return int(external_id[2:]) - 1 if int(external_id[2:]) else None
    return None


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One line of a request: which order line, how many, and what replaces it."""

    order_line_id: str
    sku: str
    quantity: int
    amount: Money
    replacement_sku: str | None


@dataclass(frozen=True, slots=True)
class ReturnPlan:
    """What the buyer asked for and what the marketplace side will do on its own."""

    index: int
    external_id: str
    order_index: int
    kind: ReturnKind
    reason: ReturnReason
    reason_text: str
    lines: tuple[PlanLine, ...]
    note: str
    evidence: tuple[str, ...]
    created_at: datetime
    cancel_at: datetime | None
    revise_at: datetime | None
    console_approve_at: datetime | None
    ship_after: timedelta | None  # after approval, when the buyer posts the goods back
    ship_carrier: str
    reopen_after: timedelta | None  # after a rejection, when the buyer revises
    serial: int  # the buyer's return parcel serial

    @property
    def requested_amount(self) -> Money | None:
        """What the buyer asks back (nothing for an exchange)."""
        if self.kind is ReturnKind.EXCHANGE:
            return None
        return sum((ln.amount for ln in self.lines[1:]), self.lines[0].amount)


def plan_return(seed: int, index: int, order_index: int, base: datetime, english: bool,
                order: LinesSpec, serial: int) -> ReturnPlan:
    """Return request ``index`` on order ``order_index``, asked ``base`` plus a delay.

    The amount asked back per line is the line's share of what was paid: its
    net price less its part of the order-level discount.
    """
    r = rng(seed, "return", index)
    lines = order.lines
    net_sum = sum((ln.net for ln in lines), Decimal(0))
    kept = (net_sum - order.discount) / net_sum if net_sum else Decimal(1)
    kind = KINDS[index % len(KINDS)]
    reason = REASONS[index % len(REASONS)]
    chosen = r.sample(lines, 1 if len(lines) == 1 or r.random() < 0.7 else 2)
    plan_lines = []
    for ln in chosen:
        qty = r.randint(1, ln.quantity)
        share = ln.net * qty / ln.quantity * kept
        amount = money(share.quantize(_CENT, rounding=ROUND_DOWN))
        swap = None
        if kind is ReturnKind.EXCHANGE:
            base_sku, _, size = ln.sku.rpartition("-")
            swap = f"{base_sku}-{'L' if size != 'L' else 'XL'}" if size.isalpha() else ln.sku
            if size.isdigit():
                swap = f"{base_sku}-{int(size) + (1 if r.random() < 0.5 else 2)}"
        plan_lines.append(PlanLine(ln.external_id, ln.sku, qty, amount, swap))
    rid = return_id(index)
    created = (base + timedelta(minutes=r.randint(120, 7 * 24 * 60))).replace(microsecond=0)
    fate = r.random()
    hours = timedelta(hours=1)
    evidence: tuple[str, ...] = ()
    if reason in _EVIDENCE_REASONS:
        evidence = tuple(f"https://sandbox.example.com/evidence/{rid}/{n}.jpg"
                         for n in range(1, r.randint(1, 2) + 1))
    return ReturnPlan(
        index=index,
        external_id=rid,
        order_index=order_index,
        kind=kind,
        reason=reason,
        reason_text=_TEXTS[reason][1 if english else 0],
        lines=tuple(plan_lines),
        note=r.choice(BUYER_NOTES),
        evidence=evidence,
        created_at=created,
        cancel_at=created + hours * r.randint(6, 72) if fate < 0.15 else None,
        revise_at=created + hours * r.randint(12, 96) if 0.15 <= fate < 0.27 else None,
        console_approve_at=created + hours * r.randint(2, 48) if 0.27 <= fate < 0.52 else None,
        ship_after=timedelta(hours=r.randint(12, 72)) if r.random() < 0.9 else None,
        ship_carrier=r.choice(_CARRIERS),
        reopen_after=timedelta(hours=r.randint(24, 72)) if r.random() < 0.3 else None,
        serial=serial,
    )


@dataclass(frozen=True, slots=True)
class Action:
    """Something the library did to a request through the sandbox's API."""

    at: datetime
    op: str  # approve | reject | receive | refund | exchange
    note: str | None = None
    tracking_number: str | None = None
    carrier: str | None = None


@dataclass
class ReturnState:
    """A request as it stands at one moment."""

    status: ReturnStatus
    raw_status: str
    updated_at: datetime
    note: str
    return_tracking_number: str | None = None
    return_carrier: str | None = None
    reopened: bool = False
    history: list[tuple[datetime, ReturnStatus]] = field(default_factory=list)


# which statuses each action may start from
ALLOWED: dict[str, frozenset[ReturnStatus]] = {
    "approve": frozenset({ReturnStatus.REQUESTED}),
    "reject": frozenset({ReturnStatus.REQUESTED, ReturnStatus.RECEIVED}),
    "receive": frozenset({ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED}),
    "refund": frozenset({ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED,
                         ReturnStatus.RECEIVED, ReturnStatus.REFUNDED}),
    "exchange": frozenset({ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED,
                           ReturnStatus.RECEIVED}),
}


def replay(plan: ReturnPlan, actions: list[Action], until: datetime) -> ReturnState | None:
    """The request's state at ``until``; ``None`` before the buyer asked."""
    if plan.created_at > until:
        return None
    s = ReturnState(ReturnStatus.REQUESTED, "WAIT_SELLER_AGREE", plan.created_at, plan.note)
    s.history.append((plan.created_at, s.status))
    queue: list[tuple[datetime, int, str, Action | None]] = []
    seq = 0

    def push(at: datetime, what: str, action: Action | None = None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (at, seq, what, action))

    for at, what in ((plan.cancel_at, "cancel"), (plan.revise_at, "revise"),
                     (plan.console_approve_at, "approve")):
        if at is not None:
            push(at, what)
    for a in actions:
        push(a.at, a.op, a)
    while queue and queue[0][0] <= until:
        at, _, what, _action = heapq.heappop(queue)
        _apply(plan, s, at, what, push)
    return s


def _apply(plan: ReturnPlan, s: ReturnState, at: datetime, what: str,
           schedule: Callable[[datetime, str], None]) -> None:
    def move(status: ReturnStatus, raw: str) -> None:
        s.status, s.raw_status, s.updated_at = status, raw, at
        s.history.append((at, status))

    st = s.status
    if what == "cancel" and st is ReturnStatus.REQUESTED:
        move(ReturnStatus.CANCELLED, "BUYER_CANCELLED")
    elif what == "revise" and st in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED):
        s.note = (s.note + " " if s.note else "") + "补充了照片 Added photos"
        move(ReturnStatus.REQUESTED, "BUYER_MODIFIED")
    elif what in ALLOWED and st in ALLOWED[what]:
        if what == "approve":
            needs_goods = plan.kind is not ReturnKind.REFUND_ONLY
            move(ReturnStatus.APPROVED,
                 "WAIT_BUYER_RETURN_GOODS" if needs_goods else "SELLER_AGREED_REFUND")
            if needs_goods and plan.ship_after is not None:
                schedule(at + plan.ship_after, "buyer_ships")
        elif what == "reject":
            move(ReturnStatus.REJECTED, "SELLER_REFUSE_BUYER")
            if plan.reopen_after is not None and not s.reopened:
                s.reopened = True
                schedule(at + plan.reopen_after, "revise")
        elif what == "receive":
            move(ReturnStatus.RECEIVED, "SELLER_RECEIVED_GOODS")
        elif what == "refund":
            move(ReturnStatus.REFUNDED, "REFUND_SUCCESS")
            schedule(at + _CLOSE_AFTER_REFUND, "close")
        else:
            move(ReturnStatus.EXCHANGE_SHIPPED, "EXCHANGE_SELLER_SENT")
            schedule(at + _CLOSE_AFTER_EXCHANGE, "close")
    elif what == "buyer_ships" and st is ReturnStatus.APPROVED:
        s.return_carrier = plan.ship_carrier
        # handed over in the hour before the buyer entered the number, so the
        # pickup scan is never later than the status change
        s.return_tracking_number = issue_number(plan.ship_carrier, plan.serial, at - _HOUR)
        move(ReturnStatus.RETURN_SHIPPED, "WAIT_SELLER_CONFIRM_GOODS")
    elif what == "close" and st in (ReturnStatus.REFUNDED, ReturnStatus.EXCHANGE_SHIPPED):
        move(ReturnStatus.CLOSED, "CLOSED_FINISHED")
