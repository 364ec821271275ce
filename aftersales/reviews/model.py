"""A trained text model of complaints, scored in pure Python.

:class:`SentimentModel` is a logistic regression over the character 1–3-grams
of a review, the characters within reach of a Chinese negator, whole words
and word pairs where the review has Latin letters, and (when trained with
them) the lexicon's verdicts, :func:`lexicon_features`; each present feature
counted once and the sum scaled by the square root of how many known
features the review has (binary features, L2-normalized, as the training
script fits them). Its output is the log-odds that the review
is a complaint. Scoring builds the features with ``map`` over the text and
looks them up in three dicts (by feature length): no numpy, no download.

Where its time goes (CPU time, 4,056 real reviews of 64 characters on
average, ``benchmarks/reviews.py``): a review has about 166 distinct
features; with the model before NB-SVM (109,711 weights, 117 of the features
known) building them took about 25 µs and looking them up about 40 µs when
the machine was quiet (0.25 µs a look-up), 40–50 µs each at load 8. The
packaged model has 77,583 weights (89 features known) and scores about 10%
faster. The look-ups are bound by memory, not by Python: the three dicts
with their keys and weights take about 10 MB (13 MB before), more than the
processor's cache, so a look-up waits on memory for the dict's slot, the key
(to compare it) and the weight, and waits longer when other processes share
the cache. Keying the weights by integer hashes, nesting them by character,
looking up every position and dropping repeats after, and dicts that keep
the hashes in their entries were each measured against this and none was
faster; the file's sorted order already keeps neighbouring keys together in
memory (the same tables allocated in a shuffled order were 1.2–1.8x slower).

The weights ship in ``aftersales/reviews/models/sentiment.json.gz``, built by
``tools/train_sentiment.py`` (scikit-learn, under the ``train`` extra) from
corpora whose licences allow it; ``models/SOURCES.md`` names them. A shop
fine-tunes a model on its own labelled reviews with :meth:`SentimentModel.fit`,
which is pure Python too (a few seconds for a few thousand reviews).
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import pairwise
from operator import add
from pathlib import Path
from typing import Any

from aftersales.errors import ValidationError
from aftersales.reviews.lexicon import normalize

__all__ = [
    "FORMAT",
    "MAX_CHARS",
    "SentimentModel",
    "features",
    "features_of_normalized",
    "lexicon_features",
    "read_model_file",
    "sigmoid",
    "targets_of",
    "write_model_file",
]

#: The version of the model file layout this code reads and writes.
FORMAT = 1
#: Only this many characters of a (normalized) review are read: enough for any
#: real review, and a bound on the work a hostile 10 MB "review" can cause.
MAX_CHARS = 1000

_WORD = re.compile(r"[a-z0-9']+")
_LATIN = re.compile(r"[a-z]")
# A Chinese negator and what it reaches: up to 4 characters of its clause.
# (A lookahead, so the scopes of 不是不好's two negators overlap.)
_NEGATED = re.compile(r"[不没无别未非](?=([^,.。!?;~、\s]{1,4}))")
_NEGATORS = frozenset("不没无别未非")


def features(text: str) -> set[str]:
    """The features of one review: its distinct character 1–3-grams; the
    characters and character pairs within reach of a Chinese negator
    (prefixed ``¬``: 不修身 gives ``¬修``, ``¬修身``, so "negated 修身" is told
    apart from 修身); and its words and word pairs (prefixed ``w:``) when it
    has Latin letters."""
    return features_of_normalized(normalize(text[: 2 * MAX_CHARS]))


def features_of_normalized(norm: str) -> set[str]:
    """:func:`features` of a text already passed through ``normalize``."""
    return set().union(*_feature_sets(norm[:MAX_CHARS]))


def _feature_sets(norm: str) -> tuple[set[str], set[str], set[str]]:
    """The features of ``norm`` (already cut to :data:`MAX_CHARS`) in three
    disjoint sets by length: one character, two, and three or more. Each
    length has its own weight table (:class:`SentimentModel`): the
    one-character table is small enough to stay in the processor's cache.

    The n-grams are built by ``map`` over the text (no Python-level loop per
    position), pairs first and triples from the pairs."""
    singles = set(norm)
    pairs = list(map(add, norm, norm[1:]))
    doubles = set(pairs)
    longer = set(map(add, pairs, norm[2:]))
    if not _NEGATORS.isdisjoint(singles):
        for scope in _NEGATED.findall(norm):
            doubles.update(["¬" + c for c in scope])
            longer.update(["¬" + scope[i : i + 2] for i in range(len(scope) - 1)])
    if _LATIN.search(norm):
        words = _WORD.findall(norm)
        longer.update(["w:" + w for w in words])  # "w:a" is three characters long
        longer.update([f"w:{a} {b}" for a, b in pairwise(words)])
    return singles, doubles, longer


# The lexicon's overall score, in bands: (upper bound, feature).
_SCORE_BANDS = ((-1.0, "LS:--"), (-0.3, "LS:-"), (0.3, "LS:0"), (1.0, "LS:+"))


def lexicon_features(terms: Iterable[tuple[str, float]], score: float) -> set[str]:
    """Features from what the lexicon read in a review, for a model trained
    with them: each counted term with the sign it ended up with (after
    negation, intensity, 好 as "very", "but" clauses), as ``L+:term`` or
    ``L-:term``, and the lexicon's score in five bands (``LS:--`` … ``LS:++``).
    A text with no lexicon term has no lexicon feature (an empty review stays
    one the model knows nothing about).

    The model then learns from real reviews how far to trust each lexicon
    verdict (不修身, 好小 and 最好别买 are read by the lexicon's rules, which
    n-grams alone do not know), rather than adding one fixed lexicon vote.
    """
    out = {("L+:" if weight > 0 else "L-:") + term for term, weight in terms if weight}
    if out:
        out.add(next((name for bound, name in _SCORE_BANDS if score <= bound), "LS:++"))
    return out


def sigmoid(z: float) -> float:
    """The logistic function, written so that neither branch overflows."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class SentimentModel:
    """A linear model of how likely a review is a complaint.

    Attributes:
        weights: n-gram → weight (positive leans toward a complaint).
        bias: the intercept.
        meta: where the model came from (sources, licences, settings); kept
            in the file, never used for scoring.
        lexicon_features: trained with :func:`lexicon_features` too; the
            caller that has the lexicon's reading passes them as ``extra``
            (:class:`~aftersales.reviews.blended.BlendedClassifier` does).
            Without them the model scores the n-grams alone.
    """

    weights: Mapping[str, float]
    bias: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    lexicon_features: bool = False
    # The weights split by the length of their feature (1, 2, 3 or more
    # characters): what scoring looks features up in (see _feature_sets).
    _tables: tuple[dict[str, float], dict[str, float], dict[str, float]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        tables: tuple[dict[str, float], dict[str, float], dict[str, float]] = ({}, {}, {})
        for feature, weight in self.weights.items():
            if weight:
                tables[min(len(feature), 3) - 1 if feature else 0][feature] = weight
        object.__setattr__(self, "_tables", tables)

    def logit(self, text: str) -> float:
        """The log-odds that ``text`` is a complaint (0 means a coin toss)."""
        return self.read(text)[0]

    def read(self, text: str) -> tuple[float, int]:
        """The log-odds that ``text`` is a complaint, and how many of its
        n-grams the model knows (0: the model has nothing to go on)."""
        return self.read_normalized(normalize(text[: 2 * MAX_CHARS]))

    def read_normalized(
        self, norm: str, extra: Iterable[str] | None = None
    ) -> tuple[float, int]:
        """:meth:`read` of a text already passed through ``normalize``, with
        ``extra`` features (:func:`lexicon_features`) when the caller has them."""
        singles, doubles, longer = _feature_sets(norm[:MAX_CHARS])
        if extra is not None:
            for feature in extra:
                size = len(feature)
                (longer if size > 2 else doubles if size == 2 else singles).add(feature)
        one, two, more = self._tables
        # Stored weights are never 0, so filter(None, ...) keeps the known ones.
        found = [
            *filter(None, map(one.get, singles)),
            *filter(None, map(two.get, doubles)),
            *filter(None, map(more.get, longer)),
        ]
        known = len(found)
        return self.bias + (sum(found) / math.sqrt(known) if known else 0.0), known

    def probability(self, text: str) -> float:
        """The probability that ``text`` is a complaint."""
        return sigmoid(self.logit(text))

    def contributions(
        self, text: str, top: int = 5, extra: Iterable[str] | None = None
    ) -> list[tuple[str, float]]:
        """The n-grams of ``text`` (and ``extra`` features) that moved its
        score most, with their signed share of the logit (positive toward a
        complaint): the model's words."""
        feats = features(text)
        feats.update(extra or ())
        found = [(f, self.weights[f]) for f in feats if f in self.weights]
        if not found:
            return []
        scale = 1 / math.sqrt(len(found))
        ranked = sorted(found, key=lambda fw: (-abs(fw[1]), fw[0]))[:top]
        return [(f.removeprefix("w:"), round(w * scale, 3)) for f, w in ranked]

    def fit(
        self,
        texts: Sequence[str],
        targets: Sequence[float],
        *,
        epochs: int = 6,
        rate: float = 0.5,
        pull: float = 0.01,
        min_count: int = 2,
        seed: int = 0,
        extra: Sequence[Iterable[str]] | None = None,
    ) -> SentimentModel:
        """A copy fine-tuned on a shop's own reviews (this model is unchanged).

        Stochastic gradient descent on the log loss, starting from these
        weights and pulled back toward them (``pull``), so a few hundred rows
        adapt the model to the shop's words without forgetting the rest.
        N-grams new to the model join it when they occur in ``min_count`` or
        more of the shop's reviews.

        Args:
            texts: the reviews.
            targets: for each, 1.0 for a complaint, 0.0 for praise, 0.5 for a
                neutral review (a soft target).
            epochs: passes over the data, in an order shuffled with ``seed``.
            extra: for each review, its :func:`lexicon_features` (for a model
                trained with them), or ``None``.

        Raises:
            ValidationError: the lengths differ, there is no row, or a target
                is outside 0–1 (the error names the row, 1-based).
        """
        if len(texts) != len(targets):
            raise ValidationError(
                f"{len(texts)} texts but {len(targets)} targets", payload="training data"
            )
        if not texts:
            raise ValidationError("no rows to fit on", payload="training data")
        for row, target in enumerate(targets, start=1):
            if not 0.0 <= target <= 1.0 or math.isnan(target):
                raise ValidationError(
                    f"target {target!r} is not between 0 and 1", row=row, payload="training data"
                )
        if extra is not None and len(extra) != len(texts):
            raise ValidationError(
                f"{len(texts)} texts but {len(extra)} feature sets", payload="training data"
            )
        rows = [
            sorted(features(t) | set(extra[i] if extra is not None else ()))
            for i, t in enumerate(texts)
        ]
        counts = Counter(f for feats in rows for f in feats)
        start = dict(self.weights)
        weights = dict(start)
        for feature, count in counts.items():
            if count >= min_count and feature not in weights:
                weights[feature] = 0.0
                start[feature] = 0.0
        bias = self.bias
        order = list(range(len(rows)))
        shuffle = random.Random(seed).shuffle  # noqa: S311 - an order, not a secret
        for epoch in range(epochs):
            shuffle(order)
            step = rate / (1 + epoch)
            for i in order:
                known = [f for f in rows[i] if f in weights]
                scale = 1 / math.sqrt(len(known)) if known else 0.0
                z = bias + sum(weights[f] for f in known) * scale
                grad = sigmoid(z) - targets[i]
                for f in known:
                    w = weights[f]
                    weights[f] = w - step * (grad * scale + pull * (w - start[f]))
                bias -= step * grad * 0.1
        kept = {f: r for f, w in weights.items() if (r := round(w, 5))}
        meta = {**self.meta, "fine_tuned_on": len(texts)}
        return SentimentModel(kept, round(bias, 5), meta, self.lexicon_features)

    # ------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        """The model as plain JSON data (sorted, so a rebuild diffs cleanly)."""
        return {
            "format": FORMAT,
            "kind": "char-1-3gram-logistic",
            "lexicon_features": self.lexicon_features,
            "max_chars": MAX_CHARS,
            "meta": dict(self.meta),
            "bias": self.bias,
            "weights": dict(sorted(self.weights.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "model data") -> SentimentModel:
        """Read what :meth:`to_dict` wrote.

        Raises:
            ValidationError: another format, or a field of the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("must be a JSON object", payload=source)
        if data.get("format") != FORMAT:
            raise ValidationError(
                f"format {data.get('format')!r} is not {FORMAT}", field="format", payload=source
            )
        weights = data.get("weights")
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) for k, v in weights.items()
        ):
            raise ValidationError("must map n-grams to numbers", field="weights", payload=source)
        bias = data.get("bias")
        if not isinstance(bias, int | float):
            raise ValidationError("must be a number", field="bias", payload=source)
        meta = data.get("meta", {})
        lexical = data.get("lexicon_features", False)
        if not isinstance(lexical, bool):
            raise ValidationError("must be true or false", field="lexicon_features",
                                  payload=source)
        kept = {k: float(v) for k, v in weights.items() if v}  # 0 is the same as absent
        return cls(kept, float(bias), dict(meta), lexical)


def read_model_file(path: str | Path | None = None, *, name: str = "sentiment.json.gz") -> Any:
    """The JSON data of a model file: ``path``, or the one shipped in the package.

    Raises:
        ValidationError: the file cannot be read or is not gzip'd JSON; the
            message names the file.
    """
    try:
        if path is None:
            raw = (resources.files("aftersales.reviews") / "models" / name).read_bytes()
        else:
            raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, EOFError) as exc:
        where = f"model file {Path(path).name}" if path is not None else f"packaged model {name}"
        raise ValidationError(f"cannot read: {exc}", payload=where) from exc


def write_model_file(data: Mapping[str, Any], path: str | Path) -> None:
    """Write model data as gzip'd JSON with a fixed timestamp (so a rebuild of
    the same model gives the same bytes)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    Path(path).write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def targets_of(labels: Iterable[str]) -> list[float]:
    """Sentiment labels as complaint targets: negative 1, neutral 0.5, positive 0."""
    table = {"negative": 1.0, "neutral": 0.5, "positive": 0.0}
    out = []
    for row, label in enumerate(labels, start=1):
        key = str(label).strip().lower()
        if key not in table:
            raise ValidationError(
                f"sentiment {label!r} is not negative, neutral or positive",
                row=row,
                field="sentiment",
            )
        out.append(table[key])
    return out
