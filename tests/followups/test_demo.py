"""The followups part of the demo runs on the sandbox and sends to the outbox."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.followups import demo
from aftersales.sandbox import SandboxCarrier, SandboxMarketplace
from aftersales.store.tables.core import OutboxRow


def test_demo_schedules_dispatches_and_reports(tmp_path: Path) -> None:
    market = SandboxMarketplace(seed=0, orders=60)
    app = AfterSales(f"sqlite:///{tmp_path}/d.db", marketplaces=[market],
                     carriers=[SandboxCarrier(seed=0)], channels=["outbox"],
                     clock=lambda: market.now, migrate=False)
    app.store.create_all()
    try:
        app.sync_orders("sandbox")
        out = io.StringIO()
        demo.run(app, Console(file=out, width=120))
        text = out.getvalue()
        assert "Follow-up metrics" in text
        assert "demo-satisfaction" in text
        (metrics,) = app.followups.metrics(plan="demo-satisfaction")
        assert metrics.scheduled > 0
        assert metrics.sent > 0
        with app.store.session() as s:
            messages = s.scalar(select(func.count()).select_from(OutboxRow)
                                .where(OutboxRow.topic == "message"))
        assert messages == metrics.sent
    finally:
        app.close()
