"""Tolerant wire models of Judge.me's review payloads.

Only the fields the adapter reads are declared; everything else is ignored,
and ids that Judge.me sends as numbers in one place and strings in another
are accepted either way. A review list is parsed in two steps (the envelope,
then each review) so one malformed review cannot hide the rest of its page.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aftersales.wire import WireCount, WireId
from aftersales.wire import number_text as _text

__all__ = [
    "JudgeMePicture",
    "JudgeMeReply",
    "JudgeMeReview",
    "JudgeMeReviewList",
    "JudgeMeReviewer",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class JudgeMeReviewer(_Wire):
    """The reviewer; only the display name is used (contact fields never leave here)."""

    id: str | None = None
    external_id: str | None = None
    name: str | None = None

    _ids = field_validator("id", "external_id", mode="before")(_text)


class JudgeMePicture(_Wire):
    """A photo attached to a review, in several sizes."""

    urls: dict[str, str | None] = Field(default_factory=dict)
    hidden: bool = False


class JudgeMeReview(_Wire):
    """One review as ``GET /reviews`` lists it (and as ``review/*`` webhooks send it).

    The id is Judge.me's number (or its digits); the rating a whole number,
    never a flag read as one star.
    """

    id: WireId
    title: str | None = None
    body: str | None = None
    rating: WireCount | None = None
    product_external_id: str | None = None
    product_handle: str | None = None
    product_title: str | None = None
    reviewer: JudgeMeReviewer | None = None
    source: str | None = None
    curated: str | None = None
    published: bool | None = None
    hidden: bool | None = None
    verified: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    pictures: list[JudgeMePicture] = Field(default_factory=list)

    _ids = field_validator("product_external_id", mode="before")(_text)


class JudgeMeReviewList(_Wire):
    """The ``GET /reviews`` envelope; reviews stay raw until mapped one by one."""

    current_page: int | None = None
    per_page: int | None = None
    reviews: list[dict[str, Any]] = Field(default_factory=list)

    def page_size(self, asked: int) -> int:
        """The page size this answer was cut to: the ``per_page`` Judge.me echoes
        when it is smaller than ``asked`` (a server-side cap), else ``asked``."""
        if self.per_page is not None and 0 < self.per_page < asked:
            return self.per_page
        return asked


class JudgeMeReply(_Wire):
    """What ``POST /replies`` answers; Judge.me does not document it, so every
    field is optional and the id may sit at the top or under ``reply``."""

    id: str | None = None
    reply: dict[str, Any] | None = None

    _ids = field_validator("id", mode="before")(_text)

    def reply_id(self) -> str | None:
        """The reply's id, wherever the answer put it."""
        if self.id:
            return self.id
        inner = (self.reply or {}).get("id")
        return str(inner) if inner is not None else None
