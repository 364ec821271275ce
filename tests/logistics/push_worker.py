"""A process that applies a run of pushes, for the racing-writers test (run as a script).

Usage: python push_worker.py DATABASE_URL PARCELS STEPS

Push number ``k`` (1 … STEPS) tells every parcel ``SF0000000000000`` …
of ``k`` scans an hour apart, the parcel in exception at every fifth push
and in transit otherwise. Two of these started together send the same
pushes at the same moments, as a provider that retries a push it thinks
was lost does. Prints ``done`` when every push was applied.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aftersales.app import AfterSales
from aftersales.interfaces import Capability, CarrierBase
from aftersales.models import ParcelStatus, Tracking, TrackingEvent

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


class JsonPushCarrier(CarrierBase):
    """A provider whose pushes are a JSON list of ``{number, status, hours}`` (unsigned)."""

    name = "pusher"
    capabilities = frozenset({Capability.TRACK})

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        out = []
        for item in json.loads(body):
            status = ParcelStatus(item["status"])
            hours = int(item["hours"])
            events = [TrackingEvent(time=T0 + timedelta(hours=h), description=f"scan {h}",
                                    status=status if h == hours - 1 else ParcelStatus.IN_TRANSIT)
                      for h in range(hours)]
            delivered = events[-1].time if status is ParcelStatus.DELIVERED and events else None
            out.append(Tracking(carrier=item.get("carrier", "sf"), number=item["number"],
                                status=status, events=events, provider=self.name,
                                delivered_at=delivered))
        return out


def push(numbers: list[str], status: ParcelStatus, hours: int, **extra: str) -> bytes:
    """The body of one push: ``numbers`` at ``status`` after ``hours`` hourly scans."""
    return json.dumps([{"number": n, "status": status.value, "hours": hours, **extra}
                       for n in numbers]).encode()


def main(url: str, parcels: int, steps: int) -> None:
    app = AfterSales(url, marketplaces=[], carriers=[JsonPushCarrier()], migrate=False)
    numbers = [f"SF{i:013d}" for i in range(parcels)]
    try:
        for step in range(1, steps + 1):
            status = ParcelStatus.EXCEPTION if step % 5 == 0 else ParcelStatus.IN_TRANSIT
            app.logistics.handle_push("pusher", push(numbers, status, step), {})
    finally:
        app.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
