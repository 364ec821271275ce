"""What the knowledge base holds and returns: entries, search hits and suggestions."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from aftersales.errors import AfterSalesError
from aftersales.templating import Template
from aftersales.times import UtcDatetime

__all__ = [
    "KEY_PATTERN",
    "TEMPLATE_VARIABLES",
    "Entry",
    "EntryKind",
    "Hit",
    "Suggestion",
]

#: The variables a reply template may use; anything else is refused when it is added.
TEMPLATE_VARIABLES = frozenset({
    "order_id", "tracking_link", "tracking_number", "carrier", "refund_amount",
    "deadline", "buyer_name", "store", "rma_id",
})

#: What an entry's key looks like (the key column holds 80 characters).
KEY_PATTERN = _KEY = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}\Z")
_LABEL = re.compile(r"[^\s|,]{1,60}\Z")


def _key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError("a key is 1-80 of a-z, 0-9, '.', '_' and '-', starting with a letter "
                         "or digit")
    return value


def _storable(value: str) -> str:
    """``value`` if a database column holds it: no NUL (PostgreSQL refuses it in text and
    JSON) and no lone surrogate (it has no UTF-8 form: a bare ``UnicodeEncodeError``)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode (a lone surrogate)") from None
    return value


def _labels(values: list[str]) -> list[str]:
    for v in values:
        if not _LABEL.match(_storable(v)):
            raise ValueError(f"{v[:40]!r} is not a label (1-60 characters, no spaces, | or ,)")
    return sorted(set(values))


def _text(value: str) -> str:
    return _storable(value).strip()


def _no_bar(value: str) -> str:
    if "|" in value:
        raise ValueError("may not contain '|' (it separates the items in a CSV cell)")
    return value


Text = Annotated[str, AfterValidator(_text)]


class EntryKind(StrEnum):
    """A FAQ entry answers a question; a template is a reply with variables to fill."""

    FAQ = "faq"
    TEMPLATE = "template"


class Entry(BaseModel):
    """A FAQ entry or a reply template.

    Attributes:
        key: the entry's name, unique within its store (``refund-time``).
        kind: ``faq`` or ``template``.
        store: the store it belongs to; empty for every store.
        question: the question as a buyer asks it (a template: what it is for).
        also: other ways buyers ask the same thing; searched too.
        answer_zh: the answer in Chinese (a template: its Chinese text).
        answer_en: the answer in English (a template: its English text).
        intents: what the buyer wants (``refund``, ``return``, ``exchange``,
            ``shipping_status``, …), matched against a case's intent.
        tags: root causes and review topics it is about (``damage``,
            ``late_delivery``, …), matched by suggestions.
        valid_from: not shown before this time (a promotion's rules).
        valid_until: not shown from this time on.
        handoff: the question needs a person: suggestions say so and never
            offer the text as a ready answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Annotated[str, AfterValidator(_key)]
    kind: EntryKind = EntryKind.FAQ
    store: Annotated[str, Field(max_length=80), AfterValidator(_storable)] = ""
    question: Annotated[Text, Field(min_length=1, max_length=2000)]
    also: list[Annotated[Text, Field(min_length=1, max_length=2000),
                         AfterValidator(_no_bar)]] = Field(
        default_factory=list, max_length=50)
    answer_zh: Annotated[Text, Field(max_length=8000)] = ""
    answer_en: Annotated[Text, Field(max_length=8000)] = ""
    intents: Annotated[list[str], AfterValidator(_labels)] = Field(default_factory=list,
                                                                    max_length=20)
    tags: Annotated[list[str], AfterValidator(_labels)] = Field(default_factory=list,
                                                                 max_length=40)
    valid_from: UtcDatetime | None = None
    valid_until: UtcDatetime | None = None
    handoff: bool = False

    @model_validator(mode="after")
    def _check(self) -> Entry:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if not (self.answer_zh or self.answer_en):
            raise ValueError("give answer_zh or answer_en (or both)")
        if self.kind is EntryKind.TEMPLATE:
            for lang in ("zh", "en"):
                text = getattr(self, f"answer_{lang}")
                try:
                    fields = Template(text, name=f"answer_{lang}").fields
                except AfterSalesError as exc:
                    raise ValueError(str(exc)) from None
                unknown = fields - TEMPLATE_VARIABLES
                if unknown:
                    raise ValueError(
                        f"answer_{lang} uses unknown variable(s) {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(sorted(TEMPLATE_VARIABLES))}")
        return self

    def fingerprint(self) -> str:
        """A hash of the content: equal for two entries that read the same."""
        data = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def answer(self, lang: str | None = None) -> str:
        """The answer in ``lang`` (``zh`` or ``en``), or the other one where it is missing."""
        if lang == "en":
            return self.answer_en or self.answer_zh
        return self.answer_zh or self.answer_en

    def valid_at(self, at: datetime) -> bool:
        """Whether the entry may be shown at ``at``."""
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_until is None or at < self.valid_until)


class Hit(BaseModel):
    """One search result: the entry and its score (higher is better)."""

    model_config = ConfigDict(frozen=True)

    entry: Entry
    score: float


class Suggestion(BaseModel):
    """An entry or template proposed for a case or a review, with why.

    A suggestion is a draft for a person: nothing is sent by suggesting.

    Attributes:
        entry: the FAQ entry or template.
        score: the rank's score (higher is better).
        reasons: what matched (``intent refund``, ``topic damage``, ``text``).
        handoff: the entry says a person must handle this.
        text: the template rendered with what is known of the subject, or the
            answer in the subject's language; ``None`` when a template needs a
            variable that is not known yet (``missing`` names them).
        missing: the template variables the subject did not supply.
    """

    model_config = ConfigDict(frozen=True)

    entry: Entry
    score: float
    reasons: tuple[str, ...]
    handoff: bool
    text: str | None
    missing: tuple[str, ...] = ()
