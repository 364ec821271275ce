"""Follow-up plans: what to send, to whom, when, and when not to.

A :class:`FollowUpPlan` is declared in Python or loaded from TOML
(:func:`load_plans`)::

    [plans.satisfaction]
    kind = "follow_up"
    trigger = "order.delivered"
    delay = "3d"
    channel = "outbox"
    subject = "How is order {order.id}?"
    body = "Hi {buyer.name}, did everything arrive as it should?"
    quiet_hours = { start = "21:00", end = "09:00", zone = "buyer" }
    cancel_if = ["return_opened"]

    [plans.review]
    kind = "review_request"
    trigger = "order.delivered"
    delay = "5d"
    channel = "marketplace"
    body = "Would you tell other buyers about {order.id}?"
    review_window = { min_days = 5, max_days = 30 }

Templates use :mod:`aftersales.templating` (``{field}`` placeholders over
buyer, order and return fields; nothing executes) and are checked when the
plan is built, so a typo fails at start-up, not at 3 a.m.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aftersales.errors import ValidationError
from aftersales.fieldhints import did_you_mean
from aftersales.followups.backoff import RetryPolicy
from aftersales.followups.contact_policy import MessageKind
from aftersales.followups.quiet_hours import QuietHours, shift_local
from aftersales.templating import Template
from aftersales.tomlfile import parse_toml, read_toml

__all__ = [
    "MAX_DURATION",
    "REVIEW_WINDOWS",
    "CancelCondition",
    "FollowUpPlan",
    "PlanKind",
    "ReviewWindow",
    "load_plans",
    "parse_duration",
]


class PlanKind(StrEnum):
    """What a plan's messages are for; decides which contact-policy holds apply."""

    FOLLOW_UP = "follow_up"  # a satisfaction check a few days after delivery
    REVIEW_REQUEST = "review_request"  # asks for a review within the marketplace's window
    CALLBACK = "callback"  # the shop calls back after a bad review or a low score

    @property
    def message_kind(self) -> MessageKind:
        """The contact policy's name for messages of this plan kind."""
        return MessageKind(self.value)


class CancelCondition(StrEnum):
    """A fact checked at send time that cancels the follow-up.

    Each is judged since the follow-up was scheduled: a satisfaction survey
    is pointless to a buyer who opened a return in the meantime.
    """

    RETURN_OPENED = "return_opened"
    COMPLAINT_OPENED = "complaint_opened"
    NEGATIVE_REVIEW = "negative_review"
    RESPONDED = "responded"  # the buyer already answered another follow-up on the order


class ReviewWindow(BaseModel):
    """The days after delivery in which a marketplace lets a seller ask for a review."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_days: int = Field(ge=0)
    max_days: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> ReviewWindow:
        if self.max_days <= self.min_days:
            raise ValueError("max_days must be greater than min_days")
        return self

    def bounds(self, delivered_at: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
        """The first and last moment a request may go, counted on ``zone``'s calendar."""
        return (
            shift_local(delivered_at, timedelta(days=self.min_days), zone),
            shift_local(delivered_at, timedelta(days=self.max_days), zone),
        )


#: Marketplace rules for review requests. Amazon's Solicitations API accepts a
#: request from 5 days after the earliest to 30 days after the latest delivery
#: date, once per order.
REVIEW_WINDOWS: dict[str, ReviewWindow] = {
    "amazon": ReviewWindow(min_days=5, max_days=30),
}

_DURATION = re.compile(r"^\s*(?:(\d+)\s*w)?\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?"
                       r"\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(value: object) -> object:
    """``"3d"``, ``"1d12h"``, ``"90m"`` or ``"2w"`` as a ``timedelta``; anything else as given.

    Numbers (seconds) and ISO 8601 strings (``"P3D"``) are left for pydantic.
    """
    if isinstance(value, str) and value.strip() and not value.strip().upper().startswith("P"):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            w, d, h, m, s = (int(g) if g else 0 for g in match.groups())
            return timedelta(weeks=w, days=d, hours=h, minutes=m, seconds=s)
    return value


#: The longest ``delay`` or ``expires_after`` a plan may have: ten years (a due
#: time beyond the calendar's end would fail every schedule).
MAX_DURATION = timedelta(days=3650)


class FollowUpPlan(BaseModel):
    """A rule that schedules a message to a buyer after an event.

    Attributes:
        name: unique key of the plan; follow-ups and metrics are grouped by it.
        kind: follow-up, review request or call-back (see :class:`PlanKind`).
        trigger: the event that schedules it (``order.delivered``,
            ``return.closed``, ``exchange.delivered``, ``review.negative``,
            or a caller's own); ``None`` for plans only scheduled by hand.
        delay: how long after the event the message is due, on the buyer's
            wall clock (at most :data:`MAX_DURATION`, ten years).
        channel: the registered channel name that sends it (1 to 40 characters).
        subject, body: templates over the follow-up's context.
        quiet_hours: local hours in which nothing is sent.
        zone: whose clock quiet hours and day counts use when the plan's
            quiet hours do not say (``buyer`` falls back to the shop's zone).
        opt_out: buyer ids this plan never contacts (beside the store's
            opt-out list, which every plan honours).
        cancel_if: facts that cancel the follow-up at send time.
        review_window: for review requests, the allowed days after delivery;
            when unset, the marketplace's rule from :data:`REVIEW_WINDOWS`.
        expires_after: a follow-up still unsent this long after it was due
            is skipped rather than sent late (more than 0, at most ten years).
        retry: the retry schedule for transient channel failures.
        low_score_plan: the plan to trigger when the buyer answers with a
            low score (CSAT ≤ ``low_csat`` or NPS ≤ ``low_nps``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: PlanKind = PlanKind.FOLLOW_UP
    trigger: str | None = None
    delay: timedelta = timedelta(0)
    channel: str = Field(default="outbox", min_length=1, max_length=40)
    subject: str = ""
    body: str = Field(min_length=1)
    recipient: str = "auto"  # "auto", "email", "phone", "buyer_id"
    quiet_hours: QuietHours | None = None
    zone: str = "buyer"
    opt_out: frozenset[str] = frozenset()
    cancel_if: frozenset[CancelCondition] = frozenset()
    review_window: ReviewWindow | None = None
    expires_after: timedelta | None = None
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    low_score_plan: str | None = None
    low_csat: int = Field(default=2, ge=1, le=5)
    low_nps: int = Field(default=6, ge=0, le=10)

    _delay = field_validator("delay", "expires_after", mode="before")(parse_duration)

    @field_validator("delay")
    @classmethod
    def _non_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("delay cannot be negative")
        if value > MAX_DURATION:
            raise ValueError(f"delay cannot exceed {MAX_DURATION.days} days")
        return value

    @field_validator("expires_after")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not timedelta(0) < value <= MAX_DURATION:
            raise ValueError(f"expires_after must be more than 0 and at most "
                             f"{MAX_DURATION.days} days")
        return value

    @field_validator("subject", "body")
    @classmethod
    def _template(cls, value: str, info: pydantic.ValidationInfo) -> str:
        try:
            Template(value, name=str(info.field_name))
        except ValidationError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("recipient")
    @classmethod
    def _recipient(cls, value: str) -> str:
        if value not in {"auto", "email", "phone", "buyer_id"}:
            raise ValueError("recipient is one of auto, email, phone, buyer_id")
        return value

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in {"buyer", "shop"}:
            raise ValueError("zone is 'buyer' or 'shop'")
        return value

    @property
    def message_kind(self) -> MessageKind:
        """The contact policy's kind for this plan's messages."""
        return self.kind.message_kind

    @property
    def zone_preference(self) -> str:
        """Whose clock this plan reads: its quiet hours' choice, else ``zone``."""
        return self.quiet_hours.zone if self.quiet_hours else self.zone

    def window_for(self, marketplace: str | None) -> ReviewWindow | None:
        """The review window that applies to an order of ``marketplace`` (review requests only)."""
        if self.kind is not PlanKind.REVIEW_REQUEST:
            return None
        if self.review_window is not None:
            return self.review_window
        return REVIEW_WINDOWS.get((marketplace or "").lower())

    def render(self, context: Mapping[str, Any]) -> tuple[str, str]:
        """The (subject, body) of this plan's message for ``context``.

        Raises:
            ValidationError: the context lacks a field a template needs.
        """
        subject = Template(self.subject, name=f"plan {self.name!r} subject").render(context)
        body = Template(self.body, name=f"plan {self.name!r} body").render(context)
        return subject, body


def load_plans(source: str | Path | Mapping[str, Any]) -> dict[str, FollowUpPlan]:
    """Plans from TOML: a path, TOML text, or an already parsed mapping.

    The TOML holds one ``[plans.<name>]`` table per plan.

    Raises:
        ValidationError: the file is missing or not UTF-8, the TOML does not
            parse or nests too deep, or a plan is invalid; the message names
            the file or the plan and the field. No plan is returned when
            any one is bad.
    """
    data: Mapping[str, Any]
    if isinstance(source, Mapping):
        data = source
    elif isinstance(source, Path):
        data = read_toml(source, what="follow-up plans")
    else:
        data = parse_toml(source, what="follow-up plans")
    tables = data.get("plans")
    if not isinstance(tables, Mapping):
        raise ValidationError("expected [plans.<name>] tables", payload="follow-up plans")
    plans: dict[str, FollowUpPlan] = {}
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise ValidationError("a plan must be a table", payload=f"plan {name!r}")
        try:
            plans[name] = FollowUpPlan.model_validate({"name": name, **table})
        except pydantic.ValidationError as exc:
            errors = exc.errors()
            # A typo is both a missing field and an unknown one: tell the typo.
            first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
            field = ".".join(str(p) for p in first["loc"]) or None
            if first["type"] == "extra_forbidden":  # a typo: say what was meant
                raise ValidationError("unknown setting" + did_you_mean(FollowUpPlan, first["loc"]),
                                      field=field, payload=f"plan {name!r}") from None
            raise ValidationError(first["msg"], field=field, payload=f"plan {name!r}") from exc
    return plans
