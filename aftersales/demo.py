"""``aftersales demo``: one after-sales cycle on a fresh SQLite file and the sandbox shop."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from rich.panel import Panel

from aftersales.cli_support import table

if TYPE_CHECKING:
    from aftersales.app import SyncReport
    from aftersales.cli_support import CliState

__all__ = ["AREAS", "DEMO_URL", "run_demo"]

DEMO_URL = "sqlite:///aftersales-demo.db"
#: The areas whose ``demo.run(app, console)`` the demo calls, in order.
AREAS = ("returns", "logistics", "reviews", "followups")


def _changed(report: SyncReport) -> int:
    return sum(sum(per.values()) for per in report.counts.values())


def run_demo(state: CliState, *, orders: int = 200, seed: int = 0) -> None:
    """Sync the sandbox into a fresh database and let every area show its work."""
    from aftersales.app import AfterSales
    from aftersales.sandbox import SandboxMarketplace

    url = state.database_url or DEMO_URL
    if url == DEMO_URL:
        Path("aftersales-demo.db").unlink(missing_ok=True)
    market = SandboxMarketplace(seed=seed, orders=orders)
    app = AfterSales(
        url,
        marketplaces=[market],
        carriers=[market.carrier()],
        channels=["outbox"],
        clock=lambda: market.now,
    )
    console = state.console
    console.print(
        Panel.fit(
            f"aftersales demo: sandbox shop (seed {seed}, {orders} orders) on {url}",
            style="bold",
        )
    )
    report = app.sync()
    rows = [(m, s, n) for m, per in report.counts.items() for s, n in per.items()]
    console.print(table("Synced from the sandbox", ["marketplace", "stream", "changed"], rows))
    for area in AREAS:
        module = importlib.import_module(f"aftersales.{area}.demo")
        module.run(app, console)
    echoed = app.sync()
    repeat = app.sync()
    console.print(
        f"Sync after the demo's own actions picked up {_changed(echoed)} echoed changes; "
        f"syncing again changed {_changed(repeat)} rows (idempotent)."
    )
    app.close()
