"""The default review classifier: a trained text model blended with the lexicons.

:class:`BlendedClassifier` asks two readers and adds their votes in log-odds:

* the trained :class:`~aftersales.reviews.model.SentimentModel`, which knows
  tens of thousands of n-grams from real reviews (不咋地, "lousy"), and
* the :class:`~aftersales.reviews.classify.LexiconClassifier`, which knows
  negation, intensity, "but" clauses and the topics;
* for English, the :class:`~aftersales.reviews.valence.Valences` of 7,000
  words people rated (VADER's lexicon), which the small English training set
  never showed the model;

``z = a·model + b·lexicon + c·valence + d`` (the blend, fitted on reviews
none of them was trained on, one for Chinese text and one for the rest),
plus a prior for the stars when there are stars. ``z > 0`` is negative (a
complaint), ``z ≤ -positive_margin`` positive (unless the only verdict is
lukewarm: 还行吧, "it's okay"), neutral between.
The lexicon alone still names the topics, the complaints and the severity
(counterfeit and safety are ``CRITICAL`` whatever the model says), and the
result carries both the model's score and the words that counted, so a shop
sees why a review was flagged.

A shop adapts it to its own reviews, then keeps the result::

    clf = default_classifier().fit_csv("our-reviews.csv")   # text,sentiment
    clf.save("our-model.json.gz")
    app = AfterSales(..., review_classifier=BlendedClassifier.load("our-model.json.gz"))
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from aftersales.errors import ValidationError
from aftersales.models import Sentiment
from aftersales.reviews.classify import (
    MAX_READ,
    Classification,
    LexiconClassifier,
    LexiconReading,
)
from aftersales.reviews.lexicon import normalize
from aftersales.reviews.model import (
    MAX_CHARS,
    SentimentModel,
    lexicon_features,
    read_model_file,
    sigmoid,
    targets_of,
    write_model_file,
)
from aftersales.reviews.valence import Valences

__all__ = [
    "LANGUAGES",
    "RATING_LOGIT",
    "Blend",
    "BlendedClassifier",
    "default_classifier",
    "fit_blend",
    "language_of",
]

#: Star rating → log-odds added toward "complaint". The corpora the model
#: learnt from carry no stars, so these are set by hand: one star is a
#: complaint unless the text is clearly happy, five stars the reverse.
#: Three stars lean a little away from "complaint": a middling text with a
#: middling rating is neutral.
RATING_LOGIT: Mapping[int, float] = {1: 3.0, 2: 2.0, 3: -0.5, 4: -1.5, 5: -2.5}

#: The blend a text gets: "zh" when it has Chinese characters, else "en".
LANGUAGES = ("zh", "en")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MIN_BLEND_ROWS = 20  # fewer rows of a language than this keep its blend as it was
_STRONG = 3.0  # log-odds beyond which a negative verdict is sure (p ≥ 0.95)
#: The share of the model's vote that goes to the text after a Chinese
#: review's last 但是 / 可是 / 不过 ("but"), the rest to the whole text:
#: 东西不错，但是快递太慢了 ("good, but the courier was too slow") is about the
#: courier. (The lexicon weighs its own terms after a contrast word more too,
#: see ``classify``; English has the valences' "but" rule, see ``valence``.)
AFTER_CONTRAST = 0.5
# The words that turn a review around (not 就是, 结果, 只是, which the lexicon
# also weighs but which often only add a detail). English "but" is left to the
# valences: leaning the model on it too cost English out-of-domain accuracy.
_BUT = ("但是", "但", "可是", "不过", "然而")
_MAX_CSV_BYTES = 50 * 2**20


def language_of(norm: str) -> str:
    """Which blend reads a normalized text: "zh" if it has a CJK character."""
    return "zh" if _CJK.search(norm) else "en"


@dataclass(frozen=True)
class Blend:
    """How the votes add up: ``model·logit + lexicon·score + valence·v + bias``."""

    model: float = 1.0
    lexicon: float = -0.3
    bias: float = 0.0
    valence: float = 0.0

    def z(self, logit: float, lexicon_score: float, valence: float = 0.0) -> float:
        """The blended log-odds that a review is a complaint."""
        return (
            self.model * logit + self.lexicon * lexicon_score + self.valence * valence
            + self.bias
        )


class BlendedClassifier:
    """Trained text model + lexicons + stars; see the module docstring.

    Args:
        model: the text model (default: the one shipped in the package).
        valences: English word valences (default: those shipped with it).
        lexicon: the lexicon classifier (default: the built-in lexicons); a
            shop's own words go here, ``LexiconClassifier(extra=[...])``.
        blend: the blend weights, one :class:`Blend` for every language or a
            mapping of :data:`LANGUAGES` to one each (default: those shipped
            with the model).
        positive_margin: how far below zero the log-odds must be to call a
            review positive rather than neutral.
    """

    def __init__(
        self,
        model: SentimentModel | None = None,
        *,
        valences: Valences | None = None,
        lexicon: LexiconClassifier | None = None,
        blend: Blend | Mapping[str, Blend] | None = None,
        positive_margin: float | None = None,
    ) -> None:
        packaged: Mapping[str, Any] = {}
        if model is None or valences is None or blend is None or positive_margin is None:
            packaged = _packaged()
        self.model = model or SentimentModel.from_dict(packaged, source="packaged model")
        self.valences = valences or _valences_of(packaged, "packaged model")
        self.lexicon = lexicon or _default_lexicon()
        if blend is None:
            blend = _blends_of(packaged, "packaged model")
        if isinstance(blend, Blend):
            blend = dict.fromkeys(LANGUAGES, blend)
        missing = set(LANGUAGES) - set(blend)
        if missing:
            raise ValidationError(f"no blend for {sorted(missing)}", field="blend")
        self.blends: Mapping[str, Blend] = dict(blend)
        margin = positive_margin
        if margin is None:
            margin = float(packaged.get("positive_margin", 1.0))
        self.positive_margin = margin

    def classify(self, text: str, *, rating: int | None = None) -> Classification:
        """See :meth:`aftersales.reviews.classify.Classifier.classify`."""
        norm = normalize(text[:MAX_READ])  # once, for both readers
        reading = self.lexicon.read_normalized(norm)
        logit, known = self._model_vote(norm, reading)
        # No n-gram the model knows and no lexicon term: the text says nothing
        # ("", "👍"), so only the stars speak.
        if known or reading.terms:
            blend = self.blends[language_of(norm)]
            z = blend.z(logit, reading.score, self.valences.score(norm))
        else:
            z = 0.0
        if rating is not None:
            z += RATING_LOGIT.get(rating, 0.0)
        if z > 0:
            sentiment = Sentiment.NEGATIVE
        elif z <= -self.positive_margin and not (
            reading.lukewarm and reading.score < self.lexicon.threshold
        ):  # 还行吧, "it's okay": lukewarm without clear praise is no praise
            sentiment = Sentiment.POSITIVE
        else:
            sentiment = Sentiment.NEUTRAL
        strong = z >= _STRONG or rating == 1
        return Classification(
            sentiment=sentiment,
            topics=reading.topics,
            complaints=reading.complaints,
            severity=self.lexicon.severity(sentiment, reading.complaints, strong=strong),
            score=round(-z, 3),
            terms=reading.terms,
            model_score=round(sigmoid(logit), 3),
        )

    def votes(self, text: str) -> tuple[float, float, float]:
        """The three votes the blend adds up: model logit, lexicon score, valence."""
        norm = normalize(text[:MAX_READ])
        reading = self.lexicon.read_normalized(norm)
        return self._model_vote(norm, reading)[0], reading.score, self.valences.score(norm)

    def _model_vote(self, norm: str, reading: LexiconReading) -> tuple[float, int]:
        """The model's log-odds for a normalized text, and how many of its
        features it knows: of the whole text, moved :data:`AFTER_CONTRAST` of
        the way toward its log-odds for what follows the last contrast word."""
        extra = self._extra(reading)
        logit, known = self.model.read_normalized(norm, extra)
        after = reading.after_contrast
        if after is not None and norm.endswith(_BUT, 0, after):
            tail = norm[after:MAX_CHARS].strip()
            if len(tail) > 1:
                tail_logit = self.model.read_normalized(tail, extra)[0]
                logit += AFTER_CONTRAST * (tail_logit - logit)
        return logit, known

    def _extra(self, reading: LexiconReading) -> set[str] | None:
        """The lexicon's features for the model, if it was trained with them."""
        if not self.model.lexicon_features:
            return None
        return lexicon_features(reading.terms, reading.score)

    def explain(self, text: str, *, rating: int | None = None, top: int = 5) -> str:
        """A longer explanation than :attr:`Classification.explanation`: also
        the n-grams that moved the model most (positive toward a complaint)."""
        result = self.classify(text, rating=rating)
        extra = self._extra(self.lexicon.read(text))
        found = self.model.contributions(text, top, extra)
        grams = ", ".join(f"{g!r} {w:+.2f}" for g, w in found)
        return f"{result.explanation}; model n-grams: {grams or 'none known'}"

    # ------------------------------------------------------------ fitting

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str | Sentiment],
        *,
        what: Literal["model", "blend"] = "model",
        seed: int = 0,
    ) -> BlendedClassifier:
        """A copy fitted on a shop's labelled reviews (this one is unchanged).

        Args:
            texts: the reviews, text alone.
            labels: ``negative`` / ``neutral`` / ``positive`` for each.
            what: ``"model"`` fine-tunes the text model's n-gram weights
                (learns the shop's own words); ``"blend"`` refits only the
                four blend weights of each language with 20 rows or more (how
                much to trust model, lexicon and valences), which needs fewer
                rows.

        Raises:
            ValidationError: a label is not a sentiment, the lengths differ,
                or there are no rows; the error names the row.
        """
        targets = targets_of(lab.value if isinstance(lab, Sentiment) else lab for lab in labels)
        if what == "model":
            extra = None
            if self.model.lexicon_features:
                extra = [self._extra(self.lexicon.read(t)) or set() for t in texts]
            model = self.model.fit(texts, targets, seed=seed, extra=extra)
            return BlendedClassifier(
                model, valences=self.valences, lexicon=self.lexicon, blend=self.blends,
                positive_margin=self.positive_margin,
            )
        if what == "blend":
            if len(texts) != len(targets) or not texts:
                raise ValidationError(
                    f"{len(texts)} texts but {len(targets)} labels", payload="training data"
                )
            blends = dict(self.blends)
            for language in LANGUAGES:
                rows = [
                    (self.votes(t), y)
                    for t, y in zip(texts, targets, strict=True)
                    if language_of(normalize(t[:MAX_READ])) == language
                ]
                if len(rows) >= _MIN_BLEND_ROWS:
                    blends[language] = fit_blend([v for v, _ in rows], [y for _, y in rows])
            return BlendedClassifier(
                self.model, valences=self.valences, lexicon=self.lexicon, blend=blends,
                positive_margin=self.positive_margin,
            )
        raise ValidationError(f"{what!r} is not 'model' or 'blend'", field="what")

    def fit_csv(
        self,
        path: str | Path,
        *,
        what: Literal["model", "blend"] = "model",
        text_column: str = "text",
        label_column: str = "sentiment",
    ) -> BlendedClassifier:
        """:meth:`fit` on a CSV file with a header (UTF-8, ``text,sentiment``).

        Raises:
            ValidationError: the file cannot be read, a column is missing, a
                row has an empty text or a bad label (the error names the
                file, the row — 1 is the first review under the header — and
                the column); nothing is fitted then.
        """
        name = f"reviews file {Path(path).name}"
        try:
            if Path(path).stat().st_size > _MAX_CSV_BYTES:
                raise ValidationError("is larger than 50 MiB", payload=name)
            with open(path, encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ValidationError(f"cannot read: {exc}", payload=name) from exc
        texts: list[str] = []
        labels: list[str] = []
        for number, row in enumerate(rows, start=1):
            for column in (text_column, label_column):
                if row.get(column) is None:
                    raise ValidationError("column is missing", row=number, field=column,
                                          payload=name)
            text = row[text_column].strip()
            if not text:
                raise ValidationError("is empty", row=number, field=text_column, payload=name)
            texts.append(text)
            labels.append(row[label_column])
        if not texts:
            raise ValidationError("has no review rows", payload=name)
        try:
            targets_of(labels)
        except ValidationError as exc:
            raise ValidationError(
                f"sentiment {labels[(exc.row or 1) - 1]!r} is not negative, neutral or positive",
                row=exc.row, field=label_column, payload=name,
            ) from exc
        return self.fit(texts, labels, what=what)

    # ------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        """The model, blend and margin as JSON data (the packaged file's layout)."""
        return {
            **self.model.to_dict(),
            "blend": {
                language: {"model": b.model, "lexicon": b.lexicon, "valence": b.valence,
                           "bias": b.bias}
                for language, b in sorted(self.blends.items())
            },
            "positive_margin": self.positive_margin,
            "valences": dict(sorted(self.valences.words.items())),
        }

    def save(self, path: str | Path) -> None:
        """Write the model, blend and margin to ``path`` (gzip'd JSON)."""
        write_model_file(self.to_dict(), path)

    @classmethod
    def load(
        cls, path: str | Path, *, lexicon: LexiconClassifier | None = None
    ) -> BlendedClassifier:
        """Read what :meth:`save` wrote (the lexicon is not in the file: pass the
        shop's own if it has one).

        Raises:
            ValidationError: the file is unreadable or malformed; the error
                names the file and the field.
        """
        name = f"model file {Path(path).name}"
        data = read_model_file(path)
        model = SentimentModel.from_dict(data, source=name)
        margin = data.get("positive_margin", 1.0)
        if not isinstance(margin, int | float) or margin < 0:
            raise ValidationError("must be a number ≥ 0", field="positive_margin", payload=name)
        return cls(model, valences=_valences_of(data, name), lexicon=lexicon,
                   blend=_blends_of(data, name), positive_margin=float(margin))


def fit_blend(
    points: Sequence[tuple[float, float, float]], targets: Sequence[float]
) -> Blend:
    """Logistic regression of ``targets`` on (model logit, lexicon score,
    valence), by Newton's method with a little ridge; four numbers, so a
    hundred rows do.

    Each vote keeps the sign it has to have: more complaint from the model
    never means less, more praise from the lexicon or the valences never means
    more complaint. A weight fitted with the wrong sign (the votes overlap:
    the model also reads the lexicon's verdicts) is set to 0 and the others
    refitted; otherwise a score that grows with the text, as the lexicon's
    does, would turn a review of 10,000 complaint words into praise."""
    free = [True, True, True, True]
    while True:
        beta = _fit_logistic(points, targets, free)
        model, lexicon, valence, _ = beta
        wrong = [model < 0, lexicon > 0, valence > 0, False]
        if not any(wrong):
            break
        free = [f and not w for f, w in zip(free, wrong, strict=True)]
    model, lexicon, valence, bias = (round(b, 5) + 0.0 for b in beta)
    return Blend(model, lexicon, bias, valence)


def _fit_logistic(
    points: Sequence[tuple[float, float, float]], targets: Sequence[float], free: list[bool]
) -> list[float]:
    """Newton's method for the weights of ``free`` (the others stay 0)."""
    size = 4
    beta = [0.0] * size
    ridge = 1e-2
    for _ in range(30):
        grad = [0.0] * size
        hess = [[ridge if i == j else 0.0 for j in range(size)] for i in range(size)]
        for (m, s, v), y in zip(points, targets, strict=True):
            x = tuple(xi if f else 0.0 for xi, f in zip((m, s, v, 1.0), free, strict=True))
            p = sigmoid(sum(b * xi for b, xi in zip(beta, x, strict=True)))
            for i in range(size):
                grad[i] += (p - y) * x[i]
                for j in range(size):
                    hess[i][j] += p * (1 - p) * x[i] * x[j]
        for i in range(size):
            grad[i] += ridge * beta[i]
        step = _solve(hess, grad)
        beta = [b - d for b, d in zip(beta, step, strict=True)]
        if max(abs(d) for d in step) < 1e-7:
            break
    return beta


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a small symmetric positive system by Gaussian elimination."""
    n = len(b)
    m = [[*row, v] for row, v in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def _blends_of(data: Mapping[str, Any], source: str) -> dict[str, Blend]:
    raw = data.get("blend")
    if raw is None:
        return dict.fromkeys(LANGUAGES, Blend())
    out = {}
    for language in LANGUAGES:
        try:
            one = raw[language]
            out[language] = Blend(float(one["model"]), float(one["lexicon"]),
                                  float(one["bias"]), float(one.get("valence", 0.0)))
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise ValidationError(
                f"malformed: {exc!r}", field=f"blend.{language}", payload=source
            ) from exc
    return out


def _valences_of(data: Mapping[str, Any], source: str) -> Valences:
    raw = data.get("valences", {})
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) for k, v in raw.items()
    ):
        raise ValidationError("must map words to numbers", field="valences", payload=source)
    return Valences({k: float(v) for k, v in raw.items()})


@lru_cache(maxsize=1)
def _packaged() -> Mapping[str, Any]:
    data: Mapping[str, Any] = read_model_file()
    return data


@lru_cache(maxsize=1)
def _default_lexicon() -> LexiconClassifier:
    return LexiconClassifier()


@lru_cache(maxsize=1)
def default_classifier() -> BlendedClassifier:
    """The classifier ``app.reviews`` uses unless told otherwise: the packaged
    model blended with the built-in lexicons. Built once per process (the
    model loads in well under a second) and shared: it is immutable, so safe
    from many threads."""
    return BlendedClassifier()
