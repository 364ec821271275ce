"""The shop's case policy (TOML): SLA targets, business hours, escalation, the 回访.

::

    clock = "business"          # or "calendar" (the default)
    warn_ratio = 0.8            # warn when 80% of a target is used up
    follow_up_plan = "case_callback"

    [hours]
    zone = "Asia/Shanghai"      # default: the shop's zone
    weekdays = [1, 2, 3, 4, 5]
    windows = ["09:00-12:00", "13:30-18:00"]
    holidays = ["2026-10-01", "2026-10-02"]

    [targets."*".normal]        # kind "*" and priority "*" are the fall-backs
    first_response = "4h"
    resolution = "3d"

    [targets.complaint.urgent]
    first_response = "30m"
    resolution = "8h"
    clock = "calendar"          # this target counts every hour

    [escalation]
    assignees = { 1 = "team-lead", 2 = "manager", 3 = "director" }
    repeat_cases = 2            # the buyer had this many cases within repeat_days
    repeat_days = 90
    high_value = { CNY = "2000", USD = "300" }   # order total, per currency

    # a buyer message is a complaint when it holds one of these words, or when
    # the shop's own classifier gave it one of these intents (receive_message)
    complaint_keywords = ["投诉", "complaint", "12315", "举报", "差评"]
    complaint_intents = ["complaint"]

A target is looked up by kind and priority, then kind and ``*``, then
``*`` and priority, then ``*`` and ``*``, then the built-in defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from aftersales.cases.clock import BusinessClock, CalendarClock, Clock, parse_window
from aftersales.cases.states import CaseKind, Priority
from aftersales.errors import ValidationError
from aftersales.fieldhints import did_you_mean
from aftersales.followups.plans import parse_duration
from aftersales.tomlfile import parse_toml, read_toml

__all__ = ["BusinessHours", "CasesPolicy", "Escalation", "Target", "load_policy"]

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
ClockName = Literal["calendar", "business"]


class Target(BaseModel):
    """First-response and resolution targets of one kind and priority."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response: Duration = timedelta(hours=4)
    resolution: Duration = timedelta(days=3)
    clock: ClockName | None = None

    @field_validator("first_response", "resolution")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value


class BusinessHours(BaseModel):
    """The shop's opening hours, for the business clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zone: str | None = None
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    windows: tuple[str, ...] = ("09:00-18:00",)
    holidays: frozenset[date] = frozenset()

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_window(text)
        return value

    def clock(self, shop_zone: ZoneInfo) -> BusinessClock:
        """The business clock in this zone (the shop's when none is given)."""
        try:
            zone = ZoneInfo(self.zone) if self.zone else shop_zone
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("unknown time zone", field="hours.zone") from None
        return BusinessClock(zone, self.weekdays, tuple(parse_window(w) for w in self.windows),
                             self.holidays)


class Escalation(BaseModel):
    """When a case escalates, and to whom each level goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    assignees: dict[int, str] = Field(default_factory=dict)
    repeat_cases: int = Field(default=2, ge=1)
    repeat_days: int = Field(default=90, ge=1)
    #: The order total at which a case escalates: a table of amounts by currency
    #: (an order in a currency not listed never escalates for its value), or one
    #: amount that every currency is compared with (a shop selling in one).
    high_value: Decimal | dict[str, Decimal] | None = None
    critical_level: int = Field(default=2, ge=1)

    @field_validator("high_value")
    @classmethod
    def _positive(cls, value: Decimal | dict[str, Decimal] | None
                  ) -> Decimal | dict[str, Decimal] | None:
        amounts = value.values() if isinstance(value, dict) else [] if value is None else [value]
        if any(not a.is_finite() or a <= 0 for a in amounts):
            raise ValueError("amounts must be more than 0")
        if isinstance(value, dict):
            for code in value:
                if not (len(code) == 3 and code.isascii() and code.isalpha()
                        and code.isupper()):
                    raise ValueError(f"{code[:10]!r} is not a currency code like CNY")
        return value

    def is_high_value(self, total: Decimal | None, currency: str | None) -> bool:
        """Whether an order of ``total`` in ``currency`` reaches the high-value threshold."""
        if total is None or self.high_value is None:
            return False
        if isinstance(self.high_value, dict):
            threshold = self.high_value.get((currency or "").upper())
            return threshold is not None and total >= threshold
        return total >= self.high_value

    def assignee(self, level: int) -> str | None:
        """Who takes a case at ``level`` (the nearest level below that names someone)."""
        for n in range(level, 0, -1):
            if n in self.assignees:
                return self.assignees[n]
        return None


class CasesPolicy(BaseModel):
    """The whole case policy; see the module docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock: ClockName = "calendar"
    warn_ratio: float = Field(default=0.8, gt=0, lt=1)
    hours: BusinessHours = Field(default_factory=BusinessHours)
    targets: dict[str, dict[str, Target]] = Field(default_factory=dict)
    escalation: Escalation = Field(default_factory=Escalation)
    follow_up_plan: str | None = None
    low_csat: int = Field(default=2, ge=1, le=5)
    detractor_nps: int = Field(default=6, ge=0, le=10)
    complaint_keywords: tuple[str, ...] = ("投诉", "complaint", "12315", "举报", "差评")
    complaint_intents: tuple[str, ...] = ("complaint",)

    @field_validator("targets")
    @classmethod
    def _keys(cls, value: dict[str, dict[str, Target]]) -> dict[str, dict[str, Target]]:
        kinds = {k.value for k in CaseKind} | {"*"}
        priorities = {p.value for p in Priority} | {"*"}
        for kind, per in value.items():
            if kind not in kinds:
                raise ValueError(f"unknown kind {kind!r}")
            for priority in per:
                if priority not in priorities:
                    raise ValueError(f"unknown priority {priority!r} under {kind!r}")
        return value

    def target(self, kind: CaseKind, priority: Priority) -> Target:
        """The target for ``kind`` and ``priority`` (see the fall-back order above)."""
        for k, p in ((kind.value, priority.value), (kind.value, "*"), ("*", priority.value),
                     ("*", "*")):
            found = self.targets.get(k, {}).get(p)
            if found is not None:
                return found
        return _DEFAULTS[priority]

    def clock_for(self, target: Target, shop_zone: ZoneInfo) -> tuple[str, Clock]:
        """The clock's name and the clock a target counts on."""
        name = target.clock or self.clock
        if name == "business":
            return name, self.hours.clock(shop_zone)
        return name, CalendarClock()


_DEFAULTS = {
    Priority.LOW: Target(first_response=timedelta(hours=24), resolution=timedelta(days=7)),
    Priority.NORMAL: Target(first_response=timedelta(hours=8), resolution=timedelta(days=3)),
    Priority.HIGH: Target(first_response=timedelta(hours=2), resolution=timedelta(days=1)),
    Priority.URGENT: Target(first_response=timedelta(minutes=30), resolution=timedelta(hours=8)),
}


def load_policy(source: CasesPolicy | str | Path | Mapping[str, Any] | None) -> CasesPolicy:
    """A policy from an instance, a TOML path, TOML text or a mapping (None: the defaults).

    Raises:
        ValidationError: the file or text is not a valid policy; the message
            names the first bad field.
    """
    if source is None:
        return CasesPolicy()
    if isinstance(source, CasesPolicy):
        return source
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                     and source.strip().endswith(".toml")):
        data: Mapping[str, Any] = read_toml(source, what="case policy")
    elif isinstance(source, str):
        data = parse_toml(source, what="case policy")
    else:
        data = source
    try:
        return CasesPolicy.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "policy"
        if err["type"] == "extra_forbidden":  # a typo: say what was meant
            raise ValidationError("case policy: unknown setting"
                                  + did_you_mean(CasesPolicy, err["loc"]), field=where) from None
        raise ValidationError(f"case policy: {err['msg']}", field=where) from None
