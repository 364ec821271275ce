"""Set-based order pages write exactly what the per-order path wrote, in a few statements.

The per-order path (``upsert_orders`` plus one ``emit`` per event, as order
sync did it before) runs here side by side with ``app.sync_orders`` on random
pages with random changes; every stored row, event, version and cursor must
match, and so must the changed counts and the hooks that ran.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from aftersales.app import AfterSales
from aftersales.models import Buyer, Order, OrderLine, Page, Shipment, ShipmentDirection
from aftersales.money import Money
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.cursors import set_cursor
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.core import CursorRow, OrderLineRow, OrderRow, OutboxRow, ShipmentRow
from tests.table_dump import Rows, dump_tables

STORE = "sandbox"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
EAST8 = timezone(timedelta(hours=8))
PRICES = [Decimal("5"), Decimal("5.0"), Decimal("5.00"), Decimal("7.25"), Decimal("19.9")]
_SKIP = {"created_at", "updated_at"}


def _app(url: str) -> AfterSales:
    app = AfterSales(url, marketplaces=[SandboxMarketplace(seed=0, orders=30)],
                     clock=lambda: T0, migrate=False)
    app.store.create_all()
    return app


def per_order_sync(app: AfterSales, pages: Sequence[Page[Order]]) -> list[int]:
    """Order sync as it was written before set-based pages: the reference."""
    counts = []
    for page in pages:
        changed = 0
        with app.store.session() as session:
            for row, did_change, delivered in upsert_orders(session, page.items):
                changed += did_change
                if delivered:
                    app.events.emit(session, "order.delivered", {
                        "marketplace": STORE, "order_id": row.external_id,
                        "buyer_id": row.buyer_id,
                        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
                    }, key=f"order.delivered:{STORE}:{row.external_id}")
            if page.cursor is not None:
                set_cursor(session, STORE, "orders", page.cursor)
        counts.append(changed)
    return counts


def set_based_sync(app: AfterSales, pages: Sequence[Page[Order]]) -> list[int]:
    """``app.sync_orders`` over these pages, one call per page (to count per page)."""
    counts = []
    for page in pages:
        app.marketplace(STORE).list_orders = (  # type: ignore[method-assign]
            lambda cursor=None, page=page: iter([page]))
        counts.append(app.sync_orders(STORE))
    return counts


def dump(app: AfterSales) -> Rows:
    """Every row the sync writes, all columns but the wall-clock timestamps."""
    return dump_tables(app, [t.__table__ for t in (
        OrderRow, OrderLineRow, ShipmentRow, OutboxRow, CursorRow)], _SKIP)


# ------------------------------------------------------------------ strategies

_order_ids = st.sampled_from([f"O{i}" for i in range(6)])
_money = st.sampled_from(PRICES)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    oid = draw(_order_ids)
    line_ids = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3,
                             unique=True))
    lines = [OrderLine(external_id=f"{oid}-{lid}", sku=draw(st.sampled_from(["S1", "S2"])),
                       title=draw(st.sampled_from(["", "Mug"])),
                       quantity=draw(st.integers(1, 3)), unit_price=Money(draw(_money), "CNY"),
                       discount=draw(st.none() | _money.map(lambda d: Money(d, "CNY"))))
             for lid in line_ids]
    placed = T0 + timedelta(hours=int(oid[1:]))
    updated = placed + timedelta(minutes=draw(st.integers(0, 4)))
    delivered = draw(st.none() | st.integers(0, 2).map(lambda h: placed + timedelta(hours=h)))
    if delivered is not None and draw(st.booleans()):
        delivered = delivered.astimezone(EAST8)  # the same instant, another zone
    tracking = draw(st.lists(st.sampled_from(["SF1", "SF2", "YT3"]), max_size=2))
    return Order(
        marketplace=STORE, external_id=oid,
        buyer=Buyer(external_id=draw(st.sampled_from(["B1", "B2"]))),
        currency="CNY", lines=lines, shipping=Money(draw(_money), "CNY"),
        discount=Money(Decimal(0), "CNY"), total=Money(draw(_money), "CNY"),
        raw_status=draw(st.sampled_from([None, "paid", "delivered"])),
        placed_at=placed, updated_at=updated, delivered_at=delivered,
        shipments=[Shipment(tracking_number=t, carrier="sf",
                            direction=draw(st.sampled_from(list(ShipmentDirection))),
                            shipped_at=placed) for t in tracking],
    )


@st.composite
def page_lists(draw: st.DrawFn) -> list[Page[Order]]:
    n = draw(st.integers(1, 4))
    return [Page[Order](items=draw(st.lists(orders(), min_size=1, max_size=6)),
                        cursor=draw(st.none() | st.just(f"c{i}"))) for i in range(n)]


# ------------------------------------------------------------------ properties


def _empty(url: str, d: str) -> str:
    """``url`` with the sync's tables emptied (ids from 1 again); a new SQLite file for SQLite."""
    if not url.startswith("postgresql"):
        return f"sqlite:///{d}/new.db"
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE orders, order_lines, shipments, outbox, sync_cursors"
                             " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def schema_url(db_url: str) -> str:
    """``db_url`` with the tables created once (the property's examples empty them)."""
    _app(db_url).close()
    return db_url


def _scenario() -> list[Page[Order]]:
    """A fixed history: new orders, a re-listing with changes, a repeat within a page."""
    def order(oid: str, minute: int, price: str, delivered: bool, tracking: list[str],
              lines: Sequence[str] = ("a",)) -> Order:
        placed = T0 + timedelta(hours=int(oid[1:]))
        return Order(
            marketplace=STORE, external_id=oid, buyer=Buyer(external_id="B1"), currency="CNY",
            lines=[OrderLine(external_id=f"{oid}-{x}", sku="S1", quantity=1,
                             unit_price=Money(Decimal(price), "CNY")) for x in lines],
            shipping=Money(Decimal(price), "CNY"), discount=Money(Decimal(0), "CNY"),
            total=Money(Decimal(price), "CNY"), placed_at=placed,
            updated_at=placed + timedelta(minutes=minute),
            delivered_at=placed + timedelta(hours=1) if delivered else None,
            shipments=[Shipment(tracking_number=t, carrier="sf") for t in tracking])

    return [
        Page[Order](items=[order("O1", 0, "5.0", False, ["SF1"]),
                           order("O2", 0, "7", True, [])], cursor="c1"),
        Page[Order](items=[order("O1", 1, "5.00", True, ["SF1", "SF2"], ("a", "b")),
                           order("O2", 0, "9", True, []),
                           order("O3", 0, "5", False, [])], cursor="c2"),
        Page[Order](items=[order("O3", 2, "6", True, ["YT1"]),
                           order("O3", 3, "6.5", True, ["YT1", "YT2"], ("a", "c")),
                           order("O1", 1, "5", True, [])], cursor="c3"),
    ]


@settings(max_examples=30, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pages=page_lists())
@example(pages=_scenario())
def test_set_based_pages_write_what_the_per_order_path_wrote(
    schema_url: str, pages: list[Page[Order]]
) -> None:
    """On SQLite and on PostgreSQL (its native upsert) against the per-order path on SQLite.

    Ids are compared too: an update never takes a new id from a sequence.
    """
    with tempfile.TemporaryDirectory() as d:
        ref, new = _app(f"sqlite:///{d}/ref.db"), _app(_empty(schema_url, d))
        try:
            heard: dict[str, list[str]] = {"ref": [], "new": []}
            ref.on("order.delivered", lambda e: heard["ref"].append(e.key))
            new.on("order.delivered", lambda e: heard["new"].append(e.key))
            assert set_based_sync(new, pages) == per_order_sync(ref, pages)
            assert dump(new) == dump(ref)
            assert heard["new"] == heard["ref"]
        finally:
            ref.close()
            new.close()


@pytest.mark.postgres
def test_postgresql_writes_what_the_per_order_path_wrote_on_sqlite(
    pg_url: str, tmp_path: Path
) -> None:
    pages = _scenario()
    ref, new = _app(f"sqlite:///{tmp_path}/ref.db"), _app(pg_url)
    try:
        assert set_based_sync(new, pages) == per_order_sync(ref, pages)
        assert dump(new) == dump(ref)
    finally:
        ref.close()
        new.close()


def test_an_unchanged_page_costs_two_statements_and_writes_nothing(db_url: str) -> None:
    app = _app(db_url)
    pages = _scenario()
    set_based_sync(app, pages)
    before = dump(app)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        for page in pages:
            with app.runtime.unit_of_work() as session:
                seen.clear()
                from aftersales.store.order_page import write_order_page

                written = write_order_page(session, page.items)
                set_cursor(session, STORE, "orders", page.cursor)
                assert not any(w.changed for w in written)
                assert len(seen) <= 2, seen
                assert all(s.lstrip().upper().startswith("SELECT") for s in seen), seen
    finally:
        event.remove(app.store.engine, "before_cursor_execute", count)
    assert set_based_sync(app, pages) == [0, 0, 0]
    assert dump(app) == before
    app.close()


def test_an_order_changed_meanwhile_is_a_concurrent_update(db_url: str) -> None:
    from aftersales.errors import ConcurrentUpdateError
    from aftersales.store.order_page import write_order_page

    app = _app(db_url)
    pages = _scenario()
    set_based_sync(app, pages[:1])
    real_execute = Session.execute
    bumped: list[bool] = []

    def racing(self: Session, statement: Any, *args: Any, **kw: Any) -> Any:
        if getattr(statement, "is_update", False) and not bumped:
            bumped.append(True)  # another writer moves O1 on between our read and our write
            real_execute(self, OrderRow.__table__.update()
                         .where(OrderRow.__table__.c.external_id == "O1")
                         .values(version=OrderRow.__table__.c.version + 1))
        return real_execute(self, statement, *args, **kw)

    with pytest.raises(ConcurrentUpdateError), app.runtime.unit_of_work() as session:
        session.execute = racing.__get__(session)  # type: ignore[method-assign]
        write_order_page(session, pages[1].items)
    with app.store.session() as s:
        assert s.scalar(select(OrderRow.version).where(OrderRow.external_id == "O1")) == 1
    app.close()


def _store_meanwhile(session: Session, order: Order) -> Any:
    """A ``session.execute`` that stores ``order`` (another writer) just before our first INSERT.

    The page's read has already found the order absent, so the page plans it
    as new; the other writer's row is what the upsert then meets.
    """
    real_execute = Session.execute
    done: list[bool] = []

    def racing(self: Session, statement: Any, *args: Any, **kw: Any) -> Any:
        if getattr(statement, "is_insert", False) and not done:
            done.append(True)
            upsert_orders(self, [order])
        return real_execute(self, statement, *args, **kw)

    return racing.__get__(session)


def test_an_order_stored_meanwhile_as_recent_is_unchanged_by_the_page(db_url: str) -> None:
    """Two syncs of the same new orders at once: the second changes nothing and fails nothing."""
    from aftersales.store.order_page import write_order_page

    app = _app(db_url)
    page = _scenario()[0]
    first = page.items[0]
    try:
        with app.runtime.unit_of_work() as session:
            session.execute = _store_meanwhile(session, first)  # type: ignore[method-assign]
            written = write_order_page(session, page.items)
        assert [(w.external_id, w.changed, w.newly_delivered) for w in written] == [
            ("O1", False, False), ("O2", True, True)]
        with app.store.session() as s:
            rows = {r.external_id: r.version for r in s.scalars(select(OrderRow))}
            lines = s.scalars(select(OrderLineRow.external_id).order_by(OrderLineRow.id)).all()
            parcels = s.scalars(select(ShipmentRow.tracking_number)).all()
        assert rows == {"O1": 1, "O2": 1}
        assert lines == ["O1-a", "O2-a"]  # the other writer's line, not a second copy
        assert parcels == ["SF1"]
    finally:
        app.close()


def test_an_order_stored_meanwhile_older_is_a_concurrent_update(db_url: str) -> None:
    """The page planned the order as new; a stored older copy means the plan is stale."""
    from aftersales.errors import ConcurrentUpdateError
    from aftersales.store.order_page import write_order_page

    app = _app(db_url)
    page = _scenario()[0]
    older = page.items[0].model_copy(update={"updated_at": page.items[0].updated_at
                                             - timedelta(minutes=5)})
    try:
        with pytest.raises(ConcurrentUpdateError), app.runtime.unit_of_work() as session:
            session.execute = _store_meanwhile(session, older)  # type: ignore[method-assign]
            write_order_page(session, page.items)
        with app.store.session() as s:
            assert s.scalars(select(OrderRow)).all() == []  # nothing half-written
            assert s.scalars(select(OrderLineRow)).all() == []
    finally:
        app.close()


HOSTILE = ['张三 😀 "quoted" \\back\\slash', "O'Brien\n\ttab", "𝒳 \u200b zero-width", "{\"json\": 1}"]


@pytest.mark.parametrize("text", HOSTILE)
def test_any_text_is_stored_as_listed(db_url: str, text: str) -> None:
    """Names and titles with emoji, CJK, quotes, backslashes and JSON-like text round-trip.

    On PostgreSQL the page travels as one JSON document; nothing in a value
    may change its meaning or its text.
    """
    from aftersales.store.orders import get_order_row, order_from_row

    page = _scenario()[0]
    first = page.items[0]
    odd = first.model_copy(update={
        "buyer": Buyer(external_id=text, name=text, address=text),
        "raw_status": text[:80],
        "lines": [first.lines[0].model_copy(update={"title": text, "sku": text})],
        "shipments": [Shipment(tracking_number=text[:80], carrier="sf")],
    })
    app = _app(db_url)
    try:
        app.marketplace(STORE).list_orders = (  # type: ignore[method-assign]
            lambda cursor=None: iter([Page[Order](items=[odd, page.items[1]], cursor=text)]))
        assert app.sync_orders(STORE) == 2
        with app.store.session() as s:
            row = get_order_row(s, STORE, first.external_id)
            assert row is not None
            stored = order_from_row(row, s.scalars(select(ShipmentRow)).all())
            cursor = s.scalar(select(CursorRow.cursor))
        assert stored.buyer == odd.buyer
        assert stored.raw_status == odd.raw_status
        assert [(ln.title, ln.sku) for ln in stored.lines] == [(text, text)]
        assert stored.shipments[0].tracking_number == text[:80]
        assert cursor == text
    finally:
        app.close()


@pytest.mark.postgres
def test_two_syncs_of_the_same_new_orders_at_once_both_succeed(pg_url: str, at_once: Any) -> None:
    """Two workers read the page (nothing stored yet), then both write it, on two connections.

    The second writer's upsert meets the first one's rows: it leaves them
    alone (as recent), fails nothing, and the orders, lines, parcels and
    ``order.delivered`` events exist once, counted as changed once.
    """
    import threading

    from aftersales.store import order_page

    page = _scenario()[0]
    apps = [_app(pg_url), _app(pg_url)]
    for app in apps:
        app.marketplace(STORE).list_orders = (  # type: ignore[method-assign]
            lambda cursor=None: iter([page]))
    both_read = threading.Barrier(2, timeout=30)
    real_read = order_page._read_stored

    def read_then_wait(session: Session, orders: Sequence[Order]) -> Any:
        found = real_read(session, orders)
        both_read.wait()  # neither writes before both have read
        return found

    order_page._read_stored = read_then_wait  # type: ignore[assignment]
    try:
        results, errors = at_once([lambda app=app: app.sync_orders(STORE) for app in apps])
    finally:
        order_page._read_stored = real_read  # type: ignore[assignment]
    try:
        assert errors == []
        assert sorted(results) == [0, 2]
        with apps[0].store.session() as s:
            assert s.scalars(select(OrderRow.version).order_by(OrderRow.id)).all() == [1, 1]
            assert len(s.scalars(select(OrderLineRow)).all()) == 2
            assert s.scalars(select(ShipmentRow.tracking_number)).all() == ["SF1"]
            assert s.scalars(select(OutboxRow.key)).all() == ["order.delivered:sandbox:O2"]
    finally:
        for app in apps:
            app.close()
