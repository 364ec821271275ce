"""A sandbox shop's data, worked by every area, once per backend for the report tests.

The shop is in ``America/New_York`` and its orders span 2026-02 into 2026-03,
so the data crosses a month boundary and the start of daylight saving time
(2026-03-08, a 23-hour day).
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

import pytest
from rich.console import Console

ZONE = "America/New_York"
START = datetime(2026, 3, 12, 15, tzinfo=UTC)


@dataclass
class Dataset:
    """A worked sandbox shop on one backend."""

    app: Any
    markets: list[Any]
    url: str


def build(url: str, *, orders: int = 160) -> Dataset:
    """Sync two sandbox stores, let every area work, move time on and work again."""
    from aftersales.app import AfterSales
    from aftersales.errors import AfterSalesError
    from aftersales.sandbox import SandboxClock, SandboxMarketplace

    clock = SandboxClock(START)
    first = SandboxMarketplace(seed=5, orders=orders, days=40, clock=clock)
    second = SandboxMarketplace(seed=6, orders=orders // 2, days=40, clock=clock, name="outlet")
    app = AfterSales(url, marketplaces=[first, second], carriers=[first.carrier()],
                     channels=["outbox"], clock=lambda: clock.now, timezone=ZONE,
                     migrate=False)
    app.store.create_all()
    app.sync()
    quiet = Console(file=io.StringIO())
    for area in ("returns", "logistics", "followups"):
        import_module(f"aftersales.{area}.demo").run(app, quiet)
    for step in range(4):
        clock.advance(days=2)
        app.sync()
        app.logistics.refresh()
        for i, r in enumerate(app.returns.list(status="return_shipped", limit=10_000)):
            if (i + step) % 3:
                _try(lambda r=r: app.returns.receive(r.rma_id or ""), AfterSalesError)
        for r in app.returns.list(status="received", limit=10_000):
            if step % 2:
                _try(lambda r=r: app.returns.refund(r.rma_id or ""), AfterSalesError)
        app.followups.dispatch_due()
    clock.advance(days=1.5)
    app.followups.dispatch_due()
    _work_cases(app, clock)
    for i, fu in enumerate(app.followups.list(status="sent", limit=10_000)):
        if i % 3 != 2:
            app.followups.record_outcome(fu.id or 0, nps=(i * 7) % 11,
                                         csat=None if i % 4 == 0 else 1 + i % 5)
    clock.advance(hours=1)  # the answers lie inside a window that ends "now"
    return Dataset(app, [first, second], url)


def _work_cases(app: Any, clock: Any) -> None:
    """Answer, judge and resolve some of the cases the areas' events opened."""
    from aftersales.errors import AfterSalesError

    cases = app.cases.list(limit=10_000) if _takes_limit(app) else app.cases.list()
    causes = ("product.quality", "fulfilment", "product.description_mismatch")
    for i, c in enumerate(cases):
        clock.advance(hours=1 + i % 5)
        if i % 3:
            _try(lambda c=c: app.cases.investigate(c.id), AfterSalesError)
        if i % 4 != 3:
            _try(lambda c=c, i=i: app.cases.set_cause(c.id, causes[i % 3], valid=i % 2 == 0),
                 AfterSalesError)
        if i % 3 == 1:
            _try(lambda c=c: app.cases.transition(c.id, "resolved"), AfterSalesError)
    clock.advance(days=2)
    app.cases.run_sla()


def _takes_limit(app: Any) -> bool:
    import inspect

    return "limit" in inspect.signature(app.cases.list).parameters


def _try(call: Any, errors: type[Exception]) -> None:
    with contextlib.suppress(errors):
        call()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                                marks=pytest.mark.postgres)])
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Dataset]:
    """The worked shop on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        data = build(f"sqlite:///{tmp_path_factory.mktemp('reports')}/reports.db")
        yield data
        data.app.close()
        return
    import sqlalchemy as sa

    server = request.getfixturevalue("pg_server")
    name = "r_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    data = build(f"{server}/{name}")
    try:
        yield data
    finally:
        data.app.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
