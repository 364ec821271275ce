"""The default review classifier: a trained text model blended with the lexicons.

:class:`BlendedClassifier` asks two readers and adds their votes in log-odds:

* the trained :class:`~aftersales.reviews.model.SentimentModel`, which knows
  tens of thousands of n-grams from real reviews (不咋地, "lousy"), and
* the :class:`~aftersales.reviews.classify.LexiconClassifier`, which knows
  negation, intensity, "but" clauses and the topics;

``z = a·model + b·lexicon + c`` (the blend, fitted on reviews neither part
was trained on), plus a prior for the stars when there are stars. ``z > 0``
is negative (a complaint), ``z ≤ -positive_margin`` positive (unless the
only verdict is lukewarm: 还行吧, "it's okay"), neutral between.
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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from aftersales.errors import ValidationError
from aftersales.models import Sentiment
from aftersales.reviews.classify import MAX_READ, Classification, LexiconClassifier
from aftersales.reviews.lexicon import normalize
from aftersales.reviews.model import (
    SentimentModel,
    read_model_file,
    targets_of,
    write_model_file,
)

__all__ = ["RATING_LOGIT", "Blend", "BlendedClassifier", "default_classifier"]

#: Star rating → log-odds added toward "complaint". The corpora the model
#: learnt from carry no stars, so these are set by hand: one star is a
#: complaint unless the text is clearly happy, five stars the reverse.
#: Three stars lean a little away from "complaint": a middling text with a
#: middling rating is neutral.
RATING_LOGIT: Mapping[int, float] = {1: 3.0, 2: 2.0, 3: -0.5, 4: -1.5, 5: -2.5}

_STRONG = 3.0  # log-odds beyond which a negative verdict is sure (p ≥ 0.95)
_MAX_CSV_BYTES = 50 * 2**20


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Blend:
    """How the two votes add up: ``model·logit + lexicon·score + bias``."""

    model: float = 1.0
    lexicon: float = -0.3
    bias: float = 0.0

    def z(self, logit: float, lexicon_score: float) -> float:
        """The blended log-odds that a review is a complaint."""
        return self.model * logit + self.lexicon * lexicon_score + self.bias


class BlendedClassifier:
    """Trained text model + lexicons + stars; see the module docstring.

    Args:
        model: the text model (default: the one shipped in the package).
        lexicon: the lexicon classifier (default: the built-in lexicons); a
            shop's own words go here, ``LexiconClassifier(extra=[...])``.
        blend: the blend weights (default: those shipped with the model).
        positive_margin: how far below zero the log-odds must be to call a
            review positive rather than neutral.
    """

    def __init__(
        self,
        model: SentimentModel | None = None,
        *,
        lexicon: LexiconClassifier | None = None,
        blend: Blend | None = None,
        positive_margin: float | None = None,
    ) -> None:
        packaged: Mapping[str, Any] = {}
        if model is None or blend is None or positive_margin is None:
            packaged = _packaged()
        self.model = model or SentimentModel.from_dict(packaged, source="packaged model")
        self.lexicon = lexicon or _default_lexicon()
        self.blend = blend or _blend_of(packaged, "packaged model")
        margin = positive_margin
        if margin is None:
            margin = float(packaged.get("positive_margin", 1.0))
        self.positive_margin = margin

    def classify(self, text: str, *, rating: int | None = None) -> Classification:
        """See :meth:`aftersales.reviews.classify.Classifier.classify`."""
        norm = normalize(text[:MAX_READ])  # once, for both readers
        reading = self.lexicon.read_normalized(norm)
        logit, known = self.model.read_normalized(norm)
        # No n-gram the model knows and no lexicon term: the text says nothing
        # ("", "👍"), so only the stars speak.
        z = self.blend.z(logit, reading.score) if known or reading.terms else 0.0
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
            model_score=round(_sigmoid(logit), 3),
        )

    def explain(self, text: str, *, rating: int | None = None, top: int = 5) -> str:
        """A longer explanation than :attr:`Classification.explanation`: also
        the n-grams that moved the model most (positive toward a complaint)."""
        result = self.classify(text, rating=rating)
        grams = ", ".join(f"{g!r} {w:+.2f}" for g, w in self.model.contributions(text, top))
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
                three blend weights (how much to trust model vs lexicon), which
                needs fewer rows.

        Raises:
            ValidationError: a label is not a sentiment, the lengths differ,
                or there are no rows; the error names the row.
        """
        targets = targets_of(lab.value if isinstance(lab, Sentiment) else lab for lab in labels)
        if what == "model":
            model = self.model.fit(texts, targets, seed=seed)
            return BlendedClassifier(
                model, lexicon=self.lexicon, blend=self.blend,
                positive_margin=self.positive_margin,
            )
        if what == "blend":
            if len(texts) != len(targets) or not texts:
                raise ValidationError(
                    f"{len(texts)} texts but {len(targets)} labels", payload="training data"
                )
            points = [(self.model.logit(t), self.lexicon.read(t).score) for t in texts]
            blend = fit_blend(points, targets)
            return BlendedClassifier(
                self.model, lexicon=self.lexicon, blend=blend,
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
            "blend": {"model": self.blend.model, "lexicon": self.blend.lexicon,
                      "bias": self.blend.bias},
            "positive_margin": self.positive_margin,
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
        return cls(model, lexicon=lexicon, blend=_blend_of(data, name),
                   positive_margin=float(margin))


def fit_blend(points: Sequence[tuple[float, float]], targets: Sequence[float]) -> Blend:
    """Logistic regression of ``targets`` on (model logit, lexicon score), by
    Newton's method with a little ridge; three numbers, so a hundred rows do."""
    beta = [0.0, 0.0, 0.0]
    ridge = 1e-3
    for _ in range(30):
        grad = [0.0, 0.0, 0.0]
        hess = [[ridge if i == j else 0.0 for j in range(3)] for i in range(3)]
        for (m, s), y in zip(points, targets, strict=True):
            x = (m, s, 1.0)
            p = _sigmoid(beta[0] * m + beta[1] * s + beta[2])
            for i in range(3):
                grad[i] += (p - y) * x[i]
                for j in range(3):
                    hess[i][j] += p * (1 - p) * x[i] * x[j]
        for i in range(3):
            grad[i] += ridge * beta[i]
        step = _solve3(hess, grad)
        beta = [b - d for b, d in zip(beta, step, strict=True)]
        if max(abs(d) for d in step) < 1e-7:
            break
    return Blend(round(beta[0], 5), round(beta[1], 5), round(beta[2], 5))


def _solve3(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a 3×3 symmetric positive system by Gaussian elimination."""
    m = [[*row, v] for row, v in zip(a, b, strict=True)]
    for col in range(3):
        pivot = max(range(col, 3), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, 3):
            f = m[r][col] / m[col][col]
            for c in range(col, 4):
                m[r][c] -= f * m[col][c]
    x = [0.0, 0.0, 0.0]
    for r in (2, 1, 0):
        x[r] = (m[r][3] - sum(m[r][c] * x[c] for c in range(r + 1, 3))) / m[r][r]
    return x


def _blend_of(data: Mapping[str, Any], source: str) -> Blend:
    raw = data.get("blend")
    if raw is None:
        return Blend()
    try:
        return Blend(float(raw["model"]), float(raw["lexicon"]), float(raw["bias"]))
    except (TypeError, KeyError, ValueError) as exc:
        raise ValidationError(f"malformed: {exc}", field="blend", payload=source) from exc


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
