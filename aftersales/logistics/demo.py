"""The logistics part of ``aftersales demo``: detection, one refresh, anomalies, a timeline."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from aftersales.cli_support import table
from aftersales.logistics.detect import detect_carrier
from aftersales.store.tables.core import ShipmentRow

if TYPE_CHECKING:
    from rich.console import Console

    from aftersales.app import AfterSales

__all__ = ["SAMPLE_NUMBERS", "run"]

#: Real-format numbers shown by the detection step (check digits valid unless noted).
SAMPLE_NUMBERS = (
    "SF1234567890123",
    "YT9693083639795",
    "4311159956248",
    "EA123456785CN",
    "1Z5R89390357567127",
    "1Z5R89390357567128",  # broken UPS check digit
)


def run(app: AfterSales, console: Console) -> None:
    """Show this area at work on the sandbox."""
    console.rule("Logistics")
    rows = [(n, ", ".join(detect_carrier(n)) or "(none)") for n in SAMPLE_NUMBERS]
    console.print(table("Carrier detection from the number alone", ["number", "carriers"], rows))
    if not app.carriers:
        console.print("No tracking provider configured: skipping the refresh.")
        return
    report = app.logistics.refresh()
    calls = ", ".join(f"{k} {v}" for k, v in report.calls.items()) or "none"
    console.print(
        f"Refreshed {report.checked} of {report.due} open parcels with {report.total_calls} "
        f"provider calls ({calls}); {report.changed} changed status."
    )
    again = app.logistics.refresh()
    console.print(f"A second refresh right away costs {again.total_calls} calls (TTL).")
    with app.store.session() as session:
        counts = dict(
            session.execute(select(ShipmentRow.status, func.count()).group_by(ShipmentRow.status))
            .tuples()
            .all()
        )
    console.print(table("Parcels by status", ["status", "parcels"], sorted(counts.items())))
    found = app.logistics.anomalies()
    kinds = Counter(a.kind.value for a in found)
    flagged = [
        (a.tracking_number, a.carrier, a.kind.value, a.status.value,
         a.issue.value if a.issue else "", a.since.isoformat(timespec="minutes") if a.since else "")
        for a in found[:8]
    ]
    summary = ", ".join(f"{k} {v}" for k, v in kinds.items()) or "none"
    console.print(table(f"Anomalies ({summary})",
                        ["number", "carrier", "kind", "status", "issue", "since"], flagged))
    with app.store.session() as session:
        number = session.scalar(
            select(ShipmentRow.tracking_number).where(ShipmentRow.status == "delivered").limit(1)
        )
    if number:
        tracking = app.logistics.track(number)
        console.print(table(
            f"Timeline of {number} ({tracking.carrier}, {tracking.status.value})",
            ["time", "status", "location", "description"],
            [(e.time.isoformat(timespec="minutes"), e.status.value, e.location or "",
              e.description) for e in tracking.events],
        ))
