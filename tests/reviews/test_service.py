"""ReviewsService: sync with versions and links, alerts as de-duplicated rows and
events, delivery through channels, and resumable, idempotent syncs."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from aftersales.app import AfterSales
from aftersales.errors import ConfigurationError, TransientError, ValidationError
from aftersales.events import Event
from aftersales.models import Page, Sentiment
from aftersales.reviews.alerts import AlertConfig, AlertRule
from aftersales.reviews.classify import Severity
from aftersales.store.tables.core import CursorRow, OrderRow, OutboxRow, ShipmentRow
from aftersales.store.tables.returns import ReturnLineRow, ReturnRow
from aftersales.store.tables.reviews import ReviewAlertRow, ReviewRow, ReviewVersionRow
from tests.reviews.conftest import T0, FakeReviewShop, make_app


def count(app: AfterSales, table: Any) -> int:
    with app.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def events(app: AfterSales) -> list[Event]:
    seen: list[Event] = []
    app.on("*", seen.append)
    return seen


def test_sync_stores_classified_reviews_and_a_resync_writes_nothing(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    shop.put("r1", 5, "质量很好，物流超快", at=timedelta(hours=1))
    shop.put("r2", 1, "质量太差了，穿一次就开线了", at=timedelta(hours=2))
    shop.put("r3", 3, "It's okay, does the job", at=timedelta(hours=3))
    assert review_app.reviews.sync() == {"fake": 3}
    with review_app.store.session() as session:
        rows = {r.external_id: r for r in session.scalars(select(ReviewRow))}
    assert rows["r1"].sentiment == "positive"
    assert rows["r2"].sentiment == "negative"
    assert "quality" in rows["r2"].topics
    assert rows["r3"].sentiment == "neutral"
    assert count(review_app, ReviewVersionRow) == 3

    seen = events(review_app)
    before = (count(review_app, ReviewAlertRow), count(review_app, OutboxRow))
    assert review_app.reviews.sync() == {"fake": 0}
    assert count(review_app, ReviewVersionRow) == 3
    assert (count(review_app, ReviewAlertRow), count(review_app, OutboxRow)) == before
    assert seen == []


def test_negative_review_raises_an_alert_row_an_event_and_an_outbox_message(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    seen = events(review_app)
    shop.put("r1", 1, "客服态度恶劣，问什么都不回", order_id="O-1")
    review_app.reviews.sync()
    (alert,) = review_app.reviews.alerts()
    assert alert.rule is AlertRule.NEGATIVE
    assert alert.subject == "fake:r1"
    assert alert.severity >= Severity.MEDIUM
    assert alert.delivered_at is not None
    (event,) = [e for e in seen if e.name == "review.negative"]
    assert event.payload["order_id"] == "O-1"
    assert event.payload["alert_id"] == alert.id
    with review_app.store.session() as session:
        topics = Counter(session.scalars(select(OutboxRow.topic)))
    assert topics == {"event": 1, "alert": 1}  # the domain event, and the alert to the shop


def test_counterfeit_mention_is_critical_even_with_four_stars(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    seen = events(review_app)
    shop.put("r1", 4, "用着还行，但怀疑是高仿")
    review_app.reviews.sync()
    (alert,) = review_app.reviews.alerts(rule="counterfeit")
    assert alert.severity is Severity.CRITICAL
    assert "review.counterfeit" in [e.name for e in seen]


def test_an_edited_review_keeps_every_version_and_raises_a_rating_drop(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    shop.put("r1", 5, "Great quality, love it", at=timedelta(hours=1))
    review_app.reviews.sync()
    assert review_app.reviews.alerts() == []
    shop.put("r1", 1, "Broke after a week, terrible quality", at=timedelta(days=6))
    seen = events(review_app)
    assert review_app.reviews.sync() == {"fake": 1}
    with review_app.store.session() as session:
        versions = session.execute(
            select(ReviewVersionRow.version, ReviewVersionRow.rating, ReviewVersionRow.sentiment)
            .order_by(ReviewVersionRow.version)
        ).all()
        row = session.scalars(select(ReviewRow)).one()
    assert [tuple(v) for v in versions] == [(1, 5, "positive"), (2, 1, "negative")]
    assert (row.rating, row.current_version, row.sentiment) == (1, 2, "negative")
    rules = {a.rule for a in review_app.reviews.alerts()}
    assert rules == {AlertRule.RATING_DROP, AlertRule.NEGATIVE}
    drop = review_app.reviews.alerts(rule=AlertRule.RATING_DROP)[0]
    assert drop.data["previous_rating"] == 5
    assert {e.name for e in seen} >= {"review.rating_drop", "review.negative"}


def test_an_older_copy_of_an_edited_review_does_not_undo_the_edit(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    # Rule: an edited review keeps its latest version. Before: a listing that
    # carried the review as it was before its edit (a page read from a lagging
    # replica, a repeat on a later page of a shifting listing) was stored as a
    # newer version: the review went back to 1 star and a false "edited from
    # 5 to 1 star" alert went out for a buyer who had raised the rating.
    old = shop.put("r1", 1, "Broke after a week, terrible quality")
    review_app.reviews.sync()
    new = shop.put("r1", 5, "Seller replaced it, great now", at=timedelta(days=2))
    shop.reviews = {}
    pages = [[new, old]]  # the newer version first, then the older copy
    shop.list_reviews = lambda cursor=None: iter(  # type: ignore[method-assign]
        Page(items=p, next_cursor=f"c{n}") for n, p in enumerate(pages))
    assert review_app.reviews.sync() == {"fake": 1}
    pages = [[old]]  # and again on a later sync
    assert review_app.reviews.sync() == {"fake": 0}
    with review_app.store.session() as session:
        row = session.scalars(select(ReviewRow)).one()
    assert (row.rating, row.current_version) == (5, 2)
    assert count(review_app, ReviewVersionRow) == 2
    assert review_app.reviews.alerts(rule=AlertRule.RATING_DROP) == []


def test_a_hidden_or_deleted_review_leaves_metrics_and_raises_no_alert(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    # Rule: what shoppers cannot see is not the shop's rating. Before: a
    # review the marketplace took down (spam, trash, hidden) was stored as
    # any other: its one star stayed in the positive and negative rates and
    # the spike count, and a review hidden before the first sync still
    # alerted the shop.
    from aftersales.models import ReviewVisibility

    shop.put("good", 5, "质量很好", at=timedelta(minutes=1))
    shop.put("spam", 1, "假货 垃圾 差评", at=timedelta(minutes=2))
    shop.put("gone", 1, "质量太差，坏了", at=timedelta(minutes=3),
             visibility=ReviewVisibility.HIDDEN)
    review_app.reviews.sync()
    assert {a.subject for a in review_app.reviews.alerts()} == {"fake:spam"}
    shop.put("spam", 1, "假货 垃圾 差评", at=timedelta(minutes=4),
             visibility=ReviewVisibility.HIDDEN)  # taken down after the first sync
    assert review_app.reviews.sync() == {"fake": 1}
    (shop_wide,) = review_app.reviews.metrics(by="shop")
    assert (shop_wide.count, shop_wide.positive_rate) == (1, 1.0)
    shop.put("spam", 1, "假货 垃圾 差评", at=timedelta(minutes=5),
             visibility=ReviewVisibility.PUBLISHED)  # and put back
    assert review_app.reviews.sync() == {"fake": 1}
    (shop_wide,) = review_app.reviews.metrics(by="shop")
    assert shop_wide.count == 2


def test_an_appended_review_is_a_new_version_and_a_bare_timestamp_bump_is_not(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    shop.put("r1", 5, "很好", at=timedelta(hours=1))
    review_app.reviews.sync()
    shop.put("r1", 5, "很好", at=timedelta(hours=2))  # touched, content unchanged
    assert review_app.reviews.sync() == {"fake": 0}
    shop.put("r1", 5, "很好", at=timedelta(days=3), appended_body="用了一周，掉色严重",
             appended_at=T0 + timedelta(days=3))
    assert review_app.reviews.sync() == {"fake": 1}
    assert count(review_app, ReviewVersionRow) == 2
    with review_app.store.session() as session:
        row = session.scalars(select(ReviewRow)).one()
    assert row.appended_body == "用了一周，掉色严重"
    assert "quality" in row.topics


def test_spike_fires_once_for_k_negatives_on_one_sku_within_the_window(
    tmp_path: Path, shop: FakeReviewShop
) -> None:
    config = AlertConfig(spike_threshold=3, spike_window=timedelta(hours=24))
    app = make_app(f"sqlite:///{tmp_path}/s.db", shop, review_alerts=config)
    seen = events(app)
    shop.put("a", 1, "质量太差", at=timedelta(hours=1))
    shop.put("b", 2, "太失望了", at=timedelta(hours=3))
    shop.put("other", 1, "质量太差", at=timedelta(hours=4), sku="SKU-2")
    shop.put("c", 1, "垃圾产品", at=timedelta(hours=5))
    shop.put("d", 1, "退款一直没处理", at=timedelta(hours=6))  # same wave: no second spike
    app.reviews.sync()
    (spike,) = app.reviews.alerts(rule="spike")
    assert spike.subject == "fake:c"
    assert spike.sku == "SKU-1"
    assert spike.data["count"] == 3
    assert sorted(spike.data["reviews"]) == ["fake:a", "fake:b", "fake:c"]
    assert [e.name for e in seen].count("review.spike") == 1
    # A day and a half later, a new wave is a new spike.
    for i, hour in enumerate((40, 41, 42)):
        shop.put(f"w{i}", 1, "做工太粗糙了", at=timedelta(hours=hour))
    app.reviews.sync()
    assert len(app.reviews.alerts(rule="spike")) == 2
    app.close()


def test_negatives_spread_beyond_the_window_raise_no_spike(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    for i in range(4):
        shop.put(f"r{i}", 1, "质量太差", at=timedelta(days=2 * i))
    review_app.reviews.sync()
    assert review_app.reviews.alerts(rule="spike") == []
    assert len(review_app.reviews.alerts(rule="negative")) == 4


def test_alerts_stay_unique_across_resyncs_and_a_lost_cursor(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    for i in range(5):
        shop.put(f"r{i}", 1, "假货，别买", at=timedelta(hours=i))
    review_app.reviews.sync()
    first = count(review_app, ReviewAlertRow)
    messages = count(review_app, OutboxRow)
    assert first >= 10  # negative + counterfeit for each, and a spike
    with review_app.store.session() as session:
        session.execute(delete(CursorRow))  # as if the cursor were lost: a full re-read
    review_app.reviews.sync()
    review_app.reviews.sync()
    assert count(review_app, ReviewAlertRow) == first
    assert count(review_app, OutboxRow) == messages
    with review_app.store.session() as session:
        pairs = session.execute(select(ReviewAlertRow.rule, ReviewAlertRow.subject)).all()
    assert len(pairs) == len(set(pairs))


def test_an_interrupted_sync_resumes_after_the_last_finished_page(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    for i in range(6):  # three pages of two
        shop.put(f"r{i}", 1 if i % 2 else 5, "很好" if i % 2 == 0 else "很差",
                 at=timedelta(hours=i))
    shop.fail_on_page = 2
    with pytest.raises(TransientError):
        review_app.reviews.sync()
    assert count(review_app, ReviewRow) == 4  # the two finished pages, with their cursor
    shop.fail_on_page = None
    assert review_app.reviews.sync() == {"fake": 2}
    assert count(review_app, ReviewRow) == 6
    assert count(review_app, ReviewVersionRow) == 6


def test_reviews_link_to_order_return_and_parcel(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    with review_app.store.session() as session:
        order = OrderRow(
            marketplace="fake", external_id="O-9", buyer_id="B-1", buyer={}, currency="CNY",
            shipping=Decimal(0), discount=Decimal(0), total=Decimal("99.00"),
            placed_at=T0, remote_updated_at=T0,
        )
        session.add(order)
        session.flush()
        session.add(ShipmentRow(order_id=order.id, tracking_number="SF1234567890",
                                direction="outbound", carrier="sf"))
        ret = ReturnRow(rma_id="RMA-1", marketplace="fake", external_id="RT-1",
                        order_id=order.id, order_external_id="O-9", kind="return",
                        status="requested")
        ret.lines = [ReturnLineRow(order_line_external_id="L-2", quantity=1, reason="wrong_size")]
        session.add(ret)
    shop.put("r1", 2, "尺码偏小", order_id="O-9", order_line_id="L-2")
    shop.put("r2", 5, "很好", order_id="O-unknown")
    review_app.reviews.sync()
    with review_app.store.session() as session:
        rows = {r.external_id: r for r in session.scalars(select(ReviewRow))}
    assert rows["r1"].order_id is not None
    assert rows["r1"].rma_id == "RMA-1"
    assert rows["r1"].tracking_number == "SF1234567890"
    assert (rows["r2"].order_id, rows["r2"].rma_id) == (None, None)
    assert rows["r2"].order_external_id == "O-unknown"
    negative = [e for e in review_app.reviews.alerts() if e.subject == "fake:r1"]
    assert negative


def test_two_deliveries_at_once_send_each_alert_once(db_url: str, shop: FakeReviewShop) -> None:
    # Rule: an alert reaches each channel once, whatever runs at the same
    # time. Before: two processes delivering at once (two `reviews sync`
    # runs, or a sync and the worker) both read the same undelivered alerts
    # and both sent them: the shop's pager (a channel that cannot drop a
    # repeat by its key) rang twice for every alert.
    from aftersales.models import Receipt

    sent: list[str] = []
    other: list[AfterSales] = []

    class Pager:
        name = "pager"

        def send(self, message: Any) -> Receipt:
            if len(other) == 1:  # mid-send, the other process delivers too
                other.append(other[0])
                other[0].reviews.deliver_alerts()
            sent.append(message.idempotency_key)
            return Receipt(channel="pager", message_id=str(len(sent)), accepted_at=T0)

    def build() -> AfterSales:
        return AfterSales(db_url, marketplaces=[shop], carriers=[], channels=[Pager()],
                          clock=lambda: T0 + timedelta(days=30), migrate=False,
                          review_alert_to="+10000000000")

    first = build()
    first.store.create_all()
    second = build()
    try:
        shop.put("r1", 1, "质量太差")
        shop.put("r2", 1, "Fake, counterfeit, broke", at=timedelta(minutes=1))
        first.reviews.sync()  # delivers at its end
        other.append(second)
        with first.store.session() as session:
            session.execute(ReviewAlertRow.__table__.update().values(
                delivered_to=[], delivered_at=None))
        sent.clear()
        first.reviews.deliver_alerts()
        alerts = len(first.reviews.alerts())
        assert alerts >= 2
        assert sorted(sent) == sorted(set(sent))
        assert len(sent) == alerts
        assert first.reviews.alerts(undelivered=True) == []
    finally:
        first.close()
        second.close()


def test_a_slow_channel_past_the_lease_sends_no_alert_twice(db_url: str,
                                                            shop: FakeReviewShop) -> None:
    # Rule: an alert reaches each channel once even when a channel is slow. Before:
    # a batch's lease (5 minutes) was taken once for the whole batch; a pager
    # taking 4 minutes an alert let it run out mid-batch, the other process
    # claimed the alerts not yet sent, and both sent them (and the first's
    # release then freed the other's claims).
    from aftersales.models import Receipt

    clock = [T0 + timedelta(days=30)]
    sent: list[str] = []
    other: list[AfterSales] = []

    class SlowPager:
        name = "pager"

        def send(self, message: Any) -> Receipt:
            clock[0] += timedelta(minutes=4)
            if len(sent) == 1 and other:  # mid-send of the second alert, 8 minutes on
                other.pop().reviews.deliver_alerts()
            sent.append(message.idempotency_key)
            return Receipt(channel="pager", message_id=str(len(sent)), accepted_at=clock[0])

    def build() -> AfterSales:
        return AfterSales(db_url, marketplaces=[shop], carriers=[], channels=[SlowPager()],
                          clock=lambda: clock[0], migrate=False,
                          review_alert_to="+10000000000")

    first = build()
    first.store.create_all()
    second = build()
    try:
        first.reviews.alert_config = AlertConfig(rules=frozenset({AlertRule.NEGATIVE}))
        second.reviews.alert_config = first.reviews.alert_config
        for n in range(3):
            shop.put(f"r{n}", 1, "质量太差", at=timedelta(minutes=n))
        first.reviews.sync()  # delivers at its end
        with first.store.session() as session:
            session.execute(ReviewAlertRow.__table__.update().values(
                delivered_to=[], delivered_at=None, lease_until=None))
        sent.clear()
        other.append(second)
        first.reviews.deliver_alerts()
        assert sorted(sent) == sorted(set(sent))
        assert len(sent) == 3
        assert first.reviews.alerts(undelivered=True) == []
    finally:
        first.close()
        second.close()


def test_a_failing_alert_channel_keeps_the_alert_for_the_next_delivery(
    tmp_path: Path, shop: FakeReviewShop
) -> None:
    class Flaky:
        name = "pager"

        def __init__(self) -> None:
            self.fail = True
            self.sent: list[str] = []

        def send(self, message: Any) -> Any:
            if self.fail:
                raise TransientError("pager down", adapter="pager")
            self.sent.append(message.idempotency_key)
            from aftersales.models import Receipt

            return Receipt(channel="pager", message_id="p1", accepted_at=T0)

    pager = Flaky()
    app = AfterSales(f"sqlite:///{tmp_path}/c.db", marketplaces=[shop], carriers=[],
                     channels=["outbox", pager], clock=lambda: T0, migrate=False,
                     review_alert_to={"pager": "+10000000000"})
    app.store.create_all()
    shop.put("r1", 1, "质量太差")
    app.reviews.sync()
    (alert,) = app.reviews.alerts(undelivered=True)
    with app.store.session() as session:
        row = session.get(ReviewAlertRow, alert.id)
        assert row is not None
        assert row.delivered_to == ["outbox"]
        assert row.attempts == 1
        assert row.last_error is not None
        assert "pager down" in row.last_error
    pager.fail = False
    assert app.reviews.deliver_alerts() == 1
    assert app.reviews.alerts(undelivered=True) == []
    assert pager.sent == ["review-alert:negative:fake:r1"]
    with app.store.session() as session:
        assert session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.topic == "alert")
        ) == 1
    app.close()


def test_a_channel_bug_fails_its_alert_not_the_sync(tmp_path: Path,
                                                    shop: FakeReviewShop) -> None:
    """A channel raising something other than the library's errors (its own
    bug) stopped the sync with it; it is recorded on the alert like any
    failure (masked), the other channels still deliver, and it is retried."""

    class Buggy:
        name = "pager"

        def send(self, message: Any) -> Any:
            raise KeyError(f"no route for {message.to} (buyer shopper@example.com)")

    app = AfterSales(f"sqlite:///{tmp_path}/b.db", marketplaces=[shop], carriers=[],
                     channels=[Buggy(), "outbox"], clock=lambda: T0, migrate=False)
    app.store.create_all()
    shop.put("r1", 1, "质量太差")
    assert app.reviews.sync() == {"fake": 1}
    (alert,) = app.reviews.alerts(undelivered=True)
    with app.store.session() as session:
        row = session.get(ReviewAlertRow, alert.id)
        assert row is not None
        assert (row.delivered_to, row.attempts, row.lease_until) == (["outbox"], 1, None)
        assert row.last_error is not None
        assert row.last_error.startswith("pager: ")
        assert "shopper@example.com" not in row.last_error
    assert "pager" in app.reviews.delivery_failures()
    app.close()


def test_alert_filters(review_app: AfterSales, shop: FakeReviewShop) -> None:
    shop.put("r1", 1, "假货", at=timedelta(hours=1), sku="A")
    shop.put("r2", 2, "太慢了", at=timedelta(days=3), sku="B")
    review_app.reviews.sync()
    assert {a.sku for a in review_app.reviews.alerts(sku="A")} == {"A"}
    critical = review_app.reviews.alerts(min_severity=Severity.CRITICAL)
    assert {a.rule for a in critical} == {AlertRule.COUNTERFEIT, AlertRule.NEGATIVE}
    late = review_app.reviews.alerts(since=T0 + timedelta(days=1))
    assert {a.subject for a in late} == {"fake:r2"}
    assert len(review_app.reviews.alerts(limit=1)) == 1
    with pytest.raises(ValidationError):
        review_app.reviews.alerts(rule="nonsense")
    with pytest.raises(ValidationError):
        review_app.reviews.alerts(limit=0)
    with pytest.raises(ValidationError) as info:
        review_app.reviews.alerts(since=datetime(2026, 3, 1))
    assert info.value.field == "since"


def test_a_custom_classifier_plugs_in(tmp_path: Path, shop: FakeReviewShop) -> None:
    from aftersales.reviews.classify import Classification

    class StarsOnly:
        def classify(self, text: str, *, rating: int | None = None) -> Classification:
            tone = Sentiment.NEGATIVE if (rating or 3) <= 3 else Sentiment.POSITIVE
            return Classification(tone, ("custom",), (), Severity.LOW)

    app = make_app(f"sqlite:///{tmp_path}/x.db", shop, review_classifier=StarsOnly())
    shop.put("r1", 3, "完美，非常满意")
    app.reviews.sync()
    with app.store.session() as session:
        row = session.scalars(select(ReviewRow)).one()
    assert (row.sentiment, row.topics) == ("negative", ["custom"])
    app.close()


def test_review_alerts_option_must_be_an_alert_config(
    tmp_path: Path, shop: FakeReviewShop
) -> None:
    app = make_app(f"sqlite:///{tmp_path}/y.db", shop, review_alerts={"spike_threshold": 2})
    with pytest.raises(ConfigurationError, match=r"^reviews\.alerts must be an AlertConfig$"):
        _ = app.reviews
    app.close()


def test_sandbox_shop_end_to_end(app: AfterSales, sandbox: Any) -> None:
    app.sync_orders("sandbox")
    first = app.reviews.sync()
    assert first["sandbox"] > 0
    assert app.reviews.sync() == {"sandbox": 0}
    assert app.reviews.alerts(rule="negative")
    sandbox.advance(days=10)
    app.sync_orders("sandbox")
    assert app.reviews.sync()["sandbox"] > 0
    with app.store.session() as session:
        linked = session.scalar(
            select(func.count()).select_from(ReviewRow).where(ReviewRow.order_id.is_not(None))
        )
        total = session.scalar(select(func.count()).select_from(ReviewRow))
    assert linked == total  # the sandbox names each review's order, synced first


def test_an_edit_that_lifts_a_negative_review_emits_review_resolved(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    seen = events(review_app)
    shop.put("r1", 1, "物流太慢了", at=timedelta(hours=1), order_id="O-1")
    review_app.reviews.sync()
    shop.put("r1", 5, "物流太慢了（追加：客服主动联系解决了，很满意）", at=timedelta(days=2),
             order_id="O-1")
    review_app.reviews.sync()
    names = [e.name for e in seen]
    assert names.count("review.negative") == 1
    (resolved,) = [e for e in seen if e.name == "review.resolved"]
    negative = next(e for e in seen if e.name == "review.negative")
    assert resolved.payload["review_id"] == negative.payload["review_id"]
    assert resolved.payload["order_id"] == "O-1"
    review_app.reviews.sync()
    assert [e.name for e in seen].count("review.resolved") == 1


def test_a_negative_review_holds_follow_ups_to_its_buyer_until_resolved(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    from aftersales.store.tables.followups import ContactHoldRow

    with review_app.store.session() as session:
        session.add(OrderRow(
            marketplace="fake", external_id="O-7", buyer_id="B-7", buyer={}, currency="CNY",
            shipping=Decimal(0), discount=Decimal(0), total=Decimal("10.00"),
            placed_at=T0, remote_updated_at=T0,
        ))
    _ = review_app.followups  # subscribes to review.negative / review.resolved
    shop.put("r1", 1, "质量太差", at=timedelta(hours=1), order_id="O-7")
    review_app.reviews.sync()
    with review_app.store.session() as session:
        # the review's own hold, and the complaint hold of the case the review opened
        holds = {h.kind: h for h in session.scalars(select(ContactHoldRow))}
        assert sorted(holds) == ["complaint", "negative_review"]
        hold = holds["negative_review"]
        assert (hold.buyer_id, hold.kind, hold.resolved_at) == ("B-7", "negative_review", None)
    shop.put("r1", 4, "客服处理得很好，满意", at=timedelta(days=1), order_id="O-7")
    review_app.reviews.sync()
    with review_app.store.session() as session:  # the revised review closed its case too
        assert all(h.resolved_at is not None for h in session.scalars(select(ContactHoldRow)))


def test_a_title_repeating_the_body_is_not_counted_twice() -> None:
    from aftersales.reviews._record import review_text

    assert review_text("Way too small", "Way too small, cannot wear it", None) == (
        "Way too small, cannot wear it"
    )
    assert review_text("Fake?", "The logo is wrong", "追评") == "Fake?\nThe logo is wrong\n追评"


def test_an_alert_channel_that_is_not_configured_stops_the_sync_before_it_starts(
    tmp_path: Path, shop: FakeReviewShop
) -> None:
    """It synced every page, then failed delivering (``channel nope not found``)
    on every run, with the alerts piling up undelivered."""
    app = make_app(f"sqlite:///{tmp_path}/n.db", shop, review_alert_channels=["outbox", "nope"])
    shop.put("r1", 1, "质量太差")
    with pytest.raises(ConfigurationError, match="'nope'"):
        app.reviews.sync()
    assert count(app, ReviewRow) == 0
    app.close()


def test_syncing_a_store_that_is_not_there_or_has_no_reviews_is_refused(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    """``sync("typo")`` answered ``{}``: nothing synced and nothing said."""
    from aftersales.errors import NotFoundError, UnsupportedOperationError
    from aftersales.interfaces import MarketplaceBase

    with pytest.raises(NotFoundError, match="typo"):
        review_app.reviews.sync("typo")
    review_app.runtime.marketplaces["plain"] = MarketplaceBase(name="plain")
    with pytest.raises(UnsupportedOperationError, match="list_reviews"):
        review_app.reviews.sync("plain")


def test_a_review_with_fields_longer_than_their_columns_syncs_on_every_database(
    db_url: str, shop: FakeReviewShop
) -> None:
    """A 1,000-character title, a 500-character display name or a 200-character
    product handle failed the page on PostgreSQL (``value too long``), and every
    later sync failed on the same review. The whole text stays in the version."""
    app = make_app(db_url, shop)
    shop.put("r1", 1, "质量太差", title="T" * 1000, author="A" * 500, sku="S" * 200,
             order_id="O" * 300)
    shop.put("r2", 5, "很好", at=timedelta(minutes=1))
    assert app.reviews.sync() == {"fake": 2}
    (stored,) = app.reviews.list(max_rating=1)
    assert stored.title is not None
    assert stored.title.startswith("T")
    with app.store.session() as session:
        data = session.scalar(select(ReviewVersionRow.data))
    assert data is not None
    assert data["title"] == "T" * 1000
    assert app.reviews.sync() == {"fake": 0}
    app.close()
