"""A refresh worker process for the multi-process tests (run as a script).

Usage: python refresh_worker.py DATABASE_URL WORKER_NAME [PAUSE_AT]

It refreshes every due parcel once (TTL one hour) against a provider that
answers each number at once: in exception when the number ends in 0, in
transit otherwise, with one scan. It prints ``asked NUMBER`` for every
number it sent, then ``done``. With ``PAUSE_AT`` it stops inside the write
transaction of its ``PAUSE_AT``-th parcel event (waiting on stdin), so the
test's SIGKILL lands with parcels claimed, some written and one write open.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from aftersales.app import AfterSales
from aftersales.interfaces import Capability, CarrierBase
from aftersales.models import ParcelStatus, Tracking, TrackingEvent, TrackQuery, TrackResult

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
_PRINT = threading.Lock()  # calls run on two threads: one whole line at a time


class Answering(CarrierBase):
    name = "answering"
    capabilities = frozenset({Capability.TRACK})
    batch_size = 20

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        out = []
        for q in queries:
            with _PRINT:
                sys.stdout.write(f"asked {q.number}\n")
                sys.stdout.flush()
            status = ParcelStatus.EXCEPTION if q.number.endswith("0") else ParcelStatus.IN_TRANSIT
            scan = TrackingEvent(time=T0, status=status, description=f"{status} scan")
            out.append(TrackResult(query=q, tracking=Tracking(
                carrier=q.carrier, number=q.number, status=status, events=[scan],
                provider=self.name)))
        return out


def main(url: str, pause_at: int = 0) -> None:
    app = AfterSales(url, marketplaces=[], carriers=[Answering()], migrate=False,
                     logistics={"claim_every": 40, "write_every": 20, "max_in_flight": 2})
    emit = app.runtime.events.emit
    count = 0

    def paused(session: Session, name: str, payload: dict[str, Any], *, key: str,
               outbox: bool = True) -> bool:
        nonlocal count
        count += 1
        if count == pause_at:
            print("paused", flush=True)
            sys.stdin.readline()  # hold the write open until the test kills us
        return emit(session, name, payload, key=key, outbox=outbox)

    app.runtime.events.emit = paused  # type: ignore[method-assign]
    try:
        app.logistics.refresh()
    finally:
        app.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
