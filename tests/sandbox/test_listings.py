"""Sandbox listings: deterministic, incremental, resumable from any cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.models import Page
from aftersales.sandbox import DEFAULT_START, SandboxMarketplace

Listing = Callable[[str | None], Iterator[Page[Any]]]
LISTINGS = ("list_orders", "list_returns", "list_reviews")


def _all(listing: Listing, cursor: str | None = None) -> list[Any]:
    return [item for page in listing(cursor) for item in page.items]


def _ids(items: list[Any]) -> list[str]:
    return [i.external_id for i in items]


def test_same_seed_gives_the_same_shop() -> None:
    a, b = SandboxMarketplace(seed=7, orders=60), SandboxMarketplace(seed=7, orders=60)
    for name in LISTINGS:
        assert _all(getattr(a, name)) == _all(getattr(b, name)), name


def test_another_seed_gives_another_shop() -> None:
    a, b = SandboxMarketplace(seed=1, orders=60), SandboxMarketplace(seed=2, orders=60)
    numbers = [[s.tracking_number for o in _all(m.list_orders) for s in o.shipments]
               for m in (a, b)]
    assert numbers[0] != numbers[1]
    assert [o.lines for o in _all(a.list_orders)] != [o.lines for o in _all(b.list_orders)]


def test_data_does_not_depend_on_what_was_asked_first() -> None:
    fresh = SandboxMarketplace(seed=3, orders=80)
    warmed = SandboxMarketplace(seed=3, orders=80)
    _all(warmed.list_reviews)
    _all(warmed.list_returns)
    assert _all(fresh.list_orders) == _all(warmed.list_orders)


@pytest.mark.parametrize("name", LISTINGS)
def test_pages_are_ordered_by_updated_at_then_id(shop: SandboxMarketplace, name: str) -> None:
    items = _all(getattr(shop, name))
    keys = [(i.updated_at, i.external_id) for i in items]
    assert keys == sorted(keys)
    assert len(set(_ids(items))) == len(items)


@pytest.mark.parametrize("name", LISTINGS)
def test_resuming_from_every_page_misses_and_repeats_nothing(
    shop: SandboxMarketplace, name: str
) -> None:
    listing = getattr(shop, name)
    pages = list(listing(None))
    assert len(pages) >= 3
    everything = _ids([i for p in pages for i in p.items])
    seen = 0
    for page in pages:
        seen += len(page.items)
        assert page.cursor is not None
        assert _ids(_all(listing, page.cursor)) == everything[seen:]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), page_size=st.integers(1, 40), days=st.integers(0, 20))
def test_resumption_holds_for_any_seed_page_size_and_moment(
    seed: int, page_size: int, days: int
) -> None:
    shop = SandboxMarketplace(seed=seed, orders=40, page_size=page_size)
    shop.advance(days=days)
    for name in LISTINGS:
        listing = getattr(shop, name)
        pages = list(listing(None))
        assert all(0 < len(p.items) <= page_size for p in pages)
        _ids([i for p in pages for i in p.items])
        for k in range(len(pages)):
            rest = _ids([i for p in pages[k + 1 :] for i in p.items])
            assert _ids(_all(listing, pages[k].cursor)) == rest


def test_only_what_happened_by_now_is_visible(shop: SandboxMarketplace) -> None:
    for name in LISTINGS:
        assert all(i.updated_at <= shop.now for i in _all(getattr(shop, name)))
    orders = _all(shop.list_orders)
    assert all(o.delivered_at is None or o.delivered_at <= shop.now for o in orders)
    assert all(s.shipped_at is None or s.shipped_at <= shop.now
               for o in orders for s in o.shipments)


def test_orders_are_placed_over_the_days_before_the_start() -> None:
    shop = SandboxMarketplace(orders=50, days=10)
    orders = _all(shop.list_orders)
    assert len(orders) == 50
    assert shop.now == shop.start == DEFAULT_START
    assert all(DEFAULT_START - timedelta(days=10) <= o.placed_at < shop.start
               for o in orders)


def test_a_later_start_shifts_everything() -> None:
    start = datetime(2027, 3, 1, 8, tzinfo=UTC)
    shop = SandboxMarketplace(orders=20, start=start)
    assert shop.now == start
    assert all(o.placed_at < start for o in _all(shop.list_orders))


def test_advancing_the_clock_reveals_new_changes_after_the_last_cursor(
    shop: SandboxMarketplace,
) -> None:
    cursors = {name: list(getattr(shop, name)(None))[-1].cursor for name in LISTINGS}
    before = {name: {i.external_id: i for i in _all(getattr(shop, name))} for name in LISTINGS}
    shop.advance(days=5)
    for name in LISTINGS:
        newer = _all(getattr(shop, name), cursors[name])
        assert newer, f"{name} has nothing new after five days"
        assert all(i.updated_at > shop.start for i in newer)
        changed = [i for i in newer if i.external_id in before[name]]
        assert all(i != before[name][i.external_id] for i in changed)
    # parcels got delivered: orders moved on
    delivered = [o for o in _all(shop.list_orders, cursors["list_orders"])
                 if o.delivered_at is not None]
    assert delivered
    assert all(o.delivered_at > shop.start for o in delivered)


def test_nothing_new_means_no_pages(shop: SandboxMarketplace) -> None:
    last = list(shop.list_reviews(None))[-1].cursor
    assert list(shop.list_reviews(last)) == []


def test_listing_pages_are_built_lazily_and_counted(shop: SandboxMarketplace) -> None:
    pages = shop.list_orders()
    assert shop.calls["list_orders"] == 1
    assert shop.calls["list_orders_page"] == 0
    next(pages)
    assert shop.calls["list_orders_page"] == 1


@pytest.mark.parametrize("bad", ["", "garbage", "sbx1.!!!", "sbx1.bm9waXBl"])
def test_a_foreign_cursor_is_refused_clearly(shop: SandboxMarketplace, bad: str) -> None:
    with pytest.raises(ValidationError, match="cursor") as info:
        list(shop.list_orders(bad or "x"))
    assert info.value.field == "cursor"


def test_constructor_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="orders"):
        SandboxMarketplace(orders=0)
    with pytest.raises(ValueError, match="page_size"):
        SandboxMarketplace(page_size=0)
    with pytest.raises(ValueError, match="aware"):
        SandboxMarketplace(start=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="forward"):
        SandboxMarketplace().advance(days=-1)


def test_get_order_agrees_with_the_listing_including_return_parcels() -> None:
    listed = SandboxMarketplace(seed=6, orders=90)
    single = SandboxMarketplace(seed=6, orders=90)
    for shop in (listed, single):
        for r in [r for p in shop.list_returns() for r in p.items]:
            if r.status.value == "requested" and r.kind.value != "refund_only":
                shop.approve_return(r)
        shop.advance(days=4)
    orders = _all(listed.list_orders)
    assert any(s.direction.value == "return" for o in orders for s in o.shipments)
    for o in orders:  # ``single`` never listed its orders: each is built on its own
        assert single.get_order(o.external_id) == o


def test_future_days_bring_new_orders_as_the_clock_advances() -> None:
    shop = SandboxMarketplace(seed=1, orders=100, days=10, future_days=10, page_size=25)
    first = _all(shop.list_orders)
    assert 30 < len(first) < 70
    last = list(shop.list_orders())[-1].cursor
    shop.advance(days=10)
    newer = _all(shop.list_orders, last)
    seen = {o.external_id for o in first}
    arrived = [o for o in newer if o.external_id not in seen]
    assert len(seen) + len(arrived) == 100
    assert all(o.placed_at > shop.start for o in arrived)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000),
       steps=st.lists(st.tuples(st.sampled_from(["advance", "approve", "reject", "reply"]),
                                st.integers(0, 10_000)), min_size=1, max_size=12))
def test_an_incremental_mirror_always_matches_a_full_listing(
    seed: int, steps: list[tuple[str, int]]
) -> None:
    """A syncer that keeps only its cursor never misses a change, whatever happens between."""
    shop = SandboxMarketplace(seed=seed, orders=60, page_size=9, future_days=5)
    mirrors: dict[str, dict[str, Any]] = {name: {} for name in LISTINGS}
    cursors: dict[str, str | None] = dict.fromkeys(LISTINGS)

    def sync() -> None:
        for name in LISTINGS:
            for page in getattr(shop, name)(cursors[name]):
                mirrors[name].update((i.external_id, i) for i in page.items)
                cursors[name] = page.cursor

    for op, n in steps:
        sync()
        if op == "advance":
            shop.advance(hours=n % 97)
            continue
        if op == "reply":
            reviews = list(mirrors["list_reviews"].values())
            if reviews:
                review = reviews[n % len(reviews)]
                if review.reply is None and review.external_id not in {
                        r.external_id for r in reviews if r.reply}:
                    shop.reply_review(review, "谢谢", idempotency_key=f"k{n}")
            continue
        requested = [r for r in mirrors["list_returns"].values()
                     if r.status.value == "requested"]
        if requested:
            target = requested[n % len(requested)]
            if op == "approve":
                shop.approve_return(target)
            else:
                shop.reject_return(target, reason="no")
    sync()
    for name in LISTINGS:
        assert mirrors[name] == {i.external_id: i for i in _all(getattr(shop, name))}, name


def test_built_without_arguments_it_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aftersales.errors import ConfigurationError

    monkeypatch.setenv("AFTERSALES_SANDBOX_SEED", "7")
    monkeypatch.setenv("AFTERSALES_SANDBOX_ORDERS", "12")
    shop = SandboxMarketplace()
    assert (shop.seed, len(_all(shop.list_orders))) == (7, 12)
    assert _all(shop.list_orders) == _all(SandboxMarketplace(seed=7, orders=12).list_orders)
    monkeypatch.setenv("AFTERSALES_SANDBOX_ORDERS", "lots")
    with pytest.raises(ConfigurationError, match="AFTERSALES_SANDBOX_ORDERS"):
        SandboxMarketplace()
