"""An app with a settable clock, the outbox and a recording channel, schema from metadata."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError
from aftersales.models import Message, Receipt

START = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


class Recorder:
    """A non-transactional channel that records sends and can be told to fail."""

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self.sent: list[Message] = []
        self.fail_with: AfterSalesError | None = None
        self.on_send: Any = None

    def send(self, message: Message) -> Receipt:
        if self.on_send is not None:
            self.on_send(message)
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)
        return Receipt(channel=self.name, message_id=f"r{len(self.sent)}",
                       accepted_at=datetime.now(UTC))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_app(tmp_path: Any, clock: Clock, recorder: Recorder) -> Iterator[Any]:
    apps: list[AfterSales] = []

    def build(url: str | None = None, marketplaces: Any = (), **options: Any) -> AfterSales:
        app = AfterSales(url or f"sqlite:///{tmp_path}/f{len(apps)}.db",
                         marketplaces=list(marketplaces),
                         carriers=[], channels=["outbox", recorder], timezone="Asia/Shanghai",
                         clock=clock, migrate=False, **options)
        app.store.create_all()
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: Any) -> AfterSales:
    return make_app()  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _no_call_inside_a_write(no_call_inside_a_write: list[str]) -> list[str]:
    """Every followups test runs with the write-transaction guard on (tests/conftest.py)."""
    return no_call_inside_a_write
