"""Returns sync read page-wise writes exactly what the per-request sync wrote.

The per-request sync (``tests/returns/per_row_sync_reference.py``, the code
returns sync ran before) and the page-wise one run side by side through
``app.returns.sync`` on random pages with random changes: new requests for
stored and fetched orders, older copies and replays, status moves the
machine allows and jumps it refuses, repeats within a page, platform
deadlines, risk verdicts and disputes, and policy auto-decisions pushed
after the page commits. Every column of every table, every event, version
and cursor, the changed counts, the hooks heard and the marketplace calls
must match.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

import aftersales.returns.repository as repo
from aftersales.app import AfterSales
from aftersales.errors import NotFoundError
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    Buyer,
    FulfilmentStage,
    Order,
    OrderLine,
    Page,
    PlatformDeadline,
    PlatformDispute,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    RiskSignal,
)
from aftersales.money import Money
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.base import Base
from tests.returns.per_row_sync_reference import PerRowReturnsSync
from tests.table_dump import Rows, dump_tables

STORE = "shop"
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
S = ReturnStatus
#: wall-clock columns (the store's own timestamps), not the sync's facts
_SKIP = {"updated_at", ("outbox", "created_at"), ("orders", "created_at"),
         ("order_lines", "created_at"), ("shipments", "created_at"),
         ("sync_cursors", "created_at"), ("cases", "created_at")}
POLICY = {"auto_approve": [{"name": "quality", "reasons": ["quality_issue"]}],
          "auto_reject_ineligible": True}


def _order(n: int) -> Order:
    return Order(
        marketplace=STORE, external_id=f"O{n}", buyer=Buyer(external_id=f"B{n % 2}"),
        currency="CNY",
        lines=[OrderLine(external_id=f"O{n}-{x}", sku=f"S{x}", quantity=2,
                         unit_price=Money(Decimal("50.00"), "CNY")) for x in "ab"],
        shipping=Money(Decimal(0), "CNY"), discount=Money(Decimal(0), "CNY"),
        total=Money(Decimal("200.00"), "CNY"), placed_at=T0 - timedelta(days=6),
        updated_at=T0 - timedelta(days=6), delivered_at=T0 - timedelta(days=n))


class PagedShop(MarketplaceBase):
    """Lists exactly the pages it is given; serves orders O1-O4; takes decisions."""

    name = STORE
    capabilities = frozenset({Capability.LIST_RETURNS, Capability.GET_ORDER,
                              Capability.APPROVE_RETURN, Capability.REJECT_RETURN})

    def __init__(self) -> None:
        self.pages: list[Page[ReturnRequest]] = []
        self.calls: list[tuple[str, str | None]] = []
        self.numbers = itertools.count(1)  # RMA ids, the same in both databases

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        return iter(self.pages)

    def get_order(self, order_id: str) -> Order:
        self.calls.append(("get_order", order_id))
        if order_id not in {"O1", "O2", "O3", "O4"}:
            raise NotFoundError("order", order_id)
        return _order(int(order_id[1:]))

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        self.calls.append(("approve", request.external_id))

    def reject_return(self, request: ReturnRequest, *, reason: str | None = None,
                      reason_code: str | None = None, evidence: Any = None) -> None:
        self.calls.append(("reject", request.external_id))


def _app(url: str, *, per_row: bool = False) -> AfterSales:
    app = AfterSales(url, marketplaces=[PagedShop()], carriers=[], channels=[],
                     clock=lambda: T0, migrate=False, return_policy=POLICY)
    app.store.create_all()
    with app.store.session() as session:
        upsert_orders(session, [_order(1), _order(2)])
    if per_row:
        service = app.returns
        requests = service.request.__self__  # type: ignore[attr-defined]
        service.sync = PerRowReturnsSync(  # type: ignore[method-assign]
            service._ctx, service._writer, requests).sync
    return app


def sync_pages(app: AfterSales, pages: Sequence[Page[ReturnRequest]]) -> list[int]:
    """``app.returns.sync`` over these pages, one call per page; RMA ids numbered."""
    shop = app.marketplace(STORE)
    assert isinstance(shop, PagedShop)
    counts = []
    with mock.patch.object(repo, "new_rma_id",
                           side_effect=lambda: f"RMA-{next(shop.numbers):04d}"):
        for page in pages:
            shop.pages = [page]
            counts.append(app.returns.sync()[STORE])
    return counts


def dump(app: AfterSales) -> Rows:
    """Every row of every table, all columns but the wall-clock timestamps."""
    return dump_tables(app, Base.metadata.sorted_tables, _SKIP)


# ------------------------------------------------------------------ strategies

_statuses = st.sampled_from([S.REQUESTED, S.APPROVED, S.RETURN_SHIPPED, S.RECEIVED, S.REFUNDED,
                             S.REJECTED, S.CLOSED, S.CANCELLED])
_reasons = st.sampled_from([ReturnReason.QUALITY_ISSUE, ReturnReason.NO_REASON,
                            ReturnReason.DAMAGED_IN_TRANSIT, ReturnReason.WRONG_SIZE])


@st.composite
def requests(draw: st.DrawFn) -> ReturnRequest:
    rid = draw(st.sampled_from(["R1", "R2", "R3", "R4", "R5"]))
    order = draw(st.sampled_from(["O1", "O2", "O3", "O4", "O9"]))
    ids = draw(st.lists(st.sampled_from("ab"), min_size=1, max_size=2, unique=True))
    lines = [ReturnLine(order_line_id=f"{order}-{x}", quantity=draw(st.integers(1, 3)),
                        reason=draw(_reasons), sku=draw(st.sampled_from([None, f"S{x}"])))
             for x in ids]
    status = draw(_statuses)
    created = T0 - timedelta(hours=int(rid[1:]))
    deadline = draw(st.none() | st.builds(
        PlatformDeadline, due_at=st.sampled_from([T0 + timedelta(days=1), T0 + timedelta(days=2)]),
        status=st.just(status), raw_status=st.sampled_from(["wait", "wait2"]),
        extendable=st.booleans(), extensions=st.integers(0, 1)))
    return ReturnRequest(
        marketplace=STORE, order_id=order, external_id=rid,
        kind=draw(st.sampled_from([ReturnKind.RETURN, ReturnKind.REFUND_ONLY,
                                   ReturnKind.EXCHANGE])),
        lines=lines, status=status, raw_status=f"raw-{status.value}-{draw(st.integers(0, 1))}",
        buyer_note=draw(st.sampled_from([None, "坏了", "wrong colour"])),
        evidence=draw(st.sampled_from([[], ["https://img.example/1.jpg"]])),
        return_tracking_number=draw(st.sampled_from([None, "SF100"])),
        return_carrier=draw(st.sampled_from([None, "sf"])),
        created_at=created,
        updated_at=created + timedelta(minutes=draw(st.integers(0, 6))),
        stage=draw(st.none() | st.sampled_from(list(FulfilmentStage))),
        platform_deadline=deadline,
        risk=draw(st.none() | st.builds(RiskSignal, code=st.sampled_from(["r1", "r2"]))),
        dispute=draw(st.none() | st.builds(PlatformDispute, status=st.sampled_from(["1", "2"]),
                                           open=st.booleans())),
    )


@st.composite
def page_lists(draw: st.DrawFn) -> list[Page[ReturnRequest]]:
    pages = []
    for i in range(draw(st.integers(1, 4))):
        page = Page[ReturnRequest](items=draw(st.lists(requests(), min_size=1, max_size=6)),
                                   cursor=draw(st.none() | st.just(f"c{i}")))
        pages.append(page)
        if draw(st.booleans()):
            pages.append(page)  # listed again: a replay
    return pages


def _first_difference(got: dict[str, list[dict[str, Any]]],
                      want: dict[str, list[dict[str, Any]]]) -> str:
    for table in want:
        if got[table] != want[table]:
            for i, (a, b) in enumerate(itertools.zip_longest(got[table], want[table])):
                if a != b:
                    cols = {k for k in (a or {}) | (b or {})
                            if (a or {}).get(k) != (b or {}).get(k)}
                    return (f"{table} row {i}: "
                            f"{ {k: (a or {}).get(k) for k in cols} } != "
                            f"{ {k: (b or {}).get(k) for k in cols} }")
    return ""


def _run(ref: AfterSales, new: AfterSales, pages: Sequence[Page[ReturnRequest]]) -> None:
    heard: dict[str, list[str]] = {"ref": [], "new": []}
    ref.on("*", lambda e: heard["ref"].append(e.key))
    new.on("*", lambda e: heard["new"].append(e.key))
    assert sync_pages(new, pages) == sync_pages(ref, pages)
    got, want = dump(new), dump(ref)
    assert got == want, _first_difference(got, want)
    assert heard["new"] == heard["ref"]
    calls = [app.marketplace(STORE).calls for app in (new, ref)]  # type: ignore[attr-defined]
    assert calls[0] == calls[1]


# ------------------------------------------------------------------ properties


@settings(max_examples=30, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pages=page_lists())
def test_page_wise_sync_writes_what_the_per_request_sync_wrote(
    pages: list[Page[ReturnRequest]],
) -> None:
    with tempfile.TemporaryDirectory() as d:
        ref = _app(f"sqlite:///{d}/ref.db", per_row=True)
        new = _app(f"sqlite:///{d}/new.db")
        try:
            _run(ref, new, pages)
        finally:
            ref.close()
            new.close()


def _request(rid: str, minute: int, status: ReturnStatus, order: str = "O1",
             reason: ReturnReason = ReturnReason.NO_REASON, quantity: int = 1,
             **fields: Any) -> ReturnRequest:
    created = T0 - timedelta(hours=int(rid[1:]))
    return ReturnRequest(
        marketplace=STORE, order_id=order, external_id=rid, kind=ReturnKind.RETURN,
        lines=[ReturnLine(order_line_id=f"{order}-a", quantity=quantity, reason=reason)],
        status=status, raw_status=f"raw-{status.value}", created_at=created,
        updated_at=created + timedelta(minutes=minute), **fields)


def _scenario() -> list[Page[ReturnRequest]]:
    """New requests (one auto-approved, one on a fetched order), moves, a dispute, a repeat."""
    first = Page[ReturnRequest](items=[
        _request("R1", 0, S.REQUESTED,
                 dispute=PlatformDispute(status="platform_intervened", open=True)),
        _request("R2", 0, S.REQUESTED, reason=ReturnReason.QUALITY_ISSUE),
        _request("R3", 0, S.REQUESTED, order="O3"),
        _request("R8", 0, S.REJECTED, order="O4",
                 dispute=PlatformDispute(status="arbitrating", open=True)),
    ], cursor="c1")
    second = Page[ReturnRequest](items=[
        _request("R1", 2, S.APPROVED, buyer_note="快点"),
        _request("R3", 1, S.REFUNDED,
                 dispute=PlatformDispute(status="arbitrating", open=True)),
        _request("R3", 3, S.CANCELLED, platform_deadline=PlatformDeadline(
            due_at=T0 + timedelta(days=2), status=S.REQUESTED, raw_status="wait")),
    ], cursor="c2")
    # two new requests for the same line: the second finds the first's units taken
    third = Page[ReturnRequest](items=[
        _request("R6", 0, S.REQUESTED, order="O2", quantity=2),
        _request("R7", 0, S.REQUESTED, order="O2"),
    ], cursor="c3")
    return [first, first, second, second, third]


def test_a_fixed_history_writes_what_the_per_request_sync_wrote(tmp_path: Path) -> None:
    ref = _app(f"sqlite:///{tmp_path}/ref.db", per_row=True)
    new = _app(f"sqlite:///{tmp_path}/new.db")
    try:
        _run(ref, new, _scenario())
        calls = new.marketplace(STORE).calls  # type: ignore[attr-defined]
        assert ("approve", "R2") in calls
        assert ("reject", "R7") in calls  # O2-a's two units are R6's already
        assert ("reject", "R6") not in calls
    finally:
        ref.close()
        new.close()


def _buyer_order(n: int, placed_days_ago: int) -> Order:
    placed = T0 - timedelta(days=placed_days_ago)
    return _order(n).model_copy(update={
        "buyer": Buyer(external_id="B9"), "placed_at": placed, "updated_at": placed,
        "delivered_at": placed + timedelta(days=2)})


def _history_request(rid: str, order: str, days_ago: int,
                     reason: ReturnReason = ReturnReason.NO_REASON) -> ReturnRequest:
    created = T0 - timedelta(days=days_ago)
    return ReturnRequest(
        marketplace=STORE, order_id=order, external_id=rid, kind=ReturnKind.RETURN,
        lines=[ReturnLine(order_line_id=f"O{order[1:]}-a", quantity=1, reason=reason)],
        status=S.REQUESTED, raw_status="raw-requested", created_at=created, updated_at=created)


def test_a_repeat_returner_is_judged_on_the_history_inside_the_lookback(tmp_path: Path) -> None:
    """Buyer B9: five orders in the last 90 days, three with a return, and an older order
    whose return is outside the window. A new quality request would be approved by the
    policy, but the buyer's rate (3 of 5) sends it to a person, on both paths."""
    ref = _app(f"sqlite:///{tmp_path}/ref.db", per_row=True)
    new = _app(f"sqlite:///{tmp_path}/new.db")
    orders = [_buyer_order(n, n - 17) for n in range(20, 25)] + [_buyer_order(25, 200)]
    for app in (ref, new):
        with app.store.session() as session:
            upsert_orders(session, orders)
    history = Page[ReturnRequest](items=[
        _history_request("H20", "O20", 1), _history_request("H21", "O21", 1),
        _history_request("H22", "O22", 1), _history_request("H25", "O25", 150),
    ], cursor="h1")
    asked = Page[ReturnRequest](items=[
        _history_request("Q23", "O23", 0, ReturnReason.QUALITY_ISSUE)], cursor="h2")
    try:
        _run(ref, new, [history, asked])
        calls = new.marketplace(STORE).calls  # type: ignore[attr-defined]
        assert ("approve", "Q23") not in calls
        asked_row = next(r for r in new.returns.list(limit=10) if r.external_id == "Q23")
        assert asked_row.status is S.REQUESTED  # left to a person, not approved
    finally:
        ref.close()
        new.close()


@pytest.mark.postgres
def test_postgresql_writes_what_the_per_request_sync_wrote_on_sqlite(
    pg_url: str, tmp_path: Path
) -> None:
    ref = _app(f"sqlite:///{tmp_path}/ref.db", per_row=True)
    new = _app(pg_url)
    try:
        _run(ref, new, _scenario())
    finally:
        ref.close()
        new.close()


def test_an_unchanged_page_costs_two_statements_and_writes_nothing(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path}/a.db")
    pages = _scenario()
    sync_pages(app, pages)
    before = dump(app)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    shop = app.marketplace(STORE)
    assert isinstance(shop, PagedShop)
    calls = len(shop.calls)
    event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        for page in pages:
            shop.pages = [page]
            seen.clear()
            with mock.patch("aftersales.returns.sync.set_cursor"):  # the cursor's own write
                assert app.returns.sync() == {STORE: 0}
            reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
            # the stored cursor, then the page: the orders it names, its stored requests
            assert len(reads) == 3, seen
            assert len(seen) - len(reads) <= 2, seen  # BEGIN / COMMIT only
            assert not [s for s in seen if s.lstrip().upper().startswith(
                ("INSERT", "UPDATE", "DELETE"))], seen
    finally:
        event.remove(app.store.engine, "before_cursor_execute", count)
    assert len(shop.calls) == calls  # nothing fetched, nothing pushed
    assert dump(app) == before
    app.close()
