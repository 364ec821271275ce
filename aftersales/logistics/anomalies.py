"""Parcels that went wrong (快递异常): the pure rules behind ``app.logistics.anomalies()``.

A parcel is an anomaly when it is in exception, had a failed delivery
attempt, is going (or went) back to the sender, or is *stuck*: no new event
for longer than its carrier usually needs between scans. Domestic express
carriers scan several times a day; international post can be silent for
days while crossing borders, so the threshold depends on the carrier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aftersales.models import ParcelIssue, ParcelStatus

__all__ = ["DEFAULT_STUCK_AFTER", "STUCK_AFTER", "Anomaly", "AnomalyKind", "classify"]


class AnomalyKind(StrEnum):
    """Why a parcel needs someone's attention."""

    STUCK = "stuck"
    EXCEPTION = "exception"
    FAILED_ATTEMPT = "failed_attempt"
    RETURNING = "returning"  # on its way back to the sender, or back already


#: carrier code -> how long without a new event before a parcel counts as stuck.
STUCK_AFTER: dict[str, timedelta] = {
    "sf": timedelta(days=2),
    "jd": timedelta(days=2),
    "yto": timedelta(days=3),
    "zto": timedelta(days=3),
    "sto": timedelta(days=3),
    "yunda": timedelta(days=3),
    "jtexpress": timedelta(days=3),
    "deppon": timedelta(days=3),
    "cainiao": timedelta(days=3),
    "ems": timedelta(days=4),
    "chinapost": timedelta(days=5),
    "ups": timedelta(days=4),
    "fedex": timedelta(days=4),
    "dhl": timedelta(days=4),
    "usps": timedelta(days=5),
    "upu": timedelta(days=10),
    "yunexpress": timedelta(days=7),
}
#: for carriers not in the table.
DEFAULT_STUCK_AFTER = timedelta(days=4)


@dataclass(frozen=True)
class Anomaly:
    """One parcel that needs attention, and why."""

    shipment_id: int
    tracking_number: str
    carrier: str | None
    kind: AnomalyKind
    status: ParcelStatus
    issue: ParcelIssue | None
    since: datetime | None  # the last event (or shipping time) it is judged from
    direction: str = "outbound"
    order_id: int | None = None
    rma_id: str | None = None


def classify(
    *,
    status: ParcelStatus,
    carrier: str | None,
    direction: str,
    last_event_at: datetime | None,
    shipped_at: datetime | None,
    now: datetime,
    stuck_after: Mapping[str, timedelta] = STUCK_AFTER,
    default: timedelta = DEFAULT_STUCK_AFTER,
) -> AnomalyKind | None:
    """The anomaly a parcel in this state shows, or ``None`` when it looks fine.

    Delivered and expired parcels are never anomalies. A returned *return*
    parcel (the buyer's, back with the buyer) is reported like an outbound
    parcel coming back: either way the goods did not arrive.
    """
    if status in (ParcelStatus.DELIVERED, ParcelStatus.EXPIRED):
        return None
    if status is ParcelStatus.EXCEPTION:
        return AnomalyKind.EXCEPTION
    if status is ParcelStatus.FAILED_ATTEMPT:
        return AnomalyKind.FAILED_ATTEMPT
    if status in (ParcelStatus.RETURNING, ParcelStatus.RETURNED):
        return AnomalyKind.RETURNING
    since = last_event_at or shipped_at
    limit = stuck_after.get(carrier or "", default)
    if since is not None and now - since > limit:
        return AnomalyKind.STUCK
    return None
