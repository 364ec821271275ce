"""app.kb: entries, validity windows, stores, templates, re-indexing and suggestions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, create_engine, select

from aftersales.app import AfterSales
from aftersales.errors import NotFoundError, ValidationError
from aftersales.kb import Subject
from aftersales.store.tables.kb import KbEntryRow, KbTermRow
from aftersales.store.tables.reviews import ReviewRow

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
def app(db_url: str) -> Iterator[AfterSales]:
    with AfterSales(db_url, marketplaces=[], carriers=[], clock=lambda: NOW) as instance:
        instance.kb.load_sample()
        yield instance


def _keys(app: AfterSales, query: str, **kw: object) -> list[str]:
    return [h.entry.key for h in app.kb.search(query, **kw)]  # type: ignore[arg-type]


def test_a_naive_search_time_is_refused_by_name(app: AfterSales) -> None:
    """It failed as a StorageError (or, with no entry, was accepted)."""
    with pytest.raises(ValidationError, match="field 'at': must be timezone-aware"):
        app.kb.search("预售定金能退吗", at=datetime(2026, 11, 1))


def test_an_entry_outside_its_window_is_not_found(app: AfterSales) -> None:
    # The sample's pre-sale entry runs 2026-10-20 .. 2026-11-20 (+08:00).
    assert "double-eleven-presale" not in _keys(app, "预售定金能退吗")
    during = datetime(2026, 11, 1, tzinfo=UTC)
    assert _keys(app, "预售定金能退吗", at=during)[0] == "double-eleven-presale"
    end = datetime(2026, 11, 19, 16, tzinfo=UTC)  # exactly valid_until: no longer shown
    assert "double-eleven-presale" not in _keys(app, "预售定金能退吗", at=end)
    assert "double-eleven-presale" in _keys(app, "预售定金能退吗", at=end - timedelta(seconds=1))


def test_a_stores_own_entry_is_shown_only_for_that_store(app: AfterSales) -> None:
    app.kb.add({"key": "gift-wrap", "store": "tmall-flagship", "question": "可以礼品包装吗",
                "answer_zh": "旗舰店支持免费礼品包装。"})
    assert "gift-wrap" in _keys(app, "礼品包装", store="tmall-flagship")
    assert "gift-wrap" not in _keys(app, "礼品包装", store="jd-outlet")
    assert "gift-wrap" in _keys(app, "礼品包装")  # no store given: every entry


def test_replacing_an_entry_replaces_its_index(app: AfterSales) -> None:
    app.kb.add({"key": "gift-wrap", "question": "可以礼品包装吗", "answer_zh": "可以"})
    assert app.kb.add({"key": "gift-wrap", "question": "可以礼品包装吗",
                       "answer_zh": "可以"}).value == "unchanged"
    assert app.kb.add({"key": "gift-wrap", "question": "能刻字吗",
                       "answer_zh": "可以刻字"}).value == "updated"
    assert "gift-wrap" not in _keys(app, "礼品包装")
    assert _keys(app, "刻字")[0] == "gift-wrap"
    assert app.kb.remove("gift-wrap") is True
    assert app.kb.remove("gift-wrap") is False
    with app.store.session() as s:
        assert not s.scalars(select(KbTermRow).where(KbTermRow.term == "b:刻字")).all()


def test_templates_render_safely_and_refuse_unknown_variables(app: AfterSales) -> None:
    text = app.kb.render("refund-paid", {"order_id": "E1001", "refund_amount": "¥25.00"})
    assert text == "您好，您的订单E1001已退款¥25.00，将原路退回您的支付账户，请注意查收。"
    hostile = app.kb.render("refund-paid", {"order_id": "{refund_amount}", "refund_amount": "1"},
                            lang="en")
    assert "order {refund_amount}" in hostile  # a value is never rendered again
    with pytest.raises(ValidationError, match="refund_amount"):
        app.kb.render("refund-paid", {"order_id": "E1001"})
    with pytest.raises(ValidationError, match=r"unknown variable\(s\) secret"):
        app.kb.add({"key": "t", "kind": "template", "question": "q",
                    "answer_zh": "{secret}"})
    with pytest.raises(ValidationError, match="unknown variable"):
        app.kb.add({"key": "t", "kind": "template", "question": "q",
                    "answer_en": "{order_id.__class__}"})
    with pytest.raises(NotFoundError):
        app.kb.render("nope", {})


def test_limits_and_empty_queries(app: AfterSales) -> None:
    assert app.kb.search("？？？") == []
    assert app.kb.search("x" * 100_000) == []  # cut to its first 2000 characters
    for bad in (0, 101):
        with pytest.raises(ValidationError, match="limit"):
            app.kb.search("退款", limit=bad)


def test_an_entry_indexed_by_older_rules_is_indexed_again_once(
        app: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    # Index one entry as a release without traditional folding did.
    with monkeypatch.context() as old:
        old.setattr("aftersales.kb.index.INDEX_VERSION", 1)
        old.setattr("aftersales.kb.text.fold_traditional", lambda text: text)
        app.kb.add({"key": "tw-invoice", "question": "發票抬頭可以改嗎",
                    "answer_zh": "可以，請提供新抬頭。"})

    def terms() -> set[str]:
        with app.store.session() as s:
            return set(s.scalars(select(KbTermRow.term).join(KbEntryRow).where(
                KbEntryRow.key == "tw-invoice")))

    assert "b:發票" in terms()
    assert app.kb.reindex() == 1  # that entry only; the sample is current
    assert "b:发票" in terms()
    assert "b:發票" not in terms()
    assert _keys(app, "發票抬頭可以改嗎")[0] == "tw-invoice"
    assert app.kb.reindex() == 0
    assert set(app.kb.load_sample()) == {"added", "updated", "unchanged"}
    assert app.kb.load_sample()["unchanged"] == len(app.kb.list()) - 1


def _fingerprint(url: str) -> str:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for name in sorted(meta.tables):
            for row in conn.execute(select(meta.tables[name])):
                digest.update(repr((name, sorted(map(repr, row)))).encode())
    engine.dispose()
    return digest.hexdigest()


def _review(app: AfterSales, **over: object) -> int:
    data: dict[str, object] = {
        "marketplace": "sandbox", "external_id": "R-1", "rating": 1, "body": "杯子收到就碎了，太失望",
        "topics": ["damage"], "complaints": ["damage"], "order_external_id": "SO-7",
        "tracking_number": "SF100", "remote_created_at": NOW, "remote_updated_at": NOW,
    }
    data.update(over)
    with app.store.session() as s:
        row = ReviewRow(**data)
        s.add(row)
        s.flush()
        return row.id


def test_suggestions_for_a_review_rank_by_topic_and_text_and_send_nothing(
        app: AfterSales) -> None:
    review_id = _review(app)
    before = _fingerprint(app.store.url)
    found = app.kb.suggest(review_id=review_id, limit=5)
    assert _fingerprint(app.store.url) == before  # nothing written, nothing queued to send
    keys = [s.entry.key for s in found]
    assert keys[:2] == ["damaged-on-arrival", "damage-apology"]
    apology = found[1]
    assert apology.text is not None
    assert "SO-7" in apology.text
    assert "SF100" in apology.text
    assert "tag damage" in apology.reasons
    assert "intent damaged" in apology.reasons
    refund = app.kb.suggest(review_id=_review(app, external_id="R-2", tracking_number=None,
                                              topics=["refund"], complaints=["refund"],
                                              body="退款拖了两周还没到账"))
    paid = next(s for s in refund if s.entry.key == "refund-delay-apology")
    assert paid.text is None
    assert paid.missing == ("deadline", "refund_amount")


def test_a_handoff_entry_says_a_person_must_answer(app: AfterSales) -> None:
    found = app.kb.suggest(review_id=_review(app, body="this is a fake, not genuine at all",
                                             topics=["counterfeit"], complaints=["counterfeit"]))
    first = found[0]
    assert first.entry.key == "counterfeit"
    assert first.handoff
    assert "hand to a person" in first.reasons


def test_suggest_needs_one_subject(app: AfterSales) -> None:
    with pytest.raises(ValidationError):
        app.kb.suggest()
    with pytest.raises(ValidationError):
        app.kb.suggest("C-1", review_id=1)
    with pytest.raises(NotFoundError):
        app.kb.suggest(review_id=999_999)
    with pytest.raises(NotFoundError):
        app.kb.suggest("C-1")
    with pytest.raises(NotFoundError):
        app.kb.suggest("999999")


def test_suggest_for_a_subject_built_by_the_caller(app: AfterSales) -> None:
    found = app.kb.suggest_for(Subject(ref="case X", intents=("shipping_status",),
                                       tags=("late_delivery",), text="快递一周了还没到",
                                       values={"order_id": "SO-9", "tracking_number": "YT1",
                                               "tracking_link": "https://t.example/YT1"}))
    keys = [s.entry.key for s in found]
    assert "late-delivery-apology" in keys[:3]
    late = next(s for s in found if s.entry.key == "late-delivery-apology")
    assert late.text is not None
    assert "https://t.example/YT1" in late.text


def test_suggestions_for_a_case_follow_its_kind_root_cause_and_words(app: AfterSales) -> None:
    case = app.cases.open(store="sandbox", buyer_id="b-1", kind="logistics", order_id="SO-9",
                          subject="快递一个星期了还没到，物流也不更新", links=[("parcel", "YT1")])
    app.cases.set_cause(case.id, "logistics.late_delivery", valid=True)
    before = _fingerprint(app.store.url)
    found = app.kb.suggest(str(case.id))
    assert _fingerprint(app.store.url) == before  # a suggestion writes and sends nothing
    keys = [s.entry.key for s in found]
    assert {"tracking-not-updating", "late-delivery-apology"} <= set(keys[:3])
    assert "late-delivery-compensation" in keys
    late = next(s for s in found if s.entry.key == "late-delivery-compensation")
    assert "tag late_delivery" in late.reasons
    assert "intent shipping_status" in late.reasons
    apology = next(s for s in app.kb.suggest(str(case.id), limit=10)
                   if s.entry.key == "late-delivery-apology")
    assert apology.missing == ("tracking_link",)  # the parcel's number is known, its link is not


def test_cause_tags_meet_the_samples_tags() -> None:
    from aftersales.kb.suggest import cause_tags

    assert cause_tags("logistics.lost_parcel") == (
        "logistics.lost_parcel", "lost_parcel", "logistics_lost_parcel")
    assert "product_quality" in cause_tags("product.quality")
    assert cause_tags("other") == ("other",)


@pytest.mark.parametrize(("call", "field"), [
    (lambda kb: kb.get("a\udc80"), "key"),  # a lone surrogate: UnicodeEncodeError
    (lambda kb: kb.get("a\x00b"), "key"),  # PostgreSQL cannot hold a NUL
    (lambda kb: kb.get("k" * 1000), "key"),  # echoed whole in a NotFoundError
    (lambda kb: kb.get("refund-time", store="s\udc80"), "store"),
    (lambda kb: kb.remove("a\x00b"), "key"),
    (lambda kb: kb.remove("a\udc80"), "key"),
    (lambda kb: kb.list(kind="bogus"), "kind"),  # a bare ValueError
    (lambda kb: kb.list(store="s\x00"), "store"),
])
def test_reads_and_removals_refuse_a_bad_key_store_or_kind_by_name(
    app: AfterSales, call: object, field: str
) -> None:
    with pytest.raises(ValidationError, match=f"field '{field}'") as raised:
        call(app.kb)  # type: ignore[operator]
    assert "k" * 100 not in str(raised.value)
    assert app.kb.get("refund-time").key == "refund-time"  # nothing changed


@pytest.mark.parametrize(("changes", "field"), [
    ({"question": "refund \ud800 time"}, "question"),  # a bare UnicodeEncodeError
    ({"also": ["when \udc80"]}, "also"),
    ({"answer_en": "in 3 days \ud83d"}, "answer_en"),
    ({"answer_zh": "三天\udfff"}, "answer_zh"),
    ({"store": "shop\x00"}, "store"),  # added, then unreadable; PostgreSQL refused it
    ({"store": "shop\ud800"}, "store"),
    ({"intents": ["refund\x00"]}, "intents"),
    ({"tags": ["damage\udc80"]}, "tags"),
])
def test_an_entry_with_a_nul_or_a_lone_surrogate_is_refused_by_name(
    app: AfterSales, changes: dict[str, object], field: str
) -> None:
    before = len(app.kb.list())
    entry = {"key": "hostile", "question": "refund time", "answer_en": "3 days", **changes}
    with pytest.raises(ValidationError, match=f"field '{field}"):
        app.kb.add(entry)
    assert len(app.kb.list()) == before


@pytest.mark.parametrize(("call", "field"), [
    (lambda kb: kb.search(None), "query"),  # a TypeError
    (lambda kb: kb.search(5), "query"),
    (lambda kb: kb.search("refund", limit="5"), "limit"),  # a TypeError
    (lambda kb: kb.search("refund", limit=True), "limit"),
    (lambda kb: kb.search("refund", limit=2.5), "limit"),
    (lambda kb: kb.suggest("1", limit="5"), "limit"),
    (lambda kb: kb.suggest("\ud800"), "case_id"),  # a not-found naming a surrogate
    (lambda kb: kb.suggest("١٢"), "case_id"),  # Arabic-Indic digits
    (lambda kb: kb.suggest(1.5), "case_id"),
])
def test_a_query_limit_or_case_id_of_the_wrong_type_is_refused_by_name(
        app: AfterSales, call: object, field: str) -> None:
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        call(app.kb)  # type: ignore[operator]
