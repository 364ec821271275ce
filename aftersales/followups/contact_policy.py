"""One contact policy for every message the library sends a buyer.

Follow-ups, review requests, call-backs and return updates all pass through
:meth:`ContactPolicy.decide` before they go out, whatever plan, area or
channel sent them, so a buyer is never flooded because two features each
kept their own count. The policy is pure: the caller hands it the buyer's
recent contacts and open holds, and it answers send, wait until a given
moment, or never.

* **Frequency caps** count every message to the buyer across all plans and
  channels within a rolling period (say at most one a day and three a week).
  A capped message waits until the oldest counted contact leaves the period.
  Kinds listed in ``exempt`` (return updates by default: a buyer waiting on
  a refund must hear about it) are counted but never held back.
* **Holds** stop a kind of message while something is unresolved: no review
  request while a return or complaint is open, none after a negative review
  until it is resolved. A held message is looked at again after
  ``hold_recheck``.
* **Opt-out**: a buyer who asked not to be contacted gets nothing more of
  the kinds they opted out of.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Contact",
    "ContactPolicy",
    "Decision",
    "FrequencyCap",
    "HoldKind",
    "MessageKind",
    "Verdict",
]


class MessageKind(StrEnum):
    """What a message to a buyer is for; holds and exemptions are per kind."""

    FOLLOW_UP = "follow_up"  # a satisfaction check or survey
    REVIEW_REQUEST = "review_request"
    CALLBACK = "callback"  # a call-back after a bad review or a low score
    RETURN_UPDATE = "return_update"  # news about the buyer's own return or refund
    OTHER = "other"


class HoldKind(StrEnum):
    """An unresolved matter that holds some kinds of message back."""

    RETURN = "return"
    COMPLAINT = "complaint"
    NEGATIVE_REVIEW = "negative_review"


class Verdict(StrEnum):
    """What the policy says about one message."""

    SEND = "send"
    DEFER = "defer"  # not now; look again at ``retry_at``
    REFUSE = "refuse"  # never (opted out)


@dataclass(frozen=True, slots=True)
class Contact:
    """One message the library sent a buyer (a row of the contact log)."""

    sent_at: datetime
    kind: MessageKind
    channel: str = ""
    source: str = ""  # the plan or area that sent it


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer: send, defer until ``retry_at``, or refuse; ``reason`` says why."""

    verdict: Verdict
    reason: str | None = None
    retry_at: datetime | None = None

    @property
    def allowed(self) -> bool:
        """True when the message may go out now."""
        return self.verdict is Verdict.SEND


class FrequencyCap(BaseModel):
    """At most ``limit`` messages to one buyer within any ``period``.

    ``kinds`` limits which messages count toward this cap (``None``: all).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int = Field(ge=1)
    period: timedelta
    kinds: frozenset[MessageKind] | None = None

    def counts(self, kind: MessageKind) -> bool:
        """True when a message of ``kind`` counts toward this cap."""
        return self.kinds is None or kind in self.kinds

    def free_at(self, history: Sequence[Contact], now: datetime) -> datetime | None:
        """``None`` when another message fits now, else when it will fit."""
        since = now - self.period
        recent = sorted(
            (c.sent_at for c in history if c.sent_at > since and self.counts(c.kind)),
            reverse=True,
        )
        if len(recent) < self.limit:
            return None
        # The window frees up when the limit-th most recent contact leaves it.
        return recent[self.limit - 1] + self.period


def _default_caps() -> tuple[FrequencyCap, ...]:
    return (
        FrequencyCap(limit=1, period=timedelta(days=1)),
        FrequencyCap(limit=3, period=timedelta(days=7)),
    )


def _default_holds() -> dict[MessageKind, frozenset[HoldKind]]:
    return {MessageKind.REVIEW_REQUEST: frozenset(HoldKind)}


class ContactPolicy(BaseModel):
    """The rules every message to a buyer obeys; see the module docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    caps: tuple[FrequencyCap, ...] = Field(default_factory=_default_caps)
    holds: dict[MessageKind, frozenset[HoldKind]] = Field(default_factory=_default_holds)
    exempt: frozenset[MessageKind] = frozenset({MessageKind.RETURN_UPDATE})
    hold_recheck: timedelta = timedelta(hours=12)

    def decide(
        self,
        kind: MessageKind,
        *,
        now: datetime,
        history: Sequence[Contact] = (),
        open_holds: Iterable[HoldKind] = (),
        opted_out: bool = False,
    ) -> Decision:
        """Whether a message of ``kind`` may go to the buyer at ``now``.

        Args:
            kind: what the message is for.
            now: the moment of sending (aware).
            history: the buyer's recent contacts, any plan, area or channel.
            open_holds: the buyer's unresolved matters.
            opted_out: the buyer asked not to receive this kind of message.

        Returns:
            ``REFUSE`` for an opted-out buyer, ``DEFER`` with ``retry_at``
            for a hold or a full cap, else ``SEND``.
        """
        if opted_out:
            return Decision(Verdict.REFUSE, "buyer opted out")
        blocking = sorted(set(open_holds) & self.holds.get(kind, frozenset()))
        if blocking:
            names = ", ".join(h.value for h in blocking)
            return Decision(Verdict.DEFER, f"on hold: open {names}", now + self.hold_recheck)
        if kind in self.exempt:
            return Decision(Verdict.SEND)
        waits = [
            t
            for cap in self.caps
            if cap.counts(kind) and (t := cap.free_at(history, now)) is not None
        ]
        if waits:
            return Decision(Verdict.DEFER, "frequency cap reached", max(waits))
        return Decision(Verdict.SEND)

    @property
    def lookback(self) -> timedelta:
        """How far back the history must reach for the caps to be judged."""
        return max((cap.period for cap in self.caps), default=timedelta(0))
