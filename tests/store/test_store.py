"""The store on SQLite and on a real PostgreSQL: migrations, round trips, locking, rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from aftersales.errors import ConcurrentUpdateError, ConfigurationError, StorageError
from aftersales.models import Buyer, Order, OrderLine, Shipment, TaxLine
from aftersales.money import Money
from aftersales.store import Base, Store
from aftersales.store.cursors import get_cursor, set_cursor
from aftersales.store.orders import get_order_row, order_from_row, upsert_orders
from aftersales.store.tables.core import OrderLineRow, OrderRow, ShipmentRow

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))


def _order(external_id: str = "o-1", updated: datetime = T0, **over: object) -> Order:
    data: dict[str, object] = {
        "marketplace": "sandbox",
        "external_id": external_id,
        "buyer": Buyer(external_id="b-1", email="b1@example.com", timezone="Asia/Shanghai"),
        "currency": "CNY",
        "lines": [
            OrderLine(external_id="l-1", sku="TEE-M", quantity=2, unit_price=Money("59.90", "CNY")),
            OrderLine(
                external_id="l-2",
                sku="CAP",
                quantity=1,
                unit_price=Money("0.10", "CNY"),
                discount=Money("0.01", "CNY"),
            ),
        ],
        "shipping": Money("8.00", "CNY"),
        "discount": Money("10.005", "CNY"),
        "total": Money("117.885", "CNY"),
        "placed_at": T0,
        "updated_at": updated,
        "shipments": [Shipment(tracking_number="SF1234567890123", carrier="SF")],
    }
    data.update(over)
    return Order.model_validate(data)


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    s.upgrade()
    yield s  # type: ignore[misc]
    s.dispose()


def test_migrations_from_empty_match_the_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert {"orders", "return_requests", "follow_ups", "outbox", "sync_cursors"} <= set(
        store.table_names()
    )


def _predicates(indexes: Any, dialect: str) -> dict[str, str]:
    """Index name -> its ``WHERE`` (partial indexes only), spelled alike on both sides."""
    out = {}
    for index in indexes:
        where = index["dialect_options"].get(f"{dialect}_where")
        if where is not None:
            out[index["name"]] = " ".join(str(where).replace("(", " ").replace(")", " ")
                                          .lower().split())
    return out


def test_migrated_partial_indexes_have_the_tables_predicates(store: Store) -> None:
    """compare_metadata sees an index's columns, not its ``WHERE``: this does."""
    dialect = store.engine.dialect.name
    inspector = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        declared = [{"name": i.name, "dialect_options": {
            f"{dialect}_where": i.dialect_options[dialect].get("where")}} for i in table.indexes]
        assert _predicates(inspector.get_indexes(table.name), dialect) == \
            _predicates(declared, dialect), table.name


def test_upgrade_twice_is_harmless(store: Store) -> None:
    store.upgrade()
    assert "orders" in store.table_names()


def test_order_round_trip_keeps_money_exact_and_times_aware(store: Store) -> None:
    with store.session() as s:
        upsert_orders(s, [_order()])
    with store.session() as s:
        row = get_order_row(s, "sandbox", "o-1")
        assert row is not None
        shipments = list(s.scalars(select(ShipmentRow).where(ShipmentRow.order_id == row.id)))
        back = order_from_row(row, shipments)
    original = _order()
    assert back.discount.amount == Decimal("10.005")
    assert back.total == original.total
    assert back.lines == original.lines
    assert back.placed_at == T0
    assert back.placed_at.tzinfo is not None
    assert back.placed_at.utcoffset() == timedelta(0)
    assert back.buyer == original.buyer
    assert [sh.carrier for sh in back.shipments] == ["sf"]


def test_order_round_trip_keeps_tax_and_both_currencies(store: Store) -> None:
    vat = [TaxLine(amount=Money("1.76", "CAD"), rate_id="75", title="GST", rate=Decimal("0.065"))]
    taxed = _order(
        currency="CAD", taxes_included=True, shop_currency="USD", shop_total=Money("26.30", "USD"),
        lines=[OrderLine(external_id="l-1", sku="MUG", quantity=2,
                         unit_price=Money("13.50", "CAD"), taxes=vat)],
        shipping=Money("6.75", "CAD"), discount=Money("0", "CAD"), total=Money("35.51", "CAD"),
        shipping_taxes=[TaxLine(amount=Money("0.44", "CAD"))],
    )
    with store.session() as s:
        upsert_orders(s, [taxed])
    with store.session() as s:
        row = get_order_row(s, "sandbox", "o-1")
        assert row is not None
        back = order_from_row(row)
    assert back.model_dump(exclude={"shipments"}) == taxed.model_dump(exclude={"shipments"})


def test_upserting_the_same_order_twice_writes_nothing_new(store: Store) -> None:
    with store.session() as s:
        first = upsert_orders(s, [_order()])
    with store.session() as s:
        again = upsert_orders(s, [_order()])
    assert [changed for _, changed, _ in first] == [True]
    assert [changed for _, changed, _ in again] == [False]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(OrderRow)) == 1
        assert s.scalar(select(func.count()).select_from(OrderLineRow)) == 2
        assert s.scalar(select(func.count()).select_from(ShipmentRow)) == 1


def test_a_newer_version_updates_in_place_and_reports_delivery(store: Store) -> None:
    with store.session() as s:
        upsert_orders(s, [_order()])
    later = T0 + timedelta(days=3)
    with store.session() as s:
        [(_row, changed, delivered)] = upsert_orders(
            s, [_order(updated=later, delivered_at=later, raw_status="delivered")]
        )
        assert changed
        assert delivered
    with store.session() as s:
        row2 = get_order_row(s, "sandbox", "o-1")
        assert row2 is not None
        assert row2.raw_status == "delivered"
        assert row2.version == 2


def test_a_stale_write_raises_concurrent_update(store: Store) -> None:
    with store.session() as s:
        upsert_orders(s, [_order()])
    a_session = store.session()
    a = a_session.__enter__()
    row_a = get_order_row(a, "sandbox", "o-1")
    assert row_a is not None
    with store.session() as b:
        row_b = get_order_row(b, "sandbox", "o-1")
        assert row_b is not None
        row_b.raw_status = "paid"
    row_a.raw_status = "cancelled"
    with pytest.raises(ConcurrentUpdateError):
        a_session.__exit__(None, None, None)
    with store.session() as s:
        final = get_order_row(s, "sandbox", "o-1")
        assert final is not None
        assert final.raw_status == "paid"
        assert final.version == 2


def test_a_failed_transaction_leaves_nothing_half_written(store: Store) -> None:
    with pytest.raises(StorageError), store.session() as s:
        set_cursor(s, "sandbox", "orders", "c-1")
        upsert_orders(s, [_order()])
        s.add(OrderRow(marketplace="sandbox", external_id="o-1"))  # duplicate natural key
        s.flush()
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(OrderRow)) == 0
        assert get_cursor(s, "sandbox", "orders") is None


def test_naive_datetimes_never_reach_the_database(store: Store) -> None:
    with pytest.raises(StorageError, match="naive"), store.session() as s:
        set_cursor(s, "x", "y", "z")
        s.flush()
        row = s.scalars(select(OrderRow)).first()
        assert row is None
        bad = OrderRow(
            marketplace="m",
            external_id="e",
            buyer_id="b",
            buyer={},
            currency="CNY",
            shipping=Decimal(0),
            discount=Decimal(0),
            total=Decimal(0),
            placed_at=datetime(2026, 1, 1),
            remote_updated_at=datetime.now(UTC),
        )
        s.add(bad)
        s.flush()


def test_cursors_round_trip(store: Store) -> None:
    with store.session() as s:
        assert get_cursor(s, "shopify", "returns") is None
        set_cursor(s, "shopify", "returns", "abc")
    with store.session() as s:
        set_cursor(s, "shopify", "returns", "def")
    with store.session() as s:
        assert get_cursor(s, "shopify", "returns") == "def"


def test_a_bad_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Store("not a url")
    with pytest.raises(ConfigurationError):
        Store("nosuchdialect://x")


@pytest.mark.parametrize(("query", "named"), [
    ("sslmode=requre", "sslmode must be one of"),
    ("sslmod=require", 'invalid connection option "sslmod"'),
])
def test_a_postgresql_url_libpq_cannot_use_is_a_configuration_error(
        query: str, named: str) -> None:
    """A typo in a libpq option failed every connection as "migration failed" (status 1)."""
    with pytest.raises(ConfigurationError, match=named) as caught:
        Store(f"postgresql+psycopg://app:s3cret-pw@db.invalid/shop?{query}")
    assert "s3cret-pw" not in str(caught.value)


def test_a_postgresql_url_with_good_libpq_options_is_accepted() -> None:
    store = Store("postgresql+psycopg://app@db.invalid/shop?sslmode=verify-full"
                  "&connect_timeout=3&application_name=aftersales")
    store.dispose()
