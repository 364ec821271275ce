"""Review lexicons: the word lists the default classifier reads, kept as data.

The built-in lexicons are TOML files shipped inside the package
(``aftersales/reviews/lexicons/zh.toml`` and ``en.toml``; their header
comment documents every table). A shop adds its own words by passing a path
to a TOML or JSON file, or a plain dict, with the same tables::

    LexiconClassifier(extra=[{"topics": {"damage": {"complaint": ["漏液"]}}}])

Loading validates the structure and refuses a term defined twice in one
lexicon (which table would win is then a guess); across lexicons a later one
overrides an earlier one, so a shop can re-weight a built-in term.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aftersales.errors import ValidationError
from aftersales.tomlfile import read_toml

__all__ = [
    "BUILTIN_LANGUAGES",
    "Entry",
    "Kind",
    "Lexicon",
    "TopicTerms",
    "compile_entries",
    "default_lexicons",
    "load_lexicon",
    "normalize",
]

#: Languages with a lexicon shipped in the package.
BUILTIN_LANGUAGES = ("zh", "en")

_SPACES = re.compile(r"\s+")
_Weighted = dict[str, float] | list[str]


def normalize(text: str) -> str:
    """Fold width, case, curly apostrophes and runs of spaces, the same way for
    lexicon terms and review text so that they meet."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return _SPACES.sub(" ", text).strip()


def _weights(value: _Weighted) -> dict[str, float]:
    if isinstance(value, list):
        return dict.fromkeys(value, 1.0)
    return dict(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Terms(_Strict):
    terms: list[str] = Field(default_factory=list)


class TopicTerms(_Strict):
    """The words of one topic: ``aspect`` names it, ``complaint`` and ``praise``
    name it and carry negative or positive sentiment (weight 1 unless a table)."""

    aspect: list[str] = Field(default_factory=list)
    complaint: _Weighted = Field(default_factory=list)
    praise: _Weighted = Field(default_factory=list)


class Lexicon(_Strict):
    """One lexicon file: sentiment words, negators, intensifiers and topics."""

    language: str = "custom"
    positive: dict[str, float] = Field(default_factory=dict)
    negative: dict[str, float] = Field(default_factory=dict)
    neutral: _Terms = Field(default_factory=_Terms)
    lukewarm: _Terms = Field(default_factory=_Terms)
    negators: dict[str, float] = Field(default_factory=dict)
    post_negators: _Terms = Field(default_factory=_Terms)
    intensifiers: dict[str, float] = Field(default_factory=dict)
    contrast: _Terms = Field(default_factory=_Terms)
    topics: dict[str, TopicTerms] = Field(default_factory=dict)

    @field_validator("positive", "negative", "negators", "intensifiers")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for term, weight in value.items():
            if weight < 0:
                raise ValueError(f"weight of {term!r} must not be negative")
        return value


class Kind(Enum):
    """What a matched term does to the classification."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    LUKEWARM = "lukewarm"
    NEGATOR = "negator"
    POST_NEGATOR = "post_negator"
    INTENSIFIER = "intensifier"
    CONTRAST = "contrast"
    ASPECT = "aspect"
    COMPLAINT = "complaint"
    PRAISE = "praise"


@dataclass(frozen=True, slots=True)
class Entry:
    """A compiled term: its kind, weight (or multiplier / strength) and topic."""

    kind: Kind
    weight: float = 0.0
    topic: str | None = None


def _entries(lexicon: Lexicon, origin: str) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    where: dict[str, str] = {}

    def put(term: str, entry: Entry, place: str) -> None:
        key = normalize(term)
        if not key or key == "*":
            raise ValidationError("empty term", field=place, payload=origin)
        if key in out:
            raise ValidationError(
                f"term {term!r} is defined twice (also in {where[key]})",
                field=place,
                payload=origin,
            )
        out[key] = entry
        where[key] = place

    for term, weight in lexicon.positive.items():
        put(term, Entry(Kind.POSITIVE, weight), "positive")
    for term, weight in lexicon.negative.items():
        put(term, Entry(Kind.NEGATIVE, weight), "negative")
    for term in lexicon.neutral.terms:
        put(term, Entry(Kind.NEUTRAL), "neutral")
    for term in lexicon.lukewarm.terms:
        put(term, Entry(Kind.LUKEWARM, 1.0), "lukewarm")
    for term, strength in lexicon.negators.items():
        put(term, Entry(Kind.NEGATOR, strength), "negators")
    for term in lexicon.post_negators.terms:
        put(term, Entry(Kind.POST_NEGATOR, 1.0), "post_negators")
    for term, factor in lexicon.intensifiers.items():
        put(term, Entry(Kind.INTENSIFIER, factor), "intensifiers")
    for term in lexicon.contrast.terms:
        put(term, Entry(Kind.CONTRAST), "contrast")
    for topic, terms in lexicon.topics.items():
        for term in terms.aspect:
            put(term, Entry(Kind.ASPECT, 0.0, topic), f"topics.{topic}.aspect")
        for term, weight in _weights(terms.complaint).items():
            put(term, Entry(Kind.COMPLAINT, weight, topic), f"topics.{topic}.complaint")
        for term, weight in _weights(terms.praise).items():
            put(term, Entry(Kind.PRAISE, weight, topic), f"topics.{topic}.praise")
    return out


def compile_entries(lexicons: Iterable[Lexicon]) -> dict[str, Entry]:
    """Every term of ``lexicons`` keyed by its normalized form; later lexicons win.

    Raises:
        ValidationError: a lexicon defines a term twice or has an empty term.
    """
    merged: dict[str, Entry] = {}
    for index, lexicon in enumerate(lexicons):
        merged.update(_entries(lexicon, f"lexicon {index} ({lexicon.language})"))
    return merged


def load_lexicon(source: Lexicon | Mapping[str, Any] | str | Path) -> Lexicon:
    """A :class:`Lexicon` from a dict, a ``.toml`` / ``.json`` file, or as is.

    Raises:
        ValidationError: the file cannot be read or parsed, or a table has the
            wrong shape; the error names the file and the offending field.
    """
    if isinstance(source, Lexicon):
        return source
    name = "lexicon dict"
    data: Any = source
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = f"lexicon file {path.name}"
        if path.suffix != ".json":
            data = read_toml(path, what="lexicon file")
        else:
            try:
                data = json.loads(path.read_bytes())
            except (OSError, ValueError, RecursionError) as exc:
                raise ValidationError(f"cannot read: {type(exc).__name__}",
                                      payload=name) from None
    try:
        return Lexicon.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValidationError(first["msg"], field=field, payload=name) from exc


def default_lexicons() -> list[Lexicon]:
    """The lexicons shipped with the package, one per :data:`BUILTIN_LANGUAGES`."""
    folder = resources.files("aftersales.reviews") / "lexicons"
    out = []
    for language in BUILTIN_LANGUAGES:
        text = (folder / f"{language}.toml").read_text(encoding="utf-8")
        out.append(Lexicon.model_validate(tomllib.loads(text)))
    return out
