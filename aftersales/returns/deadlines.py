"""SLA deadline settings: durations written as text, the three deadlines and their actions.

Part of :class:`~aftersales.returns.policy.ReturnPolicy` (its ``sla``
table); planning a deadline for a request is :mod:`aftersales.returns.sla`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator

__all__ = ["Deadline", "Duration", "SlaAction", "SlaPolicy", "parse_duration"]


_DURATION = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(value: object) -> timedelta:
    """``"48h"``, ``"7d"``, ``"1d12h"``, ``"90m"`` or a ``timedelta`` → ``timedelta``.

    Bare numbers are refused: "48" could mean hours or days, and a policy
    must not be guessed.
    """
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("write durations as text such as '48h', '7d' or '1d12h'")
    text = value.strip().lower().replace(" ", "")
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r}; write e.g. '48h', '7d' or '1d12h'")
    return sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta())


#: A length of time written as ``"48h"`` or ``"7d"`` in TOML.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SlaAction(StrEnum):
    """What happens when a deadline passes."""

    REMIND = "remind"  # emit an event; a human acts
    AUTO_APPROVE = "auto_approve"  # approve (on response) or refund (after receipt)
    AUTO_CLOSE = "auto_close"  # close the request


class Deadline(_Frozen):
    """A service-level deadline: how long after entering a state, and what then."""

    after: Duration
    action: SlaAction = SlaAction.REMIND
    alert_before: Duration | None = None  # overrides SlaPolicy.alert_before


# Which expiry actions make sense for each deadline (checked when the policy loads).
_SLA_ACTIONS: dict[str, frozenset[SlaAction]] = {
    "merchant_response": frozenset({SlaAction.REMIND, SlaAction.AUTO_APPROVE}),
    "buyer_shipment": frozenset({SlaAction.REMIND, SlaAction.AUTO_CLOSE}),
    "merchant_confirmation": frozenset({SlaAction.REMIND, SlaAction.AUTO_APPROVE}),
}


class SlaPolicy(_Frozen):
    """The three deadlines and how long before each one an alert goes out.

    ``merchant_response`` runs from the request, ``buyer_shipment`` from the
    approval of a return or exchange, ``merchant_confirmation`` from receipt.
    ``None`` (``false`` in TOML) switches a deadline off.
    """

    merchant_response: Deadline | None = Deadline(
        after=timedelta(hours=48), action=SlaAction.AUTO_APPROVE
    )
    buyer_shipment: Deadline | None = Deadline(
        after=timedelta(days=7), action=SlaAction.AUTO_CLOSE
    )
    merchant_confirmation: Deadline | None = Deadline(
        after=timedelta(hours=72), action=SlaAction.REMIND
    )
    alert_before: Duration = timedelta(hours=6)

    @field_validator("merchant_response", "buyer_shipment", "merchant_confirmation", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        # TOML has no null: ``buyer_shipment = false`` switches a deadline off.
        return None if value is False else value

    @model_validator(mode="after")
    def _actions_fit(self) -> SlaPolicy:
        for name, allowed in _SLA_ACTIONS.items():
            deadline: Deadline | None = getattr(self, name)
            if deadline is not None and deadline.action not in allowed:
                options = ", ".join(sorted(a.value for a in allowed))
                raise ValueError(
                    f"sla.{name}.action cannot be {deadline.action.value}; choose {options}"
                )
        return self

    def deadline(self, name: str) -> Deadline | None:
        """The deadline called ``name`` (one of the three), or ``None`` when off."""
        if name not in _SLA_ACTIONS:
            raise KeyError(name)
        value: Deadline | None = getattr(self, name)
        return value

    def alert_lead(self, deadline: Deadline) -> timedelta:
        """How long before ``deadline`` breaches its alert goes out."""
        return deadline.alert_before if deadline.alert_before is not None else self.alert_before
