"""Which events open a case, and what each one says about it.

=========================== ================= ============ =========
event                       kind              channel      priority
=========================== ================= ============ =========
``review.negative``         negative_review   review       normal/high
``review.counterfeit``      complaint         review       urgent
``parcel.exception``        logistics / damage_claim  system  high
  (issue lost, damaged or refused)
``followup.responded``      complaint         follow_up    high
  (CSAT at or below ``low_csat``, or NPS at or below ``detractor_nps``)
``return.dispute_changed``  platform_dispute  marketplace  high
  (a platform's dispute on a return: Douyin ``arbitrate_status``, Taobao
  ``cs_status``; none: no case)
``return.disputed``         platform_dispute  marketplace  high
  (returns sync: a dispute opened on a request the shop rejected; a fact
  on the same case as the dispute's changes, never a second case)
``message.received``        complaint         marketplace  normal
  (``app.cases.receive_message``: text holding one of the policy's
  ``complaint_keywords``, or an intent among its ``complaint_intents``)
=========================== ================= ============ =========

:func:`opening_for` is pure: it turns one event into an :class:`Opening`
(or None) given a look-up of the order the event names. The service then
opens the case or appends the opening as a fact to the open one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aftersales.cases.policy import CasesPolicy
from aftersales.cases.states import CaseChannel, CaseKind, Priority
from aftersales.errors import ValidationError

__all__ = ["TRIGGERS", "Opening", "OrderFacts", "OrderLookup", "opening_for"]

#: The events the service listens to.
TRIGGERS = ("review.negative", "review.counterfeit", "parcel.exception",
            "followup.responded", "return.disputed", "return.dispute_changed",
            "message.received", "review.resolved")


@dataclass(frozen=True)
class OrderFacts:
    """What a trigger needs to know of an order."""

    store: str
    order_id: str
    buyer_id: str
    total: Decimal | None = None
    currency: str | None = None


#: ``lookup(store, external_order_id, internal_order_id)``: the order, or None.
OrderLookup = Callable[[str | None, str | None, int | None], OrderFacts | None]


@dataclass
class Opening:
    """A case to open (or a fact to append to the open one)."""

    store: str
    buyer_id: str
    order_id: str | None
    kind: CaseKind
    channel: CaseChannel
    priority: Priority
    subject: str
    key: str
    source: str
    data: dict[str, Any] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)
    cause: str | None = None
    order_total: Decimal | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        """Refuse a value the cases tables cannot hold, naming the field (never the value).

        An event whose buyer id was 300 characters long failed its whole
        batch on PostgreSQL: the other events of its commit opened nothing,
        and the catch-up failed on that batch every tick.

        Raises:
            ValidationError: a field too long (named).
        """
        for name, width in _WIDTHS.items():
            value = getattr(self, name)
            if value is not None and len(value) > width:
                raise ValidationError(f"at most {width} characters", field=name)
        if any(len(ref) > _LINK_WIDTH for _, ref in self.links):
            raise ValidationError(f"at most {_LINK_WIDTH} characters", field="link")


#: The widths of the cases table's columns an opening fills from an event.
_WIDTHS = {"store": 80, "buyer_id": 120, "order_id": 120, "source": 80}
_LINK_WIDTH = 200

_PARCEL = {"lost": (CaseKind.LOGISTICS, "logistics.lost_parcel"),
           "damaged": (CaseKind.DAMAGE_CLAIM, "logistics.damaged_in_transit"),
           "refused": (CaseKind.LOGISTICS, None)}
_FACT_KEYS = ("rating", "severity", "topics", "message", "issue", "status", "tracking_number",
              "csat", "nps", "rma_id", "review_id", "follow_up_id", "reason", "cs_status",
              "arbitrate_status", "text", "intents", "message_id")


def _facts(payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in _FACT_KEYS:
        v = payload.get(k)
        if isinstance(v, (str, int, float, bool)) or (isinstance(v, list) and len(v) < 50):
            out[k] = v[:500] if isinstance(v, str) else v
    return out


def _dispute(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload's dispute, its plain fields only, as a fact's ``dispute``."""
    dispute = payload.get("dispute")
    if not isinstance(dispute, dict):
        return {}
    return {"dispute": {k: v for k, v in dispute.items()
                        if v is None or isinstance(v, (str, int, float, bool))}}


def _channel(value: object) -> CaseChannel:
    """The channel a message came in on (a marketplace's message if not a known one)."""
    try:
        return CaseChannel(str(value))
    except ValueError:
        return CaseChannel.MARKETPLACE


def _order(payload: Mapping[str, Any], lookup: OrderLookup,
           internal: int | None = None) -> OrderFacts | None:
    store = payload.get("store") or payload.get("marketplace")
    order = payload.get("order_id") if internal is None else None
    return lookup(str(store) if store else None, str(order) if order else None, internal)


def opening_for(name: str, payload: Mapping[str, Any], key: str, policy: CasesPolicy,
                lookup: OrderLookup) -> Opening | None:
    """The case the event ``name`` asks for, or None when it asks for none."""
    source = name
    if name in ("review.negative", "review.counterfeit"):
        found = _order(payload, lookup)
        store = str(payload.get("marketplace") or (found.store if found else ""))
        buyer = payload.get("buyer_id") or (found.buyer_id if found else None)
        if not store or not buyer:
            return None
        counterfeit = name == "review.counterfeit"
        severe = int(payload.get("severity") or 0) >= 3
        topics = payload.get("topics") or []
        cause = ("product.safety" if "safety" in topics else "product.counterfeit") \
            if counterfeit else None
        return Opening(
            store=store, buyer_id=str(buyer), order_id=found.order_id if found else None,
            kind=CaseKind.COMPLAINT if counterfeit else CaseKind.NEGATIVE_REVIEW,
            channel=CaseChannel.REVIEW,
            priority=Priority.URGENT if counterfeit else (Priority.HIGH if severe
                                                          else Priority.NORMAL),
            subject=("counterfeit or safety complaint in a review" if counterfeit
                     else f"negative review ({payload.get('rating')}★)"),
            key=key, source=source, data=_facts(payload),
            links=[("review", str(payload["review_id"]))] if payload.get("review_id") else [],
            cause=cause, order_total=found.total if found else None,
            currency=found.currency if found else None)
    if name == "parcel.exception":
        issue = str(payload.get("issue") or "")
        if issue not in _PARCEL:
            return None
        internal = payload.get("order_id")
        found = _order(payload, lookup, internal if isinstance(internal, int) else None)
        if found is None:
            return None
        kind, cause = _PARCEL[issue]
        links = [("parcel", str(payload["shipment_id"]))] if payload.get("shipment_id") else []
        if payload.get("rma_id"):
            links.append(("return", str(payload["rma_id"])))
        return Opening(store=found.store, buyer_id=found.buyer_id, order_id=found.order_id,
                       kind=kind, channel=CaseChannel.SYSTEM, priority=Priority.HIGH,
                       subject=f"parcel {issue}", key=key, source=source,
                       data=_facts(payload), links=links, cause=cause,
                       order_total=found.total, currency=found.currency)
    if name == "followup.responded":
        csat, nps = payload.get("csat"), payload.get("nps")
        low = (isinstance(csat, int) and csat <= policy.low_csat) or (
            isinstance(nps, int) and nps <= policy.detractor_nps)
        if not low:
            return None
        found = _order(payload, lookup)
        store = str(payload.get("marketplace") or (found.store if found else "") or "")
        if not store or not payload.get("buyer_id"):
            return None
        return Opening(store=store, buyer_id=str(payload["buyer_id"]),
                       order_id=found.order_id if found else payload.get("order_id"),
                       kind=CaseKind.COMPLAINT, channel=CaseChannel.FOLLOW_UP,
                       priority=Priority.HIGH,
                       subject=("low satisfaction score" if isinstance(csat, int)
                                else "NPS detractor"), key=key, source=source,
                       data=_facts(payload),
                       links=[("follow_up", str(payload["follow_up_id"]))]
                       if payload.get("follow_up_id") else [],
                       order_total=found.total if found else None,
                       currency=found.currency if found else None)
    if name == "return.disputed":
        found = _order(payload, lookup)
        if found is None:
            return None
        return Opening(store=found.store, buyer_id=found.buyer_id, order_id=found.order_id,
                       kind=CaseKind.PLATFORM_DISPUTE, channel=CaseChannel.MARKETPLACE,
                       priority=Priority.HIGH, subject="rejected return disputed on the platform",
                       key=key, source=source,
                       data={**_facts(payload), **_dispute(payload), "rejected": True},
                       links=[("return", str(payload["rma_id"]))] if payload.get("rma_id")
                       else [], order_total=found.total, currency=found.currency)
    if name == "return.dispute_changed":
        dispute = payload.get("dispute")
        found = _order(payload, lookup)
        if not isinstance(dispute, dict) or found is None:
            return None
        return Opening(store=found.store, buyer_id=found.buyer_id, order_id=found.order_id,
                       kind=CaseKind.PLATFORM_DISPUTE, channel=CaseChannel.MARKETPLACE,
                       priority=Priority.HIGH, subject="the platform stepped into a return",
                       key=key, source=source, data={**_facts(payload), **_dispute(payload)},
                       links=[("return", str(payload["rma_id"]))] if payload.get("rma_id")
                       else [], order_total=found.total, currency=found.currency)
    if name == "message.received":
        text = str(payload.get("text") or "").lower()
        intents = payload.get("intents")
        said = {str(i) for i in intents} if isinstance(intents, list) else set()
        if not (any(word.lower() in text for word in policy.complaint_keywords)
                or said & set(policy.complaint_intents)):
            return None
        found = _order(payload, lookup)
        store = str(payload.get("store") or payload.get("marketplace") or "")
        buyer = payload.get("buyer_id") or (found.buyer_id if found else None)
        if not store or not buyer:
            return None
        return Opening(store=store, buyer_id=str(buyer),
                       order_id=found.order_id if found else None, kind=CaseKind.COMPLAINT,
                       channel=_channel(payload.get("channel")), priority=Priority.NORMAL,
                       subject="buyer message marked as a complaint", key=key, source=source,
                       data=_facts(payload),
                       links=[("message", str(payload["message_id"]))]
                       if payload.get("message_id") else [],
                       order_total=found.total if found else None,
                       currency=found.currency if found else None)
    return None
