"""The default classifier: the packaged model blended with the lexicons and
the stars; fitting it on a shop's own reviews, saving and loading it."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.app import AfterSales
from aftersales.errors import ValidationError
from aftersales.models import Sentiment
from aftersales.reviews import (
    BlendedClassifier,
    Classifier,
    LexiconClassifier,
    Severity,
    default_classifier,
)
from aftersales.reviews.blended import AFTER_CONTRAST, fit_blend
from aftersales.reviews.lexicon import normalize
from aftersales.reviews.model import MAX_CHARS, features, lexicon_features


@pytest.fixture(scope="module")
def clf() -> BlendedClassifier:
    return default_classifier()


def test_app_reviews_uses_the_default_classifier(review_app: AfterSales) -> None:
    assert review_app.reviews.classifier is default_classifier()
    assert isinstance(default_classifier(), Classifier)


@pytest.mark.parametrize(
    "text",
    ["质量不咋地，跟板筋一样", "lousy, it broke in a week", "衣服不修身，版型很奇怪"],
)
def test_complaints_in_words_the_lexicon_does_not_know_are_caught(
    clf: BlendedClassifier, text: str
) -> None:
    assert clf.classify(text).sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize("text", ["跟板筋一样", "lousy"])
def test_the_model_catches_what_the_lexicon_alone_calls_neutral(
    clf: BlendedClassifier, text: str
) -> None:
    assert LexiconClassifier().classify(text).sentiment is Sentiment.NEUTRAL
    assert clf.classify(text).sentiment is Sentiment.NEGATIVE


# Each phrase a lexicon rule reads right (好 as "very", 快 as "almost", 最好别买,
# a complaint after "but"), which n-grams alone read as praise or nothing: the
# default classifier must keep the lexicon's verdict, not drown it.
@pytest.mark.parametrize(
    "text",
    ["好小", "好贵", "裤子好短", "快递好慢", "晚了快一个小时", "最好别买",
     "东西不错，但是快递太慢了", "质量很好，就是运费太贵", "衣服好看但是有线头"],
)
def test_the_lexicon_rules_carry_through_the_model(clf: BlendedClassifier, text: str) -> None:
    assert LexiconClassifier().classify(text).sentiment is Sentiment.NEGATIVE
    assert clf.classify(text).sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize("text", ["好评", "很好，快递也快", "快递很快，一天就到了", "还不错"])
def test_plain_praise_stays_positive(clf: BlendedClassifier, text: str) -> None:
    assert clf.classify(text).sentiment is Sentiment.POSITIVE


def test_the_model_reads_negation_scope_and_the_lexicons_verdicts(
    clf: BlendedClassifier,
) -> None:
    feats = features("不修身，质量好")
    assert {"¬修", "¬修身"} <= feats
    assert not any(f.startswith("¬") and "质" in f for f in feats)  # the clause ended
    reading = clf.lexicon.read("好小")
    assert lexicon_features(reading.terms, reading.score) == {"L-:好小", "LS:--"}
    assert lexicon_features((), 0.0) == set()  # no term: nothing from the lexicon
    assert clf.model.lexicon_features
    # Without the lexicon's features the same model reads 好小 as much less
    # of a complaint: the features are what carries the lexicon's rule.
    norm = "好小"
    with_lexicon = clf.model.read_normalized(norm, lexicon_features(reading.terms,
                                                                      reading.score))[0]
    assert with_lexicon > clf.model.read_normalized(norm)[0] + 1


def test_stars_combine_with_the_text(clf: BlendedClassifier) -> None:
    assert clf.classify("收到了", rating=1).sentiment is Sentiment.NEGATIVE
    assert clf.classify("收到了", rating=5).sentiment is Sentiment.POSITIVE
    assert clf.classify("", rating=2).sentiment is Sentiment.NEGATIVE
    assert clf.classify("", rating=5).sentiment is Sentiment.POSITIVE
    # No text and no stars: nothing to go on, so no alarm.
    assert clf.classify("").sentiment is Sentiment.NEUTRAL
    # A clear complaint outweighs a careless four stars; praise a one-star slip.
    assert clf.classify("质量太差了，穿一次就开线，千万别买", rating=4).sentiment is (
        Sentiment.NEGATIVE
    )
    # A lukewarm verdict with a middling rating is neutral, not praise.
    assert clf.classify("还行吧", rating=3).sentiment is Sentiment.NEUTRAL
    assert clf.classify("It's okay, does the job", rating=3).sentiment is Sentiment.NEUTRAL


def test_stars_move_the_score_the_right_way(clf: BlendedClassifier) -> None:
    scores = [clf.classify("物流一般，东西还可以", rating=r).score for r in (1, 2, 3, 4, 5)]
    assert scores == sorted(scores)


@pytest.mark.parametrize("text", ["假货，别买", "this is a fake", "the charger caught fire"])
def test_counterfeit_and_safety_stay_critical_with_five_stars(
    clf: BlendedClassifier, text: str
) -> None:
    assert clf.classify(text, rating=5).severity is Severity.CRITICAL


def test_the_classification_says_which_words_and_model_score_decided_it(
    clf: BlendedClassifier,
) -> None:
    result = clf.classify("东西很好，就是快递太慢了")
    assert result.model_score is not None
    assert 0 <= result.model_score <= 1
    assert ("慢", pytest.approx(-1.8, abs=0.5)) in [(t, w) for t, w in result.terms]
    assert "delivery" in result.complaints
    assert f"model: {result.model_score:.0%} complaint" in result.explanation
    assert "慢" in result.explanation
    longer = clf.explain("东西很好，就是快递太慢了")
    assert longer.startswith(result.explanation)
    assert "model n-grams:" in longer


@pytest.mark.parametrize(
    ("text", "after"),
    [("东西不错，但是快递太慢了", "快递太慢了"), ("屏幕很清楚，不过发热严重", "发热严重"),
     ("外观好看可是用了两天就坏了", "用了两天就坏了")],
)
def test_the_model_vote_leans_on_the_text_after_but(
    clf: BlendedClassifier, text: str, after: str
) -> None:
    norm = normalize(text)
    reading = clf.lexicon.read_normalized(norm)
    assert reading.after_contrast is not None
    assert norm[reading.after_contrast :].strip() == after
    extra = lexicon_features(reading.terms, reading.score)
    whole = clf.model.read_normalized(norm, extra)[0]
    tail = clf.model.read_normalized(after, extra)[0]
    assert tail > whole  # the complaint after "but" is the point
    assert clf.votes(text)[0] == pytest.approx(whole + AFTER_CONTRAST * (tail - whole))


@pytest.mark.parametrize(
    "text", ["质量很好，就是运费太贵", "东西不错", "不错，但是", "looks nice but it broke in a week"]
)
def test_without_a_but_clause_the_model_reads_the_whole_text(
    clf: BlendedClassifier, text: str
) -> None:
    # 就是 adds a detail more often than it turns a review around; "但是" with
    # nothing after it has no clause to lean on; English "but" is the valences'.
    norm = normalize(text)
    reading = clf.lexicon.read_normalized(norm)
    extra = lexicon_features(reading.terms, reading.score)
    assert clf.votes(text)[0] == clf.model.read_normalized(norm, extra)[0]


def test_fit_blend_keeps_each_vote_on_its_side() -> None:
    # A lexicon score that rises with complaints (the wrong way round) and
    # overlaps the model's vote: fitted freely it gets a weight toward
    # "complaint", which a text of many praise words would then inherit.
    rnd = random.Random(3)
    points, targets = [], []
    for _ in range(300):
        m = rnd.uniform(-4, 4)
        points.append((m, 0.5 * m + rnd.uniform(-0.1, 0.1), -0.2 * m))
        targets.append(1.0 if m + rnd.gauss(0, 1) > 0 else 0.0)
    blend = fit_blend(points, targets)
    assert blend.model > 0
    assert blend.lexicon == 0
    assert blend.valence <= 0


def test_the_packaged_blends_keep_each_vote_on_its_side(clf: BlendedClassifier) -> None:
    for blend in clf.blends.values():
        assert blend.model > 0
        assert blend.lexicon <= 0
        assert blend.valence <= 0
    # The lexicon's score grows with the text: 10,000 complaint words must
    # stay a complaint, not turn into praise through a wrong-signed weight.
    assert clf.classify("差" * 20_000).sentiment is Sentiment.NEGATIVE
    assert clf.classify("好" * 20_000).sentiment is Sentiment.POSITIVE


def test_topics_are_the_lexicons(clf: BlendedClassifier) -> None:
    lexicon = LexiconClassifier()
    for text in ["发错货了，而且物流太慢，尺码也偏小", "the box was crushed", "客服态度很好"]:
        assert clf.classify(text).topics == lexicon.classify(text).topics


def test_a_hostile_review_is_read_in_bounded_work(clf: BlendedClassifier) -> None:
    varied = "".join(chr(0x4E00 + (i * 7919) % 20_000) for i in range(300_000))
    assert len(features(varied)) <= 3 * MAX_CHARS  # the model reads a bounded prefix
    assert clf.model.read(varied)[1] <= 3 * MAX_CHARS
    huge = "差" * 2_000_000 + "好" * 10
    assert clf.classify(huge).sentiment in Sentiment  # so does the lexicon
    weird = "\u0000\ud7ff\U0001f600" * 50 + "﹏ＡＢＣ"
    assert clf.classify(weird).sentiment in Sentiment


# ---------------------------------------------------------------- fit, save, load

_BASES = ["这次收到了", "第二次买了", "给家里人买的", "看了很久才下单", "包装完好",
          "按时送到", "和描述一样", "朋友推荐的", "今天拿到的", "已经用了一周"]


def _shop_rows() -> list[tuple[str, str]]:
    """A shop whose buyers name the bad batch 龘靐 and the good one 齉齾 (stand-ins
    for a shop's own words: characters the packaged model has never seen)."""
    rows = []
    for i in range(250):
        base = _BASES[i % len(_BASES)]
        rows.append((f"{base}，又是龘靐批次{i % 7}", "negative"))
        rows.append((f"{base}，是齉齾批次{i % 7}", "positive"))
    return rows


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "sentiment", "rating"])
        for text, label in rows:
            writer.writerow([text, label, ""])


def test_a_shop_fits_the_model_on_its_own_csv_and_saves_and_loads_it(
    clf: BlendedClassifier, tmp_path: Path
) -> None:
    path = tmp_path / "reviews.csv"
    _write_csv(path, _shop_rows())  # 500 rows
    bad, good = "今天到了，又是龘靐批次", "今天到了，是齉齾批次"
    assert "龘靐" not in clf.model.weights
    before = clf.classify(bad).score - clf.classify(good).score
    fitted = clf.fit_csv(path)
    assert fitted.model.weights["龘靐"] > 0 > fitted.model.weights["齉齾"]  # new words learnt
    assert fitted.classify(bad).sentiment is Sentiment.NEGATIVE
    assert fitted.classify(good).sentiment is not Sentiment.NEGATIVE
    assert fitted.classify(bad).score - fitted.classify(good).score < before - 1
    # The original is untouched, and the rest of what it knew survives.
    assert clf.classify(bad).score == pytest.approx(clf.classify(bad).score)
    assert fitted.classify("质量太差了，千万别买").sentiment is Sentiment.NEGATIVE
    assert fitted.classify("非常满意，质量很好，推荐").sentiment is Sentiment.POSITIVE

    saved = tmp_path / "ours.json.gz"
    fitted.save(saved)
    loaded = BlendedClassifier.load(saved)
    for text in (bad, good, "lousy", "物流能再快一点吗？"):
        assert loaded.classify(text) == fitted.classify(text)
    # Saving the same model twice gives the same bytes (no timestamp inside).
    again = tmp_path / "again.json.gz"
    loaded.save(again)
    assert again.read_bytes() == saved.read_bytes()


def test_a_shop_refits_only_the_blend(clf: BlendedClassifier) -> None:
    rows = _shop_rows()[:100]
    fitted = clf.fit([t for t, _ in rows], [lab for _, lab in rows], what="blend")
    assert fitted.model is clf.model
    assert fitted.blends["zh"] != clf.blends["zh"]
    assert fitted.blends["en"] == clf.blends["en"]  # no English rows: kept as it was


@pytest.mark.parametrize(
    ("content", "row", "field"),
    [
        ("text,sentiment\n好,positive\n差,negative\n还行,meh\n", 3, "sentiment"),
        ("text,sentiment\n好,positive\n,negative\n", 2, "text"),
        ("review,sentiment\n好,positive\n", 1, "text"),
    ],
)
def test_a_bad_csv_row_is_named_and_nothing_is_fitted(
    clf: BlendedClassifier, tmp_path: Path, content: str, row: int, field: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        clf.fit_csv(path)
    assert (info.value.row, info.value.field) == (row, field)
    assert "bad.csv" in str(info.value)
    assert "\n" not in str(info.value)


def test_an_empty_or_unreadable_csv_is_refused(clf: BlendedClassifier, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("text,sentiment\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="no review rows"):
        clf.fit_csv(empty)
    with pytest.raises(ValidationError, match=r"missing\.csv"):
        clf.fit_csv(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"format": 99, "weights": {}, "bias": 0}, "format"),
        ({"format": 1, "weights": {"好": "x"}, "bias": 0}, "weights"),
        ({"format": 1, "weights": {}, "bias": None}, "bias"),
        ({"format": 1, "weights": {}, "bias": 0, "blend": {"zh": {"model": 1}}}, "blend.zh"),
        ({"format": 1, "weights": {}, "bias": 0, "valences": {"good": "x"}}, "valences"),
        ({"format": 1, "weights": {}, "bias": 0, "positive_margin": -1}, "positive_margin"),
        ({"format": 1, "weights": {}, "bias": 0, "lexicon_features": "yes"}, "lexicon_features"),
    ],
)
def test_a_malformed_model_file_names_the_field(
    tmp_path: Path, data: dict[str, object], field: str
) -> None:
    path = tmp_path / "broken.json.gz"
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    with pytest.raises(ValidationError) as info:
        BlendedClassifier.load(path)
    assert info.value.field == field
    assert "broken.json.gz" in str(info.value)


def test_a_corrupt_model_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.json.gz"
    path.write_bytes(gzip.compress(b'{"format": 1, "weights": {')[:20])
    with pytest.raises(ValidationError, match=r"cut\.json\.gz"):
        BlendedClassifier.load(path)


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("不没好差很太假货质量快递慢 notbadgo,.!，。？")),
                 max_size=40),
    rating=st.one_of(st.none(), st.integers(1, 5)),
)
def test_any_text_gets_a_consistent_classification(
    clf: BlendedClassifier, text: str, rating: int | None
) -> None:
    result = clf.classify(text, rating=rating)
    assert set(result.complaints) <= set(result.topics)
    critical = bool(set(result.complaints) & clf.lexicon.critical_topics)
    assert (result.severity is Severity.CRITICAL) is critical
    if result.sentiment is Sentiment.NEGATIVE and not critical:
        assert result.severity in (Severity.MEDIUM, Severity.HIGH)
    if result.sentiment is Sentiment.POSITIVE and not result.complaints:
        assert result.severity is Severity.NONE
    if result.sentiment is Sentiment.NEGATIVE:
        assert result.score <= 0
    if result.sentiment is Sentiment.POSITIVE:
        assert result.score > 0
