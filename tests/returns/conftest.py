"""Builders shared by the returns tests: orders and request lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from aftersales.models import Buyer, Order, OrderLine, ReturnLine, ReturnReason
from aftersales.money import Money

DELIVERED = datetime(2026, 1, 1, 15, 0, tzinfo=UTC)


def build_order(
    *,
    lines: list[tuple[str, str, int, str]] | None = None,
    discount: str = "0",
    shipping: str = "10.00",
    delivered_at: datetime | None = DELIVERED,
    currency: str = "CNY",
    categories: dict[str, str] | None = None,
    buyer_tz: str | None = None,
    order_id: str = "O-1",
) -> Order:
    """An order; ``lines`` are ``(line_id, sku, quantity, unit_price)``."""
    specs = lines or [("L1", "TSHIRT-M", 2, "100.00"), ("L2", "MUG", 1, "50.00")]
    cats = categories or {}
    order_lines = [
        OrderLine(external_id=lid, sku=sku, title=sku.title(), quantity=q,
                  unit_price=Money(p, currency), category=cats.get(sku))
        for lid, sku, q, p in specs
    ]
    goods = sum((ln.net for ln in order_lines), Money.zero(currency))
    return Order(
        marketplace="sandbox", external_id=order_id,
        buyer=Buyer(external_id="B-1", timezone=buyer_tz), currency=currency,
        lines=order_lines, shipping=Money(shipping, currency), discount=Money(discount, currency),
        total=goods - Money(discount, currency) + Money(shipping, currency),
        placed_at=datetime(2025, 12, 28, tzinfo=UTC), updated_at=datetime(2025, 12, 28, tzinfo=UTC),
        delivered_at=delivered_at,
    )


def rline(
    line_id: str = "L1", qty: int = 1, reason: ReturnReason = ReturnReason.NO_REASON, **kw: Any
) -> ReturnLine:
    """A request line."""
    return ReturnLine(order_line_id=line_id, quantity=qty, reason=reason, **kw)


@pytest.fixture(scope="session")
def make_order() -> Callable[..., Order]:
    """The :func:`build_order` builder as a fixture."""
    return build_order


@pytest.fixture(scope="session")
def make_line() -> Callable[..., ReturnLine]:
    """The :func:`rline` builder as a fixture."""
    return rline


# ---------------------------------------------------------------- service fixtures


@pytest.fixture
def synced(app: Any) -> Any:
    """The ``app`` fixture with the sandbox's orders synced (return requests not synced)."""
    app.sync_orders("sandbox")
    return app


@pytest.fixture
def fresh_order(synced: Any) -> Callable[..., Order]:
    """Pick a stored order delivered in the last few days, with at least ``units`` on a line."""
    from datetime import timedelta

    from sqlalchemy import select

    from aftersales.store.orders import order_from_row
    from aftersales.store.tables.core import OrderRow

    used: set[str] = set()

    def pick(units: int = 1, lines: int = 1, shipping: bool | None = None) -> Order:
        now = synced.now()
        with synced.store.session() as s:
            rows = s.scalars(select(OrderRow).where(
                OrderRow.delivered_at >= now - timedelta(days=6)).order_by(OrderRow.id)).all()
            for row in rows:
                order = order_from_row(row)
                if order.external_id in used or len(order.lines) < lines:
                    continue
                if max(ln.quantity for ln in order.lines) < units:
                    continue
                if shipping is not None and bool(order.shipping) != shipping:
                    continue
                used.add(order.external_id)
                return order
        raise LookupError("the sandbox has no such order")

    return pick


@pytest.fixture
def refundable(synced: Any, fresh_order: Callable[..., Order]) -> Callable[[], str]:
    """``refundable()``: a new approved refund-only request of the sandbox shop."""
    from aftersales.models import ReturnKind

    def make() -> str:
        order = fresh_order()
        rma = synced.returns.request(
            order.marketplace, order.external_id,
            [ReturnLine(order_line_id=order.lines[0].external_id, quantity=1,
                        reason=ReturnReason.QUALITY_ISSUE)],
            kind=ReturnKind.REFUND_ONLY, evidence=["p.jpg"]).rma_id
        synced.returns.approve(rma)
        return str(rma)

    return make


@pytest.fixture
def events(app: Any) -> list[Any]:
    """Every event the app dispatched after commit, in order."""
    seen: list[Any] = []
    app.on("*", seen.append)
    return seen


def seed_requests(app: Any, n: int, *, start: int = 0, kind: str = "return") -> list[str]:
    """Insert ``n`` requested local returns fast (one line each); returns their rma ids."""
    from sqlalchemy import insert

    from aftersales.store.tables.returns import ReturnLineRow, ReturnRow

    now = app.now()
    ids = [f"RMA-T{i:07d}" for i in range(start, start + n)]
    with app.store.session() as s:
        s.execute(insert(ReturnRow), [
            {"rma_id": rma, "marketplace": "shop", "external_id": None,
             "order_external_id": f"O-{i}", "buyer_id": f"B-{i % 97}", "kind": kind,
             "status": "requested", "currency": "CNY", "evidence": [], "version": 1,
             "eligibility": "eligible", "created_at": now, "updated_at": now}
            for i, rma in enumerate(ids, start=start)])
        s.execute(insert(ReturnLineRow), [
            {"rma_id": rma, "order_line_external_id": f"O-{i}-L1", "sku": "SKU-1",
             "quantity": 1, "reason": "no_reason"}
            for i, rma in enumerate(ids, start=start)])
    return ids


@pytest.fixture
def seed(app: Any) -> Callable[..., list[str]]:
    """``seed(n)``: insert n requested returns into the ``app`` fixture's database."""
    return lambda n, **kw: seed_requests(app, n, **kw)


@pytest.fixture(scope="session")
def seeder() -> Callable[..., list[str]]:
    """:func:`seed_requests` for tests that build their own app."""
    return seed_requests


# ---------------------------------------------------------------- no call inside a write


@pytest.fixture(autouse=True)
def _no_call_inside_a_write(no_call_inside_a_write: list[str]) -> list[str]:
    """Every returns test runs with the write-transaction guard on (tests/conftest.py)."""
    return no_call_inside_a_write
