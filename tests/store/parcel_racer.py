"""A process that stores one parcel with no order lock around it, for the racing test (a script).

Usage: python parcel_racer.py DATABASE_URL ORDER_ID NUMBER DIR NAME [RMA_ID]

Stores outbound parcel ``NUMBER`` (no carrier) of order row ``ORDER_ID``
through :func:`~aftersales.store.parcel_keys.store_parcel` (as return request
``RMA_ID``'s, once another racer has touched its file: its insert meets that
racer's, still open), touches
``DIR/NAME``, then holds its transaction open until every other racer has
touched its file too (at most three seconds: a racer blocked by this one's
insert never does) before it commits. Prints ``done``, or ``error: <one
line>`` when the store refused the write.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from aftersales.errors import AfterSalesError
from aftersales.store import Store
from aftersales.store.parcel_keys import store_parcel


def _wait(folder: str, count: int) -> None:
    deadline = time.monotonic() + 3
    while len(list(Path(folder).iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def main(url: str, order_id: str, number: str, folder: str, name: str, rma_id: str = "") -> None:
    store = Store(url)
    try:
        with store.session() as session:
            if rma_id:
                _wait(folder, 1)
            store_parcel(session, order_id=int(order_id), rma_id=rma_id or None, store="sandbox",
                         direction="outbound", number=number, carrier=None, shipped_at=None)
            session.flush()
            Path(folder, name).touch()
            _wait(folder, 2)
    except AfterSalesError as exc:
        print(f"error: {exc}".splitlines()[0], flush=True)
        return
    finally:
        store.dispose()
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
