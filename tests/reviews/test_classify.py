"""The default classifier on labelled reviews, and its negation, intensity and
extension rules."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.models import Sentiment
from aftersales.reviews.classify import (
    TOPICS,
    Classification,
    Classifier,
    LexiconClassifier,
    Severity,
)

HERE = Path(__file__).parent


def _load(name: str) -> list[dict[str, Any]]:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def classifier() -> LexiconClassifier:
    return LexiconClassifier()


@dataclass
class _Score:
    accuracy: float
    topic_precision: float
    topic_recall: float
    by_group: dict[str, float]


def _score(classifier: Classifier, rows: list[dict[str, Any]]) -> _Score:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    tp = fp = fn = 0
    for row in rows:
        result = classifier.classify(row["text"])
        right = result.sentiment.value == row["sentiment"]
        groups = ["all", row["lang"], row["sentiment"]] + (["negation"] if row["negation"] else [])
        for group in groups:
            totals[group] += 1
            hits[group] += right
        gold, got = set(row["topics"]), set(result.topics)
        tp, fp, fn = tp + len(gold & got), fp + len(got - gold), fn + len(gold - got)
    by_group = {g: hits[g] / totals[g] for g in totals}
    return _Score(by_group["all"], tp / (tp + fp), tp / (tp + fn), by_group)


def _report(name: str, score: _Score) -> None:
    groups = ", ".join(f"{g} {v:.2f}" for g, v in sorted(score.by_group.items()))
    print(
        f"\n{name}: sentiment accuracy {score.accuracy:.3f} ({groups}); "
        f"topic precision {score.topic_precision:.3f}, recall {score.topic_recall:.3f}"
    )


def test_labelled_set_is_large_balanced_and_bilingual() -> None:
    rows = _load("labelled_reviews.jsonl")
    assert len(rows) >= 200
    assert len({r["id"] for r in rows}) == len(rows)
    sentiments = Counter(r["sentiment"] for r in rows)
    assert min(sentiments.values()) >= len(rows) * 0.25, sentiments
    langs = Counter(r["lang"] for r in rows)
    assert min(langs.values()) >= len(rows) * 0.4, langs
    topics = Counter(t for r in rows for t in r["topics"])
    assert all(topics[t] >= 15 for t in TOPICS), topics
    assert sum(r["negation"] for r in rows) >= 60


def test_accuracy_on_the_labelled_set(classifier: LexiconClassifier) -> None:
    score = _score(classifier, _load("labelled_reviews.jsonl"))
    _report("labelled set", score)
    # Why these floors: the first 282 reviews were written before the
    # lexicons and the last 80 right after, but the lexicons were then tuned
    # while reading this set's errors, so its figure (0.94 at the time)
    # flatters the classifier; blind_reviews.jsonl below gives the honest one.
    # 0.85 lets ~30 reviews flip after a lexicon edit and still fails a real
    # regression; a majority-class guess scores 0.39. Negations get their own
    # floor because they are the rule most easily broken by a new term.
    assert score.accuracy >= 0.85
    assert score.by_group["negation"] >= 0.80
    assert score.by_group["zh"] >= 0.80
    assert score.by_group["en"] >= 0.80
    assert score.topic_precision >= 0.80
    assert score.topic_recall >= 0.85


def test_accuracy_on_reviews_the_lexicons_never_saw(classifier: LexiconClassifier) -> None:
    rows = _load("blind_reviews.jsonl")
    score = _score(classifier, rows)
    _report("blind set", score)
    # 60 reviews written after the lexicons were frozen and scored once: 0.57
    # (a majority-class guess: 0.33). Do not tune the lexicons against this
    # file, or it stops measuring anything. Most misses are words the
    # lexicons do not know, which read as neutral, so the sharper promise is
    # the second one: the classifier seldom calls a review the opposite of
    # what it is (3 of 60 at the blind run).
    assert score.accuracy >= 0.50
    opposite = sum(
        {classifier.classify(r["text"]).sentiment.value, r["sentiment"]}
        == {"positive", "negative"}
        for r in rows
    )
    print(f"blind set: {opposite} of {len(rows)} read as the opposite sentiment")
    assert opposite <= len(rows) * 0.10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("不差", Sentiment.POSITIVE),
        ("不太好", Sentiment.NEGATIVE),
        ("不好", Sentiment.NEGATIVE),
        ("not bad", Sentiment.POSITIVE),
        ("not good", Sentiment.NEGATIVE),
        ("not bad at all", Sentiment.POSITIVE),
        ("没有任何问题", Sentiment.POSITIVE),
        ("不满意", Sentiment.NEGATIVE),
        ("不是不好", Sentiment.POSITIVE),
        ("not great, not terrible", Sentiment.NEUTRAL),
        ("不好不坏", Sentiment.NEUTRAL),
    ],
)
def test_negation(classifier: LexiconClassifier, text: str, expected: Sentiment) -> None:
    assert classifier.classify(text).sentiment is expected


def test_negation_is_milder_than_the_plain_opposite(classifier: LexiconClassifier) -> None:
    # "not bad" is praise, but faint praise; 不太好 is a softer complaint than 不好.
    assert 0 < classifier.classify("not bad").score < classifier.classify("good").score
    assert classifier.classify("不好").score < classifier.classify("不太好").score < 0


def test_negation_stops_at_the_clause(classifier: LexiconClassifier) -> None:
    assert classifier.classify("不知道，很好").sentiment is Sentiment.POSITIVE
    assert classifier.classify("no, it is great").sentiment is Sentiment.POSITIVE


def test_intensity(classifier: LexiconClassifier) -> None:
    def score(text: str) -> float:
        return classifier.classify(text).score

    assert score("非常好") > score("很好") > score("好") > 0
    assert score("慢") < score("有点慢") < 0
    assert score("really bad") < score("bad") < score("a bit bad") < 0
    assert score("非常不满意") < score("不满意") < 0


def test_contrast_lets_the_later_clause_lead(classifier: LexiconClassifier) -> None:
    assert classifier.classify("包装很好，但是质量太差").sentiment is Sentiment.NEGATIVE
    assert classifier.classify("shipping was slow but the quality is great").sentiment is (
        Sentiment.POSITIVE
    )


def test_rating_prior(classifier: LexiconClassifier) -> None:
    assert classifier.classify("收到了", rating=1).sentiment is Sentiment.NEGATIVE
    assert classifier.classify("收到了", rating=5).sentiment is Sentiment.POSITIVE
    assert classifier.classify("收到了", rating=3).sentiment is Sentiment.NEUTRAL
    assert classifier.classify("", rating=2).sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    ["假货，别买", "this is a fake", "孩子用了过敏", "the charger caught fire", "怀疑是高仿"],
)
def test_counterfeit_and_safety_are_critical_even_with_five_stars(
    classifier: LexiconClassifier, text: str
) -> None:
    result = classifier.classify(text, rating=5)
    assert result.severity is Severity.CRITICAL
    assert set(result.complaints) & {"counterfeit", "safety"}


@pytest.mark.parametrize("text", ["不是假货，放心", "100% genuine, not fake", "无毒无异味"])
def test_denied_counterfeit_or_safety_is_not_critical(
    classifier: LexiconClassifier, text: str
) -> None:
    result = classifier.classify(text)
    assert result.severity < Severity.CRITICAL
    assert result.sentiment is Sentiment.POSITIVE


def test_negated_praise_becomes_a_complaint(classifier: LexiconClassifier) -> None:
    result = classifier.classify("不是正品")
    assert result.complaints == ("counterfeit",)
    assert result.severity is Severity.CRITICAL


def test_severity_grades(classifier: LexiconClassifier) -> None:
    assert classifier.classify("很好").severity is Severity.NONE
    assert classifier.classify("质量很好，就是物流有点慢").severity <= Severity.LOW
    assert classifier.classify("有点慢").severity is Severity.MEDIUM
    assert classifier.classify("质量太差了，客服态度恶劣，发错货").severity is Severity.HIGH
    assert classifier.classify("有点慢", rating=1).severity is Severity.HIGH


def test_topics(classifier: LexiconClassifier) -> None:
    result = classifier.classify("发错货了，而且物流太慢，尺码也偏小")
    assert set(result.topics) == {"wrong_item", "delivery", "size"}
    assert set(result.complaints) >= {"wrong_item", "size"}
    assert classifier.classify("the box was crushed").topics == ("damage",)


def test_a_shop_extends_the_lexicon_with_a_dict(classifier: LexiconClassifier) -> None:
    assert "battery" not in classifier.classify("电量虚标").topics
    shop = LexiconClassifier(
        extra=[{"language": "shop", "topics": {"battery": {"complaint": ["电量虚标"]}}}]
    )
    result = shop.classify("电量虚标")
    assert result.topics == ("battery",)
    assert result.sentiment is Sentiment.NEGATIVE


def test_a_shop_extends_the_lexicon_with_a_file_and_overrides_a_weight(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text('[positive]\n"yyds" = 2.0\n\n[negative]\n"好" = 1.0\n', encoding="utf-8")
    shop = LexiconClassifier(extra=[path])
    assert shop.classify("yyds").sentiment is Sentiment.POSITIVE
    assert shop.classify("好").sentiment is Sentiment.NEGATIVE  # the shop's weight wins


def test_json_lexicon_replaces_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mini.json"
    path.write_text(json.dumps({"positive": {"gut": 1.0}, "negators": {"nicht": 1.0}}))
    mini = LexiconClassifier(lexicons=[path])
    assert mini.classify("gut").sentiment is Sentiment.POSITIVE
    assert mini.classify("nicht gut").sentiment is Sentiment.NEGATIVE
    assert mini.classify("很好").sentiment is Sentiment.NEUTRAL  # the defaults are gone


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"positive": {"好": "very"}}, "positive.好"),
        ({"topics": {"size": {"complain": ["小"]}}}, "topics.size.complain"),
        ({"negative": {"差": -1}}, "negative"),
        ({"colours": []}, "colours"),
    ],
)
def test_a_malformed_lexicon_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        LexiconClassifier(extra=[data])
    assert info.value.field == field


def test_a_term_defined_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="defined twice"):
        LexiconClassifier(extra=[{"positive": {"ok": 1.0}, "negative": {"OK": 1.0}}])


def test_unreadable_lexicon_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[positive\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"broken\.toml"):
        LexiconClassifier(extra=[path])


def test_a_custom_classifier_satisfies_the_protocol() -> None:
    class Stars:
        def classify(self, text: str, *, rating: int | None = None) -> Classification:
            good = (rating or 3) >= 4
            return Classification(Sentiment.POSITIVE if good else Sentiment.NEGATIVE)

    assert isinstance(Stars(), Classifier)
    assert isinstance(LexiconClassifier(), Classifier)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("不没好差很太假货质量 notbadgo,.!，。")), max_size=40
    ),
    rating=st.one_of(st.none(), st.integers(1, 5)),
)
def test_any_text_gets_a_consistent_classification(
    classifier: LexiconClassifier, text: str, rating: int | None
) -> None:
    result = classifier.classify(text, rating=rating)
    assert set(result.complaints) <= set(result.topics)
    critical = bool(set(result.complaints) & classifier.critical_topics)
    assert (result.severity is Severity.CRITICAL) is critical
    if result.sentiment is Sentiment.NEGATIVE and not critical:
        assert result.severity in (Severity.MEDIUM, Severity.HIGH)
    if result.sentiment is Sentiment.POSITIVE and not result.complaints:
        assert result.severity is Severity.NONE


# ---------------------------------------------------------------- lexicon fixes
# Each case below was misread before the fix named beside it (measured on the
# lexicons and rules as they were; see the review notes in the README).


@pytest.mark.parametrize(
    "text",
    [
        "不修身",  # a negator with nothing it knows after it
        "穿上不修身",
        "does not work",
        "it does not work at all",
    ],
)
def test_a_negator_before_an_unknown_word_is_a_complaint(
    classifier: LexiconClassifier, text: str
) -> None:
    result = classifier.classify(text)
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.terms
    assert result.terms[0][1] < 0


def test_a_negator_before_punctuation_or_a_neutral_phrase_says_nothing(
    classifier: LexiconClassifier,
) -> None:
    assert classifier.classify("不知道，很好").sentiment is Sentiment.POSITIVE
    assert classifier.classify("无线鼠标很好用").sentiment is Sentiment.POSITIVE
    assert classifier.classify("no, it is great").sentiment is Sentiment.POSITIVE


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("鞋子好小", "size"), ("衣服好贵啊", None), ("物流好慢", "delivery")],
)
def test_hao_before_a_complaint_means_very(
    classifier: LexiconClassifier, text: str, complaint: str | None
) -> None:
    result = classifier.classify(text)
    assert result.sentiment is Sentiment.NEGATIVE
    assert all(weight < 0 for _, weight in result.terms)  # 好 is no praise here
    if complaint:
        assert complaint in result.complaints


def test_kuai_before_a_number_means_almost(classifier: LexiconClassifier) -> None:
    result = classifier.classify("送餐晚了快一个小时")
    assert result.sentiment is Sentiment.NEGATIVE
    assert "delivery" in result.complaints
    assert classifier.classify("物流很快").sentiment is Sentiment.POSITIVE  # still fast


@pytest.mark.parametrize("text", ["最好不要买", "大家最好别买这家的"])
def test_better_not_buy_is_a_complaint(classifier: LexiconClassifier, text: str) -> None:
    assert classifier.classify(text).sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    ["并不像想象的那么好", "without a doubt the worst purchase I've made", "no doubt the worst"],
)
def test_negation_reaches_the_right_word(classifier: LexiconClassifier, text: str) -> None:
    assert classifier.classify(text).sentiment is Sentiment.NEGATIVE


def test_the_clause_after_but_is_the_point(classifier: LexiconClassifier) -> None:
    result = classifier.classify("颜色很好看，款式也喜欢，但是尺码偏小")
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.complaints == ("size",)
    # The reverse still reads as praise.
    assert classifier.classify("物流有点慢，但是质量很好").sentiment is Sentiment.POSITIVE


@pytest.mark.parametrize(
    "text",
    ["东西很好，就是快递太慢了", "东西不错，运费太贵了", "great product but shipping cost way too much"],
)
def test_a_courier_or_fee_complaint_inside_praise_is_a_delivery_complaint(
    classifier: LexiconClassifier, text: str
) -> None:
    result = classifier.classify(text)
    assert "delivery" in result.complaints
    assert result.sentiment is not Sentiment.POSITIVE
    assert result.severity >= Severity.LOW


@pytest.mark.parametrize("text", ["物流能在慢一点吗？", "物流能再快一点吗？", "快递就不能快点吗?"])
def test_a_rhetorical_question_is_a_complaint(classifier: LexiconClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.sentiment is Sentiment.NEGATIVE
    assert "delivery" in result.complaints


def test_a_plain_question_is_no_complaint(classifier: LexiconClassifier) -> None:
    result = classifier.classify("质量很好，还能再买吗？")
    assert result.sentiment is Sentiment.POSITIVE
    assert all(weight > 0 for _, weight in result.terms)


def test_the_classification_names_the_words_that_decided_it(
    classifier: LexiconClassifier,
) -> None:
    result = classifier.classify("包装很好，但是质量太差")
    assert [term for term, _ in result.terms] == ["很好", "太差"]
    assert result.terms[0][1] > 0 > result.terms[1][1]
    assert "太差" in result.explanation
    assert result.model_score is None  # no model took part
