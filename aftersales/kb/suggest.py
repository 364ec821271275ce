"""Reply suggestions: what a person might answer a case or a review with.

The subject (a case or a review) is reduced to a :class:`Subject`: what the
buyer wants (intents), what it is about (root cause and topics, matched
against entries' tags), its text, its language and the values a template can
use. Entries are then ranked by a rule that is shown with each suggestion:

* 3 points per intent the entry shares with the subject;
* 2 points per tag it shares (the root cause, a review topic);
* up to 2 points for how well its text matches the subject's text
  (the search's BM25 score, scaled so the best match gets 2).

Suggesting writes nothing and sends nothing: a suggestion is a draft for a
person (or for a rule the shop wrote explicitly) to send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.errors import NotFoundError, ValidationError
from aftersales.kb.models import Entry, EntryKind, Suggestion
from aftersales.store.tables.kb import KbTermRow
from aftersales.store.tables.reviews import ReviewRow
from aftersales.templating import Template

__all__ = [
    "CAUSE_INTENTS",
    "INTENT_POINTS",
    "KIND_INTENTS",
    "TAG_POINTS",
    "TEXT_POINTS",
    "TOPIC_INTENTS",
    "CaseLike",
    "Subject",
    "case_subject",
    "cause_tags",
    "label_matches",
    "review_subject",
    "suggestion",
]

INTENT_POINTS = 3.0
TAG_POINTS = 2.0
TEXT_POINTS = 2.0

#: The intent a review topic (aftersales.reviews.classify.TOPICS) implies.
TOPIC_INTENTS: Mapping[str, str] = {
    "quality": "quality_issue",
    "damage": "damaged",
    "counterfeit": "counterfeit",
    "wrong_item": "wrong_item",
    "size": "exchange",
    "delivery": "shipping_status",
    "service": "complaint",
    "refund": "refund",
    "safety": "safety",
}

_HAN = re.compile("[\u3400-\u9fff]")


@dataclass(frozen=True)
class Subject:
    """What suggestions are ranked for: a case or a review, reduced to facts.

    Attributes:
        ref: what it is (``review 42``, ``case C-…``), for messages.
        intents: what the buyer wants.
        tags: root cause, topics: matched against entries' tags.
        text: the buyer's words, searched.
        lang: ``zh`` or ``en``: the language of the suggested text.
        store: the store it belongs to (entries of other stores are left out).
        values: what a template can be filled with (``order_id``, …).
    """

    ref: str
    intents: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    text: str = ""
    lang: str = "zh"
    store: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


def language(text: str) -> str:
    """``zh`` when ``text`` has Chinese characters, else ``en``."""
    return "zh" if _HAN.search(text) else "en"


def review_subject(session: Session, review_id: int) -> Subject:
    """The subject a stored review makes: its complaint topics, text and order.

    Raises:
        NotFoundError: no review has that id.
    """
    row = session.get(ReviewRow, review_id)
    if row is None:
        raise NotFoundError("review", str(review_id))
    topics = tuple(row.complaints or row.topics)
    text = " ".join(t for t in (row.title, row.body, row.appended_body) if t)
    intents = tuple(dict.fromkeys(TOPIC_INTENTS[t] for t in topics if t in TOPIC_INTENTS))
    values = {k: v for k, v in (("order_id", row.order_external_id),
                                ("tracking_number", row.tracking_number),
                                ("rma_id", row.rma_id), ("store", row.marketplace)) if v}
    return Subject(ref=f"review {review_id}", intents=intents or ("review",),
                   tags=(*topics, "negative_review" if row.rating <= 2 else "review"),
                   text=text, lang=language(text), store=row.marketplace, values=values)


#: The intents a case's kind implies (aftersales.cases.states.CaseKind values).
KIND_INTENTS: Mapping[str, tuple[str, ...]] = {
    "complaint": ("complaint",),
    "damage_claim": ("damaged",),
    "logistics": ("shipping_status",),
    "negative_review": ("review", "complaint"),
    "return_dispute": ("return", "complaint"),
    "platform_dispute": ("complaint", "refund"),
}
#: The intent a root cause's last part implies.
CAUSE_INTENTS: Mapping[str, str] = {
    "quality": "quality_issue", "description_mismatch": "return",
    "counterfeit": "counterfeit", "safety": "safety", "wrong_item": "wrong_item",
    "damaged_in_transit": "damaged", "late_delivery": "shipping_status",
    "lost_parcel": "shipping_status", "courier_attitude": "complaint",
    "attitude": "complaint", "refund_delay": "refund",
}
#: Fact fields that hold the buyer's or the shop's words.
_TEXT_FIELDS = ("subject", "title", "body", "text", "comment", "message", "note", "reason",
                "description", "appended_body")


class CaseLike(Protocol):
    """What :func:`case_subject` reads of a case (``aftersales.cases.model.Case``)."""

    @property
    def id(self) -> int:
        """The case's id."""

    @property
    def store(self) -> str:
        """Its store."""

    @property
    def kind(self) -> Any:
        """Its kind (a CaseKind or its value)."""

    @property
    def order_id(self) -> str | None:
        """Its order, if any."""

    @property
    def subject(self) -> str:
        """Its one-line subject."""

    @property
    def root_cause(self) -> str | None:
        """Its dotted root cause, if recorded."""

    @property
    def facts(self) -> Any:
        """Its facts (each with a ``data`` mapping)."""

    @property
    def links(self) -> Any:
        """Its links by kind (``parcel``, ``return``, …)."""


def cause_tags(code: str) -> tuple[str, ...]:
    """Tags a dotted root cause matches: ``logistics.lost_parcel`` → itself,
    ``lost_parcel``, ``logistics_lost_parcel``; ``product.quality`` → …, ``product_quality``."""
    parts = code.split(".")
    tags = [code, parts[-1]]
    if len(parts) > 1:
        tags.append(f"{parts[-2]}_{parts[-1]}")
    return tuple(dict.fromkeys(tags))


def case_subject(case: CaseLike) -> Subject:
    """The subject a case makes: its kind and root cause, its words and its order."""
    kind = str(getattr(case.kind, "value", case.kind))
    intents = list(KIND_INTENTS.get(kind, ()))
    tags: list[str] = [kind]
    if case.root_cause:
        tags.extend(cause_tags(case.root_cause))
        cause_intent = CAUSE_INTENTS.get(case.root_cause.rsplit(".", 1)[-1])
        if cause_intent:
            intents.insert(0, cause_intent)
    words = [case.subject] if case.subject else []
    topics: list[str] = []
    for fact in case.facts or ():
        data = getattr(fact, "data", None) or {}
        words.extend(str(data[k]) for k in _TEXT_FIELDS if isinstance(data.get(k), str))
        for key in ("topics", "complaints"):
            if isinstance(data.get(key), list):
                topics.extend(str(t) for t in data[key])
    for topic in dict.fromkeys(topics):
        tags.append(topic)
        if topic in TOPIC_INTENTS:
            intents.append(TOPIC_INTENTS[topic])
    links = dict(case.links or {})
    values: dict[str, Any] = {"store": case.store}
    if case.order_id:
        values["order_id"] = case.order_id
    for link, name in (("parcel", "tracking_number"), ("return", "rma_id")):
        if links.get(link):
            values[name] = links[link][0]
    text = " ".join(dict.fromkeys(words))
    return Subject(ref=f"case {case.id}", intents=tuple(dict.fromkeys(intents)),
                   tags=tuple(dict.fromkeys(tags)), text=text, lang=language(text),
                   store=case.store, values=values)


def label_matches(session: Session, subject: Subject) -> dict[int, set[str]]:
    """The ids of entries sharing an intent or a tag with ``subject``, with the labels shared."""
    labels = [f"i:{i}" for i in subject.intents] + [f"t:{t}" for t in subject.tags]
    if not labels:
        return {}
    out: dict[int, set[str]] = {}
    for term, entry_id in session.execute(
        select(KbTermRow.term, KbTermRow.entry_id).where(KbTermRow.term.in_(labels))
    ):
        out.setdefault(entry_id, set()).add(term)
    return out


def suggestion(entry: Entry, subject: Subject, labels: set[str], text_score: float) -> Suggestion:
    """One ranked suggestion for ``subject`` with the reasons its score came from."""
    reasons: list[str] = []
    score = 0.0
    for label in sorted(labels):
        kind, _, name = label.partition(":")
        if kind == "i":
            score += INTENT_POINTS
            reasons.append(f"intent {name}")
        else:
            score += TAG_POINTS
            reasons.append(f"tag {name}")
    if text_score > 0:
        score += TEXT_POINTS * text_score
        reasons.append(f"text {text_score:.2f}")
    text: str | None = entry.answer(subject.lang)
    missing: tuple[str, ...] = ()
    if entry.kind is EntryKind.TEMPLATE and text:
        template = Template(text, name=f"template {entry.key!r}")
        missing = tuple(sorted(template.fields - set(subject.values)))
        try:
            text = None if missing else template.render(subject.values)
        except ValidationError:
            text = None
    if entry.handoff:
        reasons.append("hand to a person")
    return Suggestion(entry=entry, score=round(score, 4), reasons=tuple(reasons),
                      handoff=entry.handoff, text=text, missing=missing)
