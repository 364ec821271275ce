"""A process that stores one order's return parcel, for the racing-writers test (a script).

Usage: python parcel_writer.py DATABASE_URL ROLE NUMBER DIR ORDER [RMA_ID]

``sync``: the order sync lists sandbox order ``ORDER`` again, its return parcel spelled
``NUMBER``; the write is held open for two seconds before it commits, after
touching ``DIR/flushed``. ``return``: waits for ``DIR/flushed``, then the
returns area records return ``RMA_ID``'s parcel as ``NUMBER`` (its look for
the parcel runs while the other write is still open). ``held-return`` and
``late-sync`` play the two the other way round: the return's write is held
open, and the order's sync, listing the parcel with no carrier, reads the
order's parcels while it is. Prints ``done``, or ``error: <one line>`` when
the store refused the write.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError
from aftersales.models import Shipment, ShipmentDirection
from aftersales.store.order_page import write_order_page
from aftersales.store.orders import get_order_row, order_from_row


def _hold_commits(flag: Path) -> None:
    """Every commit from now on flushes, touches ``flag``, and waits two seconds first."""
    real_commit = Session.commit

    def held(session: Session) -> None:
        session.flush()
        flag.touch()
        time.sleep(2)
        real_commit(session)

    Session.commit = held  # type: ignore[method-assign]


def _wait_for(flag: Path) -> None:
    deadline = time.monotonic() + 30
    while not flag.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the other writer never flushed")
        time.sleep(0.01)


def _sync(app: AfterSales, number: str, flag: Path, external_id: str,
          carrier: str | None = "sf", hold: bool = True) -> None:
    with app.store.session() as session:
        row = get_order_row(session, "sandbox", external_id)
        assert row is not None
        order = order_from_row(row)
    listed = order.model_copy(update={
        "updated_at": order.updated_at + timedelta(minutes=1),
        "shipments": [Shipment(tracking_number=number, carrier=carrier,
                               direction=ShipmentDirection.RETURN)]})
    if hold:
        _hold_commits(flag)
    else:
        _wait_for(flag)
    with app.store.session() as session:
        write_order_page(session, [listed])


def _return(app: AfterSales, number: str, flag: Path, rma_id: str, hold: bool = False) -> None:
    if hold:
        _hold_commits(flag)
    else:
        _wait_for(flag)
    app.returns.mark_shipped(rma_id, number, "sf")


def main(url: str, role: str, number: str, folder: str, order: str, rma_id: str = "") -> None:
    app = AfterSales(url, marketplaces=[], migrate=False)
    flag = Path(folder) / "flushed"
    try:
        if role == "sync":
            _sync(app, number, flag, order)
        elif role == "late-sync":
            _sync(app, number, flag, order, carrier=None, hold=False)
        elif role == "held-return":
            _return(app, number, flag, rma_id, hold=True)
        else:
            _return(app, number, flag, rma_id)
    except AfterSalesError as exc:
        print(f"error: {exc}".splitlines()[0], flush=True)
        return
    finally:
        app.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
