"""An app on each database with a settable clock, the sandbox's orders and an outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.tables.core import OrderRow

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_app(url: str, clock: Clock, **options: Any) -> AfterSales:
    """An app on ``url`` with the sandbox's orders synced (no reviews)."""
    sandbox = SandboxMarketplace(seed=0, orders=30)
    app = AfterSales(url, marketplaces=[sandbox], clock=clock, migrate=False,
                     channels=["outbox"], **options)
    app.store.create_all()
    app.sync_orders("sandbox")
    return app


@pytest.fixture
def app(db_url: str, clock: Clock) -> Iterator[AfterSales]:
    instance = make_app(db_url, clock)
    yield instance
    instance.close()


@pytest.fixture
def lite(sqlite_url: str, clock: Clock) -> Iterator[AfterSales]:
    instance = make_app(sqlite_url, clock)
    yield instance
    instance.close()


def an_order(app: AfterSales, index: int = 0) -> tuple[str, str]:
    """(order id, buyer id) of the ``index``-th stored order."""
    with app.store.session() as session:
        rows = session.query(OrderRow).order_by(OrderRow.id).all()
        return rows[index].external_id, rows[index].buyer_id


def emit(app: AfterSales, name: str, payload: dict[str, Any], key: str) -> None:
    """Emit one event as an area would: in a committed transaction."""
    with app.store.session() as session:
        app.events.emit(session, name, payload, key=key)
