"""Replies: templated, never sent twice, dry-run, capability-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.errors import (
    NotFoundError,
    RemoteRejectedError,
    TransientError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.store.tables.reviews import ReviewReplyRow, ReviewRow
from tests.reviews.conftest import FakeReviewShop, make_app


def _review_id(app: AfterSales, external_id: str = "r1") -> int:
    with app.store.session() as session:
        rid = session.scalar(select(ReviewRow.id).where(ReviewRow.external_id == external_id))
    assert rid is not None
    return rid


def _claims(app: AfterSales) -> int:
    with app.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(ReviewReplyRow)) or 0)


@pytest.fixture
def synced(review_app: AfterSales, shop: FakeReviewShop) -> AfterSales:
    shop.put("r1", 1, "质量太差了", author="小李")
    shop.put("r2", 5, "Great quality, love it", author="Ann")
    review_app.reviews.sync()
    return review_app


def test_reply_is_sent_once_however_often_it_is_asked(
    synced: AfterSales, shop: FakeReviewShop
) -> None:
    rid = _review_id(synced)
    first = synced.reviews.reply(rid, template="sorry")
    assert first.status == "sent"
    assert first.remote_id == "R-1"
    assert first.text.startswith("小李您好")  # the Chinese text, with the reviewer's name
    again = synced.reviews.reply(rid, template="thanks")
    assert again.status == "already_replied"
    assert again.text == first.text
    assert len(shop.reply_calls) == 1
    # The reply shows up on the next sync; it still is not sent again.
    assert synced.reviews.sync() == {"fake": 1}
    assert synced.reviews.reply("r1", template="sorry").status == "already_replied"
    assert len(shop.reply_calls) == 1


def test_dry_run_renders_and_sends_and_writes_nothing(
    synced: AfterSales, shop: FakeReviewShop
) -> None:
    result = synced.reviews.reply("r2", template="Thanks {author}! {sku} {rating}★ at {shop}",
                                  context={"author": "Ann"}, dry_run=True)
    assert result.status == "dry_run"
    assert result.text == "Thanks Ann! SKU-1 5★ at our shop"
    assert shop.reply_calls == []
    assert _claims(synced) == 0


def test_builtin_template_picks_the_review_language(synced: AfterSales) -> None:
    text = synced.reviews.reply("r2", template="thanks", dry_run=True).text
    assert text == "Thank you for your kind review, Ann! We hope to see you again at our shop."


def test_a_review_without_an_author_is_greeted_generically(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    shop.put("anon", 1, "太差了")
    review_app.reviews.sync()
    assert review_app.reviews.reply("anon", template="sorry", dry_run=True).text.startswith("亲您好")


def test_custom_named_templates(tmp_path: Path, shop: FakeReviewShop) -> None:
    app = make_app(f"sqlite:///{tmp_path}/t.db", shop, shop_name="小店",
                   review_templates={"care": "{shop}已收到您对{sku}的反馈：{review.body}"})
    shop.put("r1", 2, "尺码偏小")
    app.reviews.sync()
    result = app.reviews.reply("r1", template="care", dry_run=True)
    assert result.text == "小店已收到您对SKU-1的反馈：尺码偏小"
    app.close()


def test_a_template_with_a_missing_field_fails_before_anything_is_sent(
    synced: AfterSales, shop: FakeReviewShop
) -> None:
    with pytest.raises(ValidationError) as info:
        synced.reviews.reply("r1", template="您好，订单{order.tracking}")
    assert info.value.field == "order.tracking"
    with pytest.raises(ValidationError):
        synced.reviews.reply("r1", template="{review.__class__}")
    assert shop.reply_calls == []
    assert _claims(synced) == 0


def test_a_marketplace_without_replies_refuses_and_nothing_is_written(tmp_path: Path) -> None:
    shop = FakeReviewShop(replies=False)
    app = make_app(f"sqlite:///{tmp_path}/n.db", shop)
    shop.put("r1", 1, "很差")
    app.reviews.sync()
    with pytest.raises(UnsupportedOperationError) as info:
        app.reviews.reply("r1", template="sorry")
    assert info.value.adapter == "fake"
    assert _claims(app) == 0
    app.close()


def test_unknown_review_is_not_found(synced: AfterSales) -> None:
    with pytest.raises(NotFoundError):
        synced.reviews.reply(99_999, template="sorry")
    with pytest.raises(NotFoundError):
        synced.reviews.reply("nope", template="sorry")


def test_a_timeout_keeps_the_claim_and_the_retry_resends_the_same_text_and_key(
    synced: AfterSales, shop: FakeReviewShop
) -> None:
    shop.reply_error = TransientError("read timed out", adapter="fake")
    with pytest.raises(TransientError):
        synced.reviews.reply("r1", template="sorry")
    assert _claims(synced) == 1  # the reply may have been posted: keep the claim
    shop.reply_error = None
    result = synced.reviews.reply("r1", template="thanks")  # another template: ignored
    assert result.status == "sent"
    (_, text1, key1), (_, text2, key2) = shop.reply_calls
    assert (text1, key1) == (text2, key2)
    assert result.text == text1


def test_a_refusal_releases_the_claim_so_a_corrected_reply_can_go(
    synced: AfterSales, shop: FakeReviewShop
) -> None:
    shop.reply_error = RemoteRejectedError("too long", adapter="fake", status=422)
    with pytest.raises(RemoteRejectedError):
        synced.reviews.reply("r1", template="x" * 600)
    assert _claims(synced) == 0
    shop.reply_error = None
    assert synced.reviews.reply("r1", template="抱歉，我们马上处理").status == "sent"


def test_a_review_already_answered_on_the_marketplace_is_not_answered_again(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    shop.put("r1", 2, "一般", reply="感谢反馈")
    review_app.reviews.sync()
    assert review_app.reviews.reply("r1", template="sorry").status == "already_replied"
    assert shop.reply_calls == []


def test_replied_event_is_emitted_once(synced: AfterSales) -> None:
    seen: list[Any] = []
    synced.on("review.replied", seen.append)
    synced.reviews.reply("r1", template="sorry")
    synced.reviews.reply("r1", template="sorry")
    assert len(seen) == 1
    assert seen[0].payload["external_id"] == "r1"


def test_the_same_external_id_on_two_marketplaces_needs_a_marketplace(tmp_path: Path) -> None:
    one, two = FakeReviewShop(), FakeReviewShop()
    two.name = "fake2"
    app = AfterSales(f"sqlite:///{tmp_path}/m.db", marketplaces=[one, two], carriers=[],
                     channels=["outbox"], migrate=False)
    app.store.create_all()
    one.put("r1", 1, "差")
    two.put("r1", 1, "差")
    app.reviews.sync()
    with pytest.raises(ValidationError):
        app.reviews.reply("r1", template="sorry")
    assert app.reviews.reply("r1", template="sorry", marketplace="fake2").status == "sent"
    assert (len(one.reply_calls), len(two.reply_calls)) == (0, 1)
    app.close()


def test_a_failure_before_the_post_leaves_no_claim_behind(
    synced: AfterSales, shop: FakeReviewShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reads a reply needs (the review's latest version, the buyer's names)
    came after the claim: a database failure there left a claim that nothing
    had posted, and every later reply raised ReplyOutcomeUnknownError."""
    from aftersales.errors import DatabaseUnavailableError
    from aftersales.reviews import replies

    def down(*_args: Any) -> Any:
        raise DatabaseUnavailableError("database is locked")

    monkeypatch.setattr(replies, "buyer_names", down)
    with pytest.raises(DatabaseUnavailableError):
        synced.reviews.reply("r1", template="sorry")
    assert _claims(synced) == 0
    assert shop.reply_calls == []
    monkeypatch.undo()
    assert synced.reviews.reply("r1", template="sorry").status == "sent"
    assert len(shop.reply_calls) == 1


class _OddIdShop(FakeReviewShop):
    """A platform whose answer to a posted reply carries an odd "id"."""

    reply_idempotent = False

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.answer = answer

    def reply_review(self, review: Any, text: str, *, idempotency_key: str) -> str:
        super().reply_review(review, text, idempotency_key=idempotency_key)
        return self.answer  # type: ignore[no-any-return]


@pytest.mark.parametrize("answer", ["R-" + "9" * 300, "王芳 +86 138 0013 8000", 12345, None])
def test_a_posted_reply_is_recorded_whatever_id_the_platform_answers(
    db_url: str, answer: Any,
) -> None:
    """A 300-character id failed the record on PostgreSQL (``remote_id`` holds
    120) after the post: the reply was on the platform, its claim "sending"."""
    shop = _OddIdShop(answer)
    app = make_app(db_url, shop)
    shop.put("r1", 1, "质量太差了")
    app.reviews.sync()
    result = app.reviews.reply("r1", template="sorry")
    assert result.status == "sent"
    assert app.reviews.reply("r1", template="sorry").status == "already_replied"
    assert len(shop.reply_calls) == 1
    with app.store.session() as session:
        stored = session.scalar(select(ReviewReplyRow.remote_id))
    assert stored is None or (len(stored) <= 120 and "138" not in stored)
    app.close()


def test_mark_sent_refuses_a_remote_id_that_is_no_plain_id(db_url: str) -> None:
    """It failed the write on PostgreSQL (``database error``) and was stored whole on SQLite."""
    shop = _OddIdShop("R-1")
    app = make_app(db_url, shop)
    shop.put("r1", 1, "质量太差了")
    app.reviews.sync()
    shop.reply_error = TransientError("read timed out", adapter="fake")
    with pytest.raises(TransientError):
        app.reviews.reply("r1", template="sorry")
    with pytest.raises(ValidationError, match="field 'remote_id'"):
        app.reviews.mark_reply_sent("r1", remote_id="R-" + "9" * 300)
    assert app.reviews.mark_reply_sent("r1", remote_id="R-77").remote_id == "R-77"
    app.close()
