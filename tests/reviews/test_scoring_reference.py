"""The default classifier's fast scoring gives the answers of the plain one.

Scoring is written for speed (the model's features built by ``map`` and
looked up in one table per feature length, the lexicon's terms found by a
regex dispatched on their first character, no object per match). These
tests hold it to plain references written the obvious way, on every real
review the repository has (``heldout/`` and the labelled sets):

* the model's log-odds and count of known features against a plain scorer
  (every feature of the model's docstring in one set, one weight table);
* the lexicon's matches against one flat alternation of the terms;
* every verdict, severity, score, model score, term, topic and complaint of
  the default classifier and of the lexicon classifier against
  ``reference_verdicts.jsonl.gz``, written by the scoring before it was made
  fast (scores within one rounding step: the model adds its weights in set
  order, which varies with the process's string hashing in the last bit).

After a deliberate change of the model or the lexicons, rewrite the
reference with ``python tests/reviews/test_scoring_reference.py`` and say why
in the commit.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from aftersales.reviews import LexiconClassifier, default_classifier
from aftersales.reviews._matcher import _PUNCT, _WILD, Matcher, _is_ascii, _pattern, _trie
from aftersales.reviews.blended import BlendedClassifier
from aftersales.reviews.classify import MAX_READ
from aftersales.reviews.lexicon import normalize
from aftersales.reviews.model import MAX_CHARS, SentimentModel

HERE = Path(__file__).parent
SETS = [*sorted((HERE / "heldout").glob("*.jsonl")), HERE / "labelled_reviews.jsonl",
        HERE / "blind_reviews.jsonl"]
REFERENCE = HERE / "reference_verdicts.jsonl.gz"


def _texts() -> list[tuple[str, int, str]]:
    out = []
    for path in SETS:
        for index, line in enumerate(path.read_text("utf-8").splitlines()):
            if line.strip():
                out.append((path.name, index, json.loads(line)["text"]))
    return out


TEXTS = _texts()

# ------------------------------------------------------------ the model

_WORD = re.compile(r"[a-z0-9']+")
_LATIN = re.compile(r"[a-z]")
_NEGATED = re.compile(r"[不没无别未非](?=([^,.。!?;~、\s]{1,4}))")


def plain_features(norm: str) -> set[str]:
    """The features as the model's docstring defines them, position by position."""
    norm = norm[:MAX_CHARS]
    out = set(norm)
    out.update(norm[i : i + 2] for i in range(len(norm) - 1))
    out.update(norm[i : i + 3] for i in range(len(norm) - 2))
    for scope in _NEGATED.findall(norm):
        out.update("¬" + c for c in scope)
        out.update("¬" + scope[i : i + 2] for i in range(len(scope) - 1))
    if _LATIN.search(norm):
        words = _WORD.findall(norm)
        out.update("w:" + w for w in words)
        out.update(f"w:{a} {b}" for a, b in pairwise(words))
    return out


def plain_read(model: SentimentModel, norm: str, extra: set[str]) -> tuple[float, int]:
    """Log-odds and known features: each present feature once, scaled by the
    square root of how many the model knows."""
    found = [model.weights[f] for f in plain_features(norm) | extra if f in model.weights]
    known = len(found)
    return model.bias + (sum(found) / math.sqrt(known) if known else 0.0), known


def test_the_model_scores_every_real_review_as_the_plain_scorer_does() -> None:
    clf = default_classifier()
    edge = ["", "a", "不", "¬好不好", "x不y", "not bad", "好" * (3 * MAX_CHARS)]
    for text in [t for _, _, t in TEXTS] + edge:
        norm = normalize(text[:MAX_READ])
        extra = clf._extra(clf.lexicon.read_normalized(norm)) or set()
        logit, known = clf.model.read_normalized(norm, extra)
        want, want_known = plain_read(clf.model, norm, extra)
        assert known == want_known, text
        assert logit == pytest.approx(want, abs=1e-9), text


def test_extra_features_of_any_length_count_once() -> None:
    model = SentimentModel({"a": 1.0, "ab": 2.0, "abc": 4.0, "L+:x": 8.0}, 0.5)
    # "a", "ab" and "abc" are also n-grams of the text: each counts once.
    logit, known = model.read_normalized("abc", {"a", "ab", "abc", "L+:x", "zz"})
    assert known == 4
    assert logit == pytest.approx(0.5 + 15.0 / 2)


# ------------------------------------------------------------ the lexicon's matcher


class FlatMatcher:
    """One flat alternation: English terms (whole words), the others, then
    clause punctuation, tried in that order at each position."""

    def __init__(self, terms: list[str]) -> None:
        ascii_terms = sorted(t for t in terms if _is_ascii(t))
        other_terms = sorted(t for t in terms if not _is_ascii(t))
        self.regex = re.compile(
            rf"(?:(?<![a-z0-9]){_pattern(_trie(ascii_terms))}(?![a-z0-9]))"
            rf"|(?:{_pattern(_trie(other_terms))})|(?:(?P<p>{_PUNCT}))"
        )
        self.terms = set(terms)
        self.stems = sorted((t.rstrip(_WILD) for t in ascii_terms if t.endswith(_WILD)),
                            key=len, reverse=True)

    def spans(self, text: str) -> list[tuple[str | None, int, int]]:
        out: list[tuple[str | None, int, int]] = []
        for hit in self.regex.finditer(text):
            found = hit.group()
            if hit.group("p") is not None:
                out.append((None, hit.start(), hit.end()))
            elif found:
                term = found if found in self.terms else next(
                    (s + _WILD for s in self.stems if found.startswith(s)), found)
                out.append((term, hit.start(), hit.end()))
        return out


def test_the_matcher_finds_what_a_flat_alternation_finds() -> None:
    terms = sorted(LexiconClassifier().terms)
    matcher, flat = Matcher(terms), FlatMatcher(terms)
    rnd = random.Random(7)
    pieces = [t.rstrip(_WILD) for t in terms] + [*" ,.!?，。？abc123不好很", "ed", "ing", "t恤"]
    made = ["".join(rnd.choice(pieces) + rnd.choice(["", "", " "])
                    for _ in range(rnd.randint(1, 12))) for _ in range(3000)]
    for text in [normalize(t) for _, _, t in TEXTS] + made:
        assert matcher.spans(text) == flat.spans(text), text
        assert [(m.term, m.start, m.end) for m in matcher.find(text)] == matcher.spans(text)


# ------------------------------------------------------------ every verdict


def _verdicts(clf: BlendedClassifier, lexicon: LexiconClassifier) -> list[list[object]]:
    rows: list[list[object]] = []
    for name, index, text in TEXTS:
        for rating in (None,) if name.endswith("domain.jsonl") else (None, 1, 3, 5):
            c = clf.classify(text, rating=rating)
            lex = lexicon.classify(text, rating=rating)
            rows.append([name, index, rating, c.sentiment.value, int(c.severity), c.score,
                         c.model_score, [list(t) for t in c.terms], list(c.topics),
                         list(c.complaints), lex.sentiment.value, int(lex.severity), lex.score])
    return rows


def test_every_verdict_is_the_one_the_plain_scoring_gave() -> None:
    lines = gzip.decompress(REFERENCE.read_bytes()).decode("utf-8").splitlines()
    want = [json.loads(line) for line in lines]
    got = _verdicts(default_classifier(), LexiconClassifier())
    assert len(got) == len(want)
    for new, old in zip(got, want, strict=True):
        where = new[:3]
        assert new[:5] == old[:5], where  # the row, sentiment, severity
        assert new[5] == pytest.approx(old[5], abs=0.0011), where  # score
        assert new[6] == pytest.approx(old[6], abs=0.0011), where  # model score
        assert new[7:12] == old[7:12], where  # terms, topics, complaints, lexicon verdict
        assert new[12] == pytest.approx(old[12], abs=0.0011), where


if __name__ == "__main__":  # rewrite the reference (see the module docstring)
    rows = _verdicts(default_classifier(), LexiconClassifier())
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    REFERENCE.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    sys.exit(0)
