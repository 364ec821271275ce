"""What the sandbox shop holds: orders, buyers, return requests and reviews worth testing on."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from aftersales.models import (
    Order,
    ReturnKind,
    ReturnReason,
    ReturnRequest,
    Review,
    Sentiment,
)
from aftersales.sandbox import SandboxMarketplace


def _orders(shop: SandboxMarketplace) -> list[Order]:
    return [o for page in shop.list_orders() for o in page.items]


def _returns(shop: SandboxMarketplace) -> list[ReturnRequest]:
    return [r for page in shop.list_returns() for r in page.items]


def _reviews(shop: SandboxMarketplace) -> list[Review]:
    return [r for page in shop.list_reviews() for r in page.items]


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_orders_add_up_in_cny_decimals() -> None:
    orders = _orders(SandboxMarketplace(seed=5, orders=300))
    assert {len(o.lines) for o in orders} == {1, 2, 3, 4}
    for o in orders:
        assert o.currency == "CNY"
        net = sum((ln.net.amount for ln in o.lines), Decimal(0))
        assert o.total.amount == net + o.shipping.amount - o.discount.amount
        assert o.total.amount > 0
        for m in (o.total, o.shipping, o.discount, *(ln.unit_price for ln in o.lines)):
            assert isinstance(m.amount, Decimal)
            assert m.currency == "CNY"
        assert all(ln.category for ln in o.lines)
        assert len({ln.sku for ln in o.lines}) == len(o.lines)
    assert any(o.discount.amount > 0 for o in orders), "some orders have a 满减 discount"
    assert any(o.shipping.amount > 0 for o in orders), "some orders pay shipping"
    assert any(ln.discount for o in orders for ln in o.lines), "some lines are discounted"
    assert any(ln.quantity > 1 for o in orders for ln in o.lines)


def test_buyers_are_fake_bilingual_and_spread_over_time_zones() -> None:
    orders = _orders(SandboxMarketplace(seed=5, orders=300))
    buyers = {o.buyer.external_id: o.buyer for o in orders}
    assert len(buyers) < len(orders), "some buyers come back"
    zones = Counter(b.timezone for b in buyers.values())
    assert zones.most_common(1)[0][0] == "Asia/Shanghai"
    assert len(zones) >= 4
    for b in buyers.values():
        n = int(b.external_id[1:])
        assert b.email == f"buyer{n}@example.com"
        assert b.phone
        assert b.name
        assert _chinese(b.name) == (b.locale or "").startswith("zh")
        assert b.phone not in repr(b)
        assert b.email not in repr(b)
    assert any(not (b.locale or "").startswith("zh") for b in buyers.values())


def test_the_same_buyer_is_the_same_on_every_order() -> None:
    orders = _orders(SandboxMarketplace(seed=5, orders=300))
    by_id: dict[str, list[Order]] = {}
    for o in orders:
        by_id.setdefault(o.buyer.external_id, []).append(o)
    repeat = next(os for os in by_id.values() if len(os) > 1)
    assert all(o.buyer == repeat[0].buyer for o in repeat)


def test_returns_cover_every_kind_and_reason_in_both_languages() -> None:
    shop = SandboxMarketplace(seed=0, orders=100)
    shop.advance(days=30)
    requests = _returns(shop)
    assert len(requests) == 30
    assert {r.kind for r in requests} == set(ReturnKind)
    assert {ln.reason for r in requests for ln in r.lines} == set(ReturnReason)
    texts = [ln.reason_text or "" for r in requests for ln in r.lines]
    assert any(_chinese(t) for t in texts)
    assert any(t.isascii() for t in texts)
    orders = {o.external_id: o for o in _orders(shop)}
    for r in requests:
        for ln in r.lines:
            assert SandboxMarketplace.raw_return_reasons[ln.reason_text or ""] is ln.reason
            line = orders[r.order_id].line(ln.order_line_id)
            assert 1 <= ln.quantity <= line.quantity
            assert ln.sku == line.sku
        if r.kind is ReturnKind.EXCHANGE:
            assert r.requested_amount is None
            assert all(ln.replacement_sku for ln in r.lines)
        else:
            assert r.requested_amount is not None
            assert Decimal(0) < r.requested_amount.amount <= orders[r.order_id].total.amount
        assert r.created_at is not None
        assert r.created_at >= orders[r.order_id].placed_at


def test_raw_status_tables_map_every_row() -> None:
    table = SandboxMarketplace.return_status_table
    assert set(table) == set(SandboxMarketplace.raw_return_statuses)
    for raw in SandboxMarketplace.raw_return_statuses:
        assert SandboxMarketplace.map_return_status(raw) is table[raw]
    assert len(set(table.values())) == 9  # every canonical status has a raw one


def test_reviews_cover_ratings_tones_and_languages() -> None:
    shop = SandboxMarketplace(seed=0, orders=1000)
    shop.advance(days=25)
    reviews = _reviews(shop)
    orders = {o.external_id: o for o in _orders(shop)}
    assert {r.rating for r in reviews} == {1, 2, 3, 4, 5}
    bodies = [r.body for r in reviews]
    assert any(_chinese(b) for b in bodies)
    assert any(b.isascii() for b in bodies)
    joined = " ".join(bodies)
    for word in ("假货", "不差", "Not bad", "物流", "破损", "退款"):
        assert word in joined, word
    assert any(r.appended_body for r in reviews), "some buyers append a 追评"
    assert any(r.appended_at and r.appended_at > r.created_at for r in reviews)
    assert any("沟通" in r.body or "Resolved" in r.body for r in reviews), "some were edited"
    for r in reviews:
        order = orders[r.order_id or ""]
        assert order.delivered_at is not None
        assert r.created_at > order.delivered_at
        assert order.line(r.order_line_id or "").sku == r.sku
        assert r.author
        assert order.buyer.name
        assert order.buyer.name not in (r.author or "")


def test_an_edited_review_changes_its_rating_when_the_clock_passes_the_edit() -> None:
    shop = SandboxMarketplace(seed=0, orders=1000)
    before = {r.external_id: r for r in _reviews(shop)}
    shop.advance(days=10)
    changed = [r for r in _reviews(shop)
               if r.external_id in before and r.rating != before[r.external_id].rating]
    assert changed
    for r in changed:
        old = before[r.external_id]
        assert r.updated_at > old.updated_at
        assert r.body.startswith(old.body)
        assert r.rating == 4 if old.rating == 5 else r.rating > old.rating


def test_a_hundred_thousand_orders_are_generated_lazily() -> None:
    shop = SandboxMarketplace(seed=9, orders=100_000)
    order = shop.get_order("SO00100000")
    assert order.external_id == "SO00100000"
    assert order.placed_at < shop.now
    generated = sum(p is not None for p in shop._world._plans)
    assert generated < 100


def test_sentiment_follows_the_rating() -> None:
    from aftersales.sandbox._reviews import sentiment_of

    assert [sentiment_of(r) for r in (1, 2, 3, 4, 5)] == [
        Sentiment.NEGATIVE, Sentiment.NEGATIVE, Sentiment.NEUTRAL,
        Sentiment.POSITIVE, Sentiment.POSITIVE]
