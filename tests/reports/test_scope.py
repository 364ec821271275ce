"""A report's window and store filter: hostile values are one error naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aftersales.app import AfterSales
from aftersales.errors import ValidationError


@pytest.fixture
def app(db_url: str) -> Iterator[AfterSales]:
    with AfterSales(db_url, marketplaces=[], carriers=[], channels=["outbox"]) as instance:
        yield instance


@pytest.mark.parametrize("store", [
    "shop\x00",
    "shop\ud800",  # a bare UnicodeEncodeError
    "s" * 100_000,
    5,  # a TypeError
])
@pytest.mark.parametrize("section", ["cases", "returns"])
def test_a_store_a_column_cannot_hold_is_refused_by_name(app: AfterSales, store: object,
                                                         section: str) -> None:
    with pytest.raises(ValidationError, match="field 'store'") as raised:
        app.reports.section(section, store=store)
    assert len(str(raised.value)) < 300
    with pytest.raises(ValidationError, match="field 'store'"):
        app.reports.html(store=("sandbox", store))


def test_refunded_tax_is_shown_per_currency_as_the_returns_area_recorded_it(
        app: AfterSales) -> None:
    """Each paid refund's breakdown records the tax inside it; the revenue table
    shows that tax per currency next to the refunded money, never mixed."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from aftersales.reports.export import to_jsonable
    from aftersales.store.tables.core import OrderRow
    from aftersales.store.tables.returns import RefundRow

    placed = datetime(2026, 3, 2, 12, tzinfo=UTC)
    refunds = [("o1", "EUR", "24.40", "4.07", "paid"), ("o1", "EUR", "12.20", "2.03", "paid"),
               ("o2", "USD", "10.00", "0.80", "paid"), ("o2", "USD", "5.00", "0.40", "failed"),
               ("o3", "JPY", "1100", None, "paid")]  # a refund whose breakdown holds no tax
    with app.store.session() as session:
        for order, currency, total in (("o1", "EUR", "100.00"), ("o2", "USD", "50.00"),
                                       ("o3", "JPY", "5500")):
            session.add(OrderRow(marketplace="shop", external_id=order, buyer_id="b",
                                 buyer={}, currency=currency, shipping=Decimal(0),
                                 discount=Decimal(0), total=Decimal(total), placed_at=placed,
                                 remote_updated_at=placed, version=1))
        for i, (order, currency, amount, tax, status) in enumerate(refunds):
            breakdown = {"currency": currency, "total": {"amount": amount, "currency": currency}}
            if tax is not None:
                breakdown["total_tax"] = {"amount": tax, "currency": currency}
            session.add(RefundRow(order_external_id=order, marketplace="shop", currency=currency,
                                  amount=Decimal(amount), breakdown=breakdown,
                                  idempotency_key=f"k{i}", status=status, created_at=placed))
    tables = app.reports.section("returns", since=datetime(2026, 3, 1, tzinfo=UTC),
                                 until=datetime(2026, 4, 1, tzinfo=UTC), by="all")
    revenue = next(t for t in tables if t.name == "revenue")
    got = {r.currency: (r.refunded, r.refunded_tax) for r in revenue.rows}
    assert got == {"EUR": (Decimal("36.60"), Decimal("6.10")),
                   "USD": (Decimal("10.00"), Decimal("0.80")),
                   "JPY": (Decimal("1100"), Decimal("0"))}
    rows = next(t for t in to_jsonable(tables) if t["name"] == "revenue")["rows"]
    assert {r["currency"]: r["refunded_tax"] for r in rows} == {
        "EUR": "6.10", "USD": "0.80", "JPY": "0"}
