"""Helpers for the logistics service tests: a scripted provider, parcels, a clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError
from aftersales.interfaces import Capability, CarrierBase
from aftersales.models import ParcelStatus, Tracking, TrackingEvent, TrackQuery, TrackResult
from aftersales.store.tables.core import ShipmentRow

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


class Clock:
    """A settable clock for the app."""

    def __init__(self, now: datetime = T0 + timedelta(days=1)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class ScriptedCarrier(CarrierBase):
    """A provider whose answers the test decides; it records every batch it gets."""

    capabilities = frozenset({Capability.TRACK})

    def __init__(
        self,
        name: str = "primary",
        *,
        batch_size: int = 40,
        carriers: frozenset[str] | None = None,
        fail: AfterSalesError | None = None,
        status: ParcelStatus = ParcelStatus.IN_TRANSIT,
        statuses: Mapping[str, ParcelStatus] | None = None,
        refuse: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.batch_size = batch_size
        self.carriers = carriers
        self.fail = fail
        self.status = status
        self.statuses = dict(statuses or {})
        self.refuse = set(refuse)
        self.batches: list[list[str]] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.batches)

    @property
    def numbers(self) -> list[str]:
        return [n for batch in self.batches for n in batch]

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        assert len(queries) <= self.batch_size, "the service sent an over-sized batch"
        with self._lock:
            self.batches.append([q.number for q in queries])
        if self.fail is not None:
            raise self.fail
        out = []
        for q in queries:
            if q.number in self.refuse:
                out.append(TrackResult(query=q, error="unknown number", error_code="x"))
                continue
            status = self.statuses.get(q.number, self.status)
            event = TrackingEvent(time=T0, status=status, description=f"{status} scan")
            out.append(TrackResult(query=q, tracking=Tracking(
                carrier=q.carrier, number=q.number, status=status, events=[event],
                delivered_at=T0 if status is ParcelStatus.DELIVERED else None,
                provider=self.name,
            )))
        return out


def add_parcels(app: AfterSales, numbers: Sequence[str], **fields: Any) -> list[int]:
    """Store one outbound parcel per number; returns their ids."""
    with app.store.session() as session:
        rows = [ShipmentRow(tracking_number=n, carrier=fields.get("carrier", "sf"),
                            direction=fields.get("direction", "outbound"),
                            rma_id=fields.get("rma_id"),
                            shipped_at=fields.get("shipped_at", T0)) for n in numbers]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def numbers(count: int, prefix: str = "SF") -> list[str]:
    """``count`` distinct SF-shaped numbers."""
    return [f"{prefix}{i:013d}" for i in range(count)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(sqlite_url: str, clock: Clock) -> Iterator[Any]:
    """Build an app on a fresh SQLite file with the given providers."""
    built: list[AfterSales] = []

    def make(*carriers: Any, **options: Any) -> AfterSales:
        app = AfterSales(sqlite_url, marketplaces=[], carriers=list(carriers), clock=clock,
                         migrate=False, **options)
        app.store.create_all()
        built.append(app)
        return app

    yield make
    for app in built:
        app.close()


@pytest.fixture(autouse=True)
def _no_call_inside_a_write(no_call_inside_a_write: list[str]) -> list[str]:
    """Every logistics test runs with the write-transaction guard on (tests/conftest.py)."""
    return no_call_inside_a_write
