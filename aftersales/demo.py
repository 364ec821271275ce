"""``aftersales demo``: one after-sales cycle on a fresh SQLite file and two sandbox stores.

The main store is named ``sandbox``; a smaller outlet (``sandbox-outlet``,
another seed, the same clock) runs beside it in the same database, so the
same external order ids exist twice without meeting, and the demo ends with
each store's figures and their roll-up.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rich.panel import Panel

from aftersales.cli_support import table

if TYPE_CHECKING:
    from rich.console import Console

    from aftersales.app import AfterSales, SyncReport
    from aftersales.cli_support import CliState
    from aftersales.store_metrics import StoreFigures

__all__ = ["AREAS", "DEMO_URL", "REPORT_FILE", "run_demo"]

DEMO_URL = "sqlite:///aftersales-demo.db"
#: Where the demo writes its HTML report (in the working directory), and over how many days.
REPORT_FILE = "aftersales-demo-report.html"
REPORT_DAYS = 35
#: The areas whose ``demo.run(app, console)`` the demo calls, in order.
AREAS = ("returns", "logistics", "reviews", "followups")


def _changed(report: SyncReport) -> int:
    return sum(sum(per.values()) for per in report.counts.values())


def run_demo(state: CliState, *, orders: int = 200, seed: int = 0) -> None:
    """Sync two sandbox stores into a fresh database and let every area show its work."""
    from aftersales.app import AfterSales
    from aftersales.sandbox import SandboxMarketplace

    url = state.database_url or DEMO_URL
    if url == DEMO_URL:
        Path("aftersales-demo.db").unlink(missing_ok=True)
    market = SandboxMarketplace(seed=seed, orders=orders)
    outlet = SandboxMarketplace(seed=seed + 1, orders=max(orders // 4, 1), clock=market.clock,
                                name="sandbox-outlet")
    app = AfterSales(
        url,
        marketplaces=[market, outlet],
        carriers=[market.carrier()],
        channels=["outbox"],
        clock=lambda: market.now,
    )
    console = state.console
    console.print(
        Panel.fit(
            f"aftersales demo: two sandbox stores, {market.name} (seed {seed}, {orders} orders) "
            f"and {outlet.name} (seed {seed + 1}, {max(orders // 4, 1)} orders), on {url}",
            style="bold",
        )
    )
    report = app.sync()
    rows = [(m, s, n) for m, per in report.counts.items() for s, n in per.items()]
    console.print(table("Synced from the sandbox stores", ["store", "stream", "changed"], rows))
    for area in AREAS:
        module = importlib.import_module(f"aftersales.{area}.demo")
        module.run(app, console)
    echoed = app.sync()
    repeat = app.sync()
    console.print(
        f"Sync after the demo's own actions picked up {_changed(echoed)} echoed changes; "
        f"syncing again changed {_changed(repeat)} rows (idempotent)."
    )
    _stores(app, console)
    html = Path(REPORT_FILE).resolve()
    since = market.start - timedelta(days=REPORT_DAYS)
    html.write_text(app.reports.html(since=since), encoding="utf-8")
    console.print(f"HTML report (every section's charts, works offline): {html}")
    app.close()


def _stores(app: AfterSales, console: Console) -> None:
    """Each store's figures and the roll-up, counted on its own."""
    metrics = app.store_metrics()

    def row(name: str, figures: StoreFigures) -> tuple[object, ...]:
        paid = ", ".join(f"{a} {c}" for c, a in sorted(figures.refunded.items())) or "-"
        return (name, figures.orders, sum(figures.returns.values()), figures.refunds_paid, paid,
                figures.reviews, figures.followups_sent)

    rows = [row(name, figures) for name, figures in metrics.stores.items()]
    console.print(table("Per store, and all stores (counted on its own)",
                        ["store", "orders", "requests", "refunds", "refunded", "reviews",
                         "follow-ups sent"], [*rows, row("all", metrics.total)]))
    same = "equal" if metrics.summed() == metrics.total else "NOT equal"
    console.print(f"The stores' figures added up are {same} to the roll-up.")
