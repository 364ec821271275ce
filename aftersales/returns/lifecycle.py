"""The one state machine every return, exchange and refund-only request obeys.

The allowed moves are a data table, :data:`TRANSITIONS`: one row per
(kinds, from, to). Every local action, every sync from a marketplace and
every timer goes through :func:`check_transition` (one step) or
:func:`path_between` (a marketplace that skipped steps), so no code path can
put a request in a state the table does not allow.

The paths::

    refund_only       requested → approved → refunded → closed
    price_protection  requested → approved → refunded → closed
    return            requested → approved → return_shipped → received → refunded → closed
    exchange          requested → approved → return_shipped → received → exchange_shipped → closed
    repair            requested → approved → return_shipped → received → exchange_shipped → closed
    reship            requested → approved → exchange_shipped → closed

Which kinds send goods back, send goods out or pay is
:data:`~aftersales.models.KIND_FLOWS`; the rows below are written against it.

Around them: a request may be rejected (and a revised request reopens it),
an inspection failure rejects a received one, the buyer may cancel while
nothing has been shipped, an approved return the buyer never ships is closed
by its deadline, and an exchange whose replacement is out of stock is
refunded instead. ``refunded → refunded`` is a top-up: a further partial
refund on a request already (partly) refunded; the refund caps keep it safe.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from aftersales.errors import InvalidTransitionError
from aftersales.models import KIND_FLOWS, ReturnKind, ReturnStatus

__all__ = [
    "ACTIONS",
    "FINAL",
    "TRANSITIONS",
    "Transition",
    "allowed_next",
    "can_transition",
    "check_transition",
    "edges",
    "is_final",
    "path_between",
]

S = ReturnStatus
K = ReturnKind

_ALL = frozenset(ReturnKind)
_GOODS = KIND_FLOWS["goods_back"]  # kinds where goods travel back
_ONLY = KIND_FLOWS["pays"] - _GOODS  # money back, nothing returns (refund-only, 价保)
_RET = KIND_FLOWS["pays"] & _GOODS  # goods back, money back
_EXC = KIND_FLOWS["goods_out"] & _GOODS  # goods back, goods out (exchange, repair)
_SEND = KIND_FLOWS["goods_out"] - _GOODS  # goods out only (补寄)


@dataclass(frozen=True)
class Transition:
    """One allowed move: for these kinds, from one status to another, and why it exists."""

    kinds: frozenset[ReturnKind]
    source: ReturnStatus
    target: ReturnStatus
    why: str


#: Every allowed move. Anything not listed here is refused.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(_ALL, S.REQUESTED, S.APPROVED, "the shop accepts the request"),
    Transition(_ALL, S.REQUESTED, S.REJECTED, "the shop refuses the request"),
    Transition(_ALL, S.REQUESTED, S.CANCELLED, "the buyer withdraws the request"),
    Transition(_ALL, S.REJECTED, S.REQUESTED, "a revised request reopens a rejected one"),
    Transition(_ALL, S.REJECTED, S.CLOSED, "a rejected request is filed away"),
    Transition(_ALL, S.APPROVED, S.CANCELLED, "the buyer withdraws before shipping anything"),
    Transition(_ONLY, S.APPROVED, S.REFUNDED, "refund-only: money back, nothing returns"),
    Transition(_GOODS, S.APPROVED, S.RETURN_SHIPPED, "the buyer sends the goods back"),
    Transition(_GOODS, S.APPROVED, S.CLOSED, "the buyer never shipped before the deadline"),
    Transition(_GOODS, S.RETURN_SHIPPED, S.RECEIVED, "the warehouse received the parcel"),
    Transition(_GOODS, S.RECEIVED, S.REJECTED, "the inspection failed"),
    Transition(_RET, S.RECEIVED, S.REFUNDED, "goods back, money back"),
    Transition(_EXC, S.RECEIVED, S.EXCHANGE_SHIPPED, "the replacement is on its way"),
    Transition(_EXC, S.RECEIVED, S.REFUNDED, "no stock for the replacement: money back"),
    Transition(_ALL, S.REFUNDED, S.REFUNDED, "a further partial refund (top-up)"),
    Transition(_ALL, S.REFUNDED, S.CLOSED, "the request is done"),
    Transition(_EXC, S.EXCHANGE_SHIPPED, S.CLOSED, "the exchange is done"),
    Transition(_SEND, S.APPROVED, S.EXCHANGE_SHIPPED, "the missing goods are on their way"),
    Transition(_SEND, S.EXCHANGE_SHIPPED, S.CLOSED, "the reshipment is done"),
)

#: Statuses nothing leaves.
FINAL: frozenset[ReturnStatus] = frozenset({S.CLOSED, S.CANCELLED})

#: The command that moves to each status (``approve`` moves to ``approved``), as
#: ``aftersales returns`` names it; the Python method is the same with ``_``.
ACTIONS: dict[ReturnStatus, str] = {
    S.REQUESTED: "reopen",
    S.APPROVED: "approve",
    S.REJECTED: "reject",
    S.CANCELLED: "cancel",
    S.RETURN_SHIPPED: "mark-shipped",
    S.RECEIVED: "receive",
    S.REFUNDED: "refund",
    S.EXCHANGE_SHIPPED: "ship-exchange",
    S.CLOSED: "close",
}


def _build() -> dict[ReturnKind, dict[ReturnStatus, frozenset[ReturnStatus]]]:
    table: dict[ReturnKind, dict[ReturnStatus, set[ReturnStatus]]] = {
        kind: {status: set() for status in ReturnStatus} for kind in ReturnKind
    }
    for row in TRANSITIONS:
        for kind in row.kinds:
            table[kind][row.source].add(row.target)
    return {k: {s: frozenset(t) for s, t in v.items()} for k, v in table.items()}


_EDGES = _build()


def edges(kind: ReturnKind) -> dict[ReturnStatus, frozenset[ReturnStatus]]:
    """The whole table for one kind: each status and where it may go next."""
    return dict(_EDGES[kind])


def allowed_next(kind: ReturnKind, current: ReturnStatus) -> frozenset[ReturnStatus]:
    """The statuses a request of ``kind`` may move to from ``current``."""
    return _EDGES[kind][current]


def can_transition(kind: ReturnKind, current: ReturnStatus, target: ReturnStatus) -> bool:
    """True when the table allows ``current → target`` for ``kind``."""
    return target in _EDGES[kind][current]


def is_final(status: ReturnStatus) -> bool:
    """True for closed and cancelled: nothing leaves them."""
    return status in FINAL


def _names(statuses: Iterable[ReturnStatus]) -> str:
    return ", ".join(sorted(s.value for s in statuses))


def check_transition(
    kind: ReturnKind, current: ReturnStatus, target: ReturnStatus, *, entity: str = "request"
) -> ReturnStatus:
    """Return ``target`` when the move is allowed, else raise.

    Raises:
        InvalidTransitionError: the move is not in :data:`TRANSITIONS`; the
            message says what is possible from ``current`` instead.
    """
    if can_transition(kind, current, target):
        return target
    nxt = allowed_next(kind, current)
    if not nxt:
        detail = f"{current.value} is final"
    else:
        verbs = ", ".join(sorted(ACTIONS[s] for s in nxt))
        article = "an" if kind.value[:1] in "aeiou" else "a"
        detail = f"{article} {kind.value} request in {current.value} can only: {verbs}"
    raise InvalidTransitionError(entity, current.value, target.value, detail)


def path_between(
    kind: ReturnKind, current: ReturnStatus, target: ReturnStatus
) -> list[ReturnStatus] | None:
    """The shortest chain of allowed moves from ``current`` to ``target``.

    Used when a marketplace reports a status several steps ahead (it approved
    and refunded in one go). Returns the statuses after ``current`` up to and
    including ``target`` (``[]`` when already there), or ``None`` when the
    table offers no way.
    """
    if current == target:
        return []
    seen = {current}
    queue: deque[tuple[ReturnStatus, list[ReturnStatus]]] = deque([(current, [])])
    while queue:
        status, path = queue.popleft()
        # Sorted so the chosen path is the same on every run.
        for nxt in sorted(allowed_next(kind, status), key=lambda s: s.value):
            if nxt in seen:
                continue
            if nxt == target:
                return [*path, nxt]
            seen.add(nxt)
            queue.append((nxt, [*path, nxt]))
    return None
