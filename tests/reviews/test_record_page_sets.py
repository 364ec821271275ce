"""Set-based review pages write exactly what the per-review path wrote, in a few statements.

The per-review writer (``tests/reviews/per_row_reference.py``, the ORM code
reviews sync ran before) and the set-based one run side by side through
``app.reviews.sync`` on random pages with random edits, links to orders and
return requests (some arriving after their review), repeats within a page
and replies; every row of every table the sync writes, every event, version
and cursor must match, and so must the changed counts and the hooks heard.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session

import aftersales.reviews.service as review_service
from aftersales.app import AfterSales
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import Buyer, Order, OrderLine, Page, Review, Shipment
from aftersales.money import Money
from aftersales.reviews._record import record_page
from aftersales.reviews.alerts import AlertConfig
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.core import CursorRow, OutboxRow
from aftersales.store.tables.returns import ReturnLineRow, ReturnRow
from aftersales.store.tables.reviews import ReviewAlertRow, ReviewRow, ReviewVersionRow
from tests.reviews import per_row_reference
from tests.table_dump import Rows, dump_tables

STORE = "shop"
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
_SKIP = {"created_at", "updated_at"}
_TABLES = (ReviewRow, ReviewVersionRow, ReviewAlertRow, OutboxRow, CursorRow)


class PagedShop(MarketplaceBase):
    """Lists exactly the pages it is given (one sync call per list of pages)."""

    name = STORE
    capabilities = frozenset({Capability.LIST_REVIEWS})

    def __init__(self) -> None:
        self.pages: list[Page[Review]] = []

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        return iter(self.pages)


def _app(url: str) -> AfterSales:
    app = AfterSales(url, marketplaces=[PagedShop()], carriers=[], channels=["outbox"],
                     clock=lambda: T0 + timedelta(days=30), migrate=False,
                     review_alerts=AlertConfig(spike_threshold=2))
    app.store.create_all()
    with app.store.session() as session:
        upsert_orders(session, [_order(n) for n in (1, 2, 3)])
    return app


def _order(n: int) -> Order:
    return Order(
        marketplace=STORE, external_id=f"O{n}", buyer=Buyer(external_id=f"B{n}"),
        currency="CNY",
        lines=[OrderLine(external_id=f"O{n}-{x}", sku=f"S{x}", quantity=1,
                         unit_price=Money(Decimal("9.90"), "CNY")) for x in "ab"],
        shipping=Money(Decimal(0), "CNY"), discount=Money(Decimal(0), "CNY"),
        total=Money(Decimal("19.80"), "CNY"), placed_at=T0 - timedelta(days=9),
        updated_at=T0 - timedelta(days=9),
        shipments=[Shipment(tracking_number=f"SF{n}{k}", carrier="sf") for k in range(n % 3)])


def _add_return(app: AfterSales, number: int, order: int, line: str | None) -> None:
    """A return request synced meanwhile (same rows in both databases)."""
    with app.store.session() as session:
        row = ReturnRow(rma_id=f"RMA-{number:04d}", marketplace=STORE, external_id=f"X{number}",
                        order_external_id=f"O{order}", kind="return", status="requested",
                        evidence=[], created_at=T0 + timedelta(minutes=number),
                        updated_at=T0, version=1)
        if line is not None:
            row.lines.append(ReturnLineRow(order_line_external_id=f"O{order}-{line}",
                                           quantity=1, reason="damaged"))
        session.add(row)


@contextmanager
def _per_row() -> Iterator[None]:
    with mock.patch.object(review_service, "record_page", per_row_reference.record_page):
        yield


def sync_pages(app: AfterSales, pages: Sequence[Page[Review]]) -> list[int]:
    """``app.reviews.sync`` over these pages, one call per page (to count per page)."""
    shop = app.marketplace(STORE)
    assert isinstance(shop, PagedShop)
    counts = []
    for page in pages:
        shop.pages = [page]
        counts.append(app.reviews.sync()[STORE])
    return counts


def dump(app: AfterSales) -> Rows:
    """Every row the sync writes, all columns but the wall-clock timestamps."""
    return dump_tables(app, [t.__table__ for t in _TABLES], _SKIP)


# ------------------------------------------------------------------ strategies

_texts = st.sampled_from(["很好", "质量太差", "假货", "not bad", "物流太慢了", "还行", "",
                          "terrible, broke after a day"])


@st.composite
def reviews(draw: st.DrawFn) -> Review:
    rid = draw(st.sampled_from(["r1", "r2", "r3", "r4"]))
    order = draw(st.sampled_from([None, "O1", "O2", "O3", "O9"]))
    line = None
    if order is not None:
        line = draw(st.sampled_from([None, f"{order}-a", f"{order}-b"]))
    created = T0 + timedelta(minutes=int(rid[1:]))
    return Review(
        marketplace=STORE, external_id=rid, rating=draw(st.integers(1, 5)),
        title=draw(st.sampled_from([None, "", "Bad"])), body=draw(_texts),
        appended_body=draw(st.sampled_from([None, "用了一周还是坏了"])),
        reply=draw(st.sampled_from([None, "Sorry"])),
        sku=draw(st.sampled_from([None, "S1", "S2"])), order_id=order, order_line_id=line,
        return_id=draw(st.sampled_from([None, "X1", "X2"])) if order else None,
        tracking_number=draw(st.sampled_from([None, "YT9"])),
        created_at=created, updated_at=created + timedelta(minutes=draw(st.integers(0, 90))))


#: a page, and the returns that arrive just before it: (number, order, line or None)
Step = tuple[Page[Review], list[tuple[int, int, str | None]]]


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    steps: list[Step] = []
    number = 0
    def arrivals() -> list[tuple[int, int, str | None]]:
        nonlocal number
        out = []
        for _ in range(draw(st.integers(0, 2))):
            number += 1
            out.append((number, draw(st.integers(1, 3)), draw(st.sampled_from([None, "a", "b"]))))
        return out

    for i in range(draw(st.integers(1, 4))):
        page = Page[Review](items=draw(st.lists(reviews(), min_size=1, max_size=6)),
                            cursor=draw(st.none() | st.just(f"c{i}")))
        steps.append((page, arrivals()))
        if draw(st.booleans()):  # listed again unchanged (a replay), returns arriving meanwhile
            steps.append((page, arrivals()))
    return steps


def _run(ref: AfterSales, new: AfterSales, steps: Sequence[Step]) -> None:
    heard: dict[str, list[str]] = {"ref": [], "new": []}
    ref.on("*", lambda e: heard["ref"].append(e.key))
    new.on("*", lambda e: heard["new"].append(e.key))
    for page, arrivals in steps:
        for number, order, line in arrivals:
            _add_return(ref, number, order, line)
            _add_return(new, number, order, line)
        with _per_row():
            expected = sync_pages(ref, [page])
        assert sync_pages(new, [page]) == expected
    assert dump(new) == dump(ref)
    assert heard["new"] == heard["ref"]


# ------------------------------------------------------------------ properties


@settings(max_examples=25, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=histories())
def test_set_based_pages_write_what_the_per_review_path_wrote(steps: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as d:
        ref, new = _app(f"sqlite:///{d}/ref.db"), _app(f"sqlite:///{d}/new.db")
        try:
            _run(ref, new, steps)
        finally:
            ref.close()
            new.close()


def _review(rid: str, minute: int, rating: int, body: str, **fields: Any) -> Review:
    created = T0 + timedelta(minutes=int(rid[1:]))
    return Review(marketplace=STORE, external_id=rid, rating=rating, body=body, sku="S1",
                  created_at=created, updated_at=created + timedelta(minutes=minute), **fields)


def _scenario() -> list[Step]:
    """New reviews, an edit that resolves a 差评, a repeat in a page, a late return, spikes."""
    first = Page[Review](items=[
        _review("r1", 0, 1, "质量太差", order_id="O1", order_line_id="O1-a"),
        _review("r2", 0, 1, "假货", order_id="O2"),
        _review("r3", 0, 2, "terrible, broke after a day"),
    ], cursor="c1")
    second = Page[Review](items=[
        _review("r1", 5, 5, "很好", order_id="O1", order_line_id="O1-a"),
        _review("r4", 0, 1, "物流太慢了", order_id="O3"),
        _review("r4", 1, 2, "物流太慢了", order_id="O3", reply="Sorry"),
    ], cursor="c2")
    return [(first, []), (first, [(1, 2, None)]), (second, []), (second, [(2, 1, "a")])]


def test_a_fixed_history_writes_what_the_per_review_path_wrote(tmp_path: Path) -> None:
    ref, new = _app(f"sqlite:///{tmp_path}/ref.db"), _app(f"sqlite:///{tmp_path}/new.db")
    try:
        _run(ref, new, _scenario())
        with new.store.session() as s:  # the return that came after r2 is linked on replay
            assert s.scalar(select(ReviewRow.rma_id).where(ReviewRow.external_id == "r2")) \
                == "RMA-0001"
    finally:
        ref.close()
        new.close()


@pytest.mark.postgres
def test_postgresql_writes_what_the_per_review_path_wrote_on_sqlite(
    pg_url: str, tmp_path: Path
) -> None:
    ref, new = _app(f"sqlite:///{tmp_path}/ref.db"), _app(pg_url)
    try:
        _run(ref, new, _scenario())
    finally:
        ref.close()
        new.close()


def test_an_unchanged_page_costs_one_statement_and_writes_nothing(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path}/a.db")
    steps = _scenario()
    for page, arrivals in steps:
        for number, order, line in arrivals:
            _add_return(app, number, order, line)
        sync_pages(app, [page])
    before = dump(app)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    # the reviews as last synced, all linked to their request or naming no order
    final = Page[Review](items=[steps[2][0].items[0], steps[0][0].items[1],
                                steps[0][0].items[2]], cursor="c3")
    event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        with app.runtime.unit_of_work() as session:
            result = _record(app, session, final.items)
            assert result.changed == 0
            assert len(seen) == 1, seen  # only the stored reviews are read
            assert seen[0].lstrip().upper().startswith("SELECT"), seen
    finally:
        event.remove(app.store.engine, "before_cursor_execute", count)
    assert sync_pages(app, [final]) == [0]
    after = dump(app)
    assert after.pop("sync_cursors") != before.pop("sync_cursors")  # only the cursor moved
    assert after == before
    app.close()


def test_an_unlinked_unchanged_page_reads_twice_and_writes_nothing(tmp_path: Path) -> None:
    """Unchanged reviews not linked to a request: one more read (of requests), no write."""
    app = _app(f"sqlite:///{tmp_path}/a.db")
    page = Page[Review](items=[_review("r1", 0, 4, "还行", order_id="O1"),
                               _review("r2", 0, 5, "很好", order_id="O2")], cursor="c1")
    sync_pages(app, [page])
    before = dump(app)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        with app.runtime.unit_of_work() as session:
            result = _record(app, session, page.items)
            assert result.changed == 0
            assert len(seen) <= 2, seen
            assert all(s.lstrip().upper().startswith("SELECT") for s in seen), seen
    finally:
        event.remove(app.store.engine, "before_cursor_execute", count)
    assert dump(app) == before
    app.close()


def _record(app: AfterSales, session: Session, items: Sequence[Review]) -> Any:
    service = app.reviews
    return record_page(session, STORE, items, classifier=service.classifier,
                       config=service.alert_config, now=app.runtime.now(),
                       emit=app.runtime.events.emit_many)


def test_a_review_changed_meanwhile_is_a_concurrent_update(db_url: str) -> None:
    """On both databases: the version-guarded UPDATE of the page's changed reviews
    (``executemany`` on SQLite, one statement over the page on PostgreSQL)."""
    from aftersales.errors import ConcurrentUpdateError

    app = _app(db_url)
    steps = _scenario()
    sync_pages(app, [steps[0][0]])
    real_execute = Session.execute
    bumped: list[bool] = []

    def racing(self: Session, statement: Any, *args: Any, **kw: Any) -> Any:
        if getattr(statement, "is_update", False) and not bumped:
            bumped.append(True)  # another writer versions r1 between our read and our write
            table = ReviewRow.__table__
            real_execute(self, table.update().where(table.c.external_id == "r1")
                         .values(current_version=table.c.current_version + 1))
        return real_execute(self, statement, *args, **kw)

    with pytest.raises(ConcurrentUpdateError), app.runtime.unit_of_work() as session:
        session.execute = racing.__get__(session)  # type: ignore[method-assign]
        _record(app, session, steps[2][0].items)
    with app.store.session() as s:
        assert s.scalar(select(ReviewRow.current_version)
                        .where(ReviewRow.external_id == "r1")) == 1
    app.close()
