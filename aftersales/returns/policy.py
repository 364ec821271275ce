"""The shop's return policy: plain Python, loadable from TOML.

A :class:`ReturnPolicy` answers the questions every decision needs: is this
item returnable, until when, who pays the return postage, is the original
shipping refunded, what restocking fee applies, may this request be approved
without a human, is this buyer a serial returner, and when does each SLA
deadline fall. It does no I/O (except :meth:`ReturnPolicy.load`, which reads
one file), so every rule is tested directly.

A TOML file looks like this (every key optional)::

    window_days = 7                 # 七天无理由, counted from delivery
    timezone = "Asia/Shanghai"
    restocking_fee_rate = "0.10"
    [reason_window_days]
    quality_issue = 15
    [categories.food]
    returnable = false
    note = "Food cannot be returned once delivered."
    [skus."TSHIRT-RED-M"]
    window_days = 30
    [[auto_approve]]
    max_amount = "200 CNY"
    max_buyer_return_rate = "0.3"
    [sla.merchant_response]
    after = "48h"
    action = "auto_approve"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from aftersales.errors import ConfigurationError
from aftersales.models import ReturnKind, ReturnReason
from aftersales.money import Money
from aftersales.returns.deadlines import (
    Deadline,
    Duration,
    SlaAction,
    SlaPolicy,
    parse_duration,
)
from aftersales.tomlfile import parse_toml, read_toml

__all__ = [
    "AutoApproveRule",
    "BuyerStats",
    "Deadline",
    "Duration",
    "ItemRule",
    "Payer",
    "ReturnPolicy",
    "SerialReturnerRule",
    "SlaAction",
    "SlaPolicy",
    "parse_duration",
]

R = ReturnReason

def _parse_money(value: object) -> object:
    # "200 CNY" or "200.00 CNY" in TOML; a table {amount=..., currency=...} also works.
    if isinstance(value, str):
        amount, _, currency = value.strip().partition(" ")
        if not currency:
            raise ValueError(f"write an amount with its currency, e.g. '200 CNY', not {value!r}")
        return Money(amount, currency.strip())
    return value


_MoneyIn = Annotated[Money, BeforeValidator(_parse_money)]
_Rate = Annotated[Decimal, Field(ge=0, le=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        # TOML floats (0.1) would become binary fractions: rates and money are text.
        if isinstance(value, float):
            raise ValueError("write rates and amounts as text, e.g. '0.10', never as floats")
        return value


class Payer(StrEnum):
    """Who pays the postage for sending goods back."""

    BUYER = "buyer"
    MERCHANT = "merchant"


class ItemRule(_Frozen):
    """An override for one category or SKU; ``None`` fields fall back to the policy."""

    returnable: bool = True
    window_days: int | None = Field(default=None, ge=0)
    restocking_fee_rate: _Rate | None = None
    note: str | None = None  # the customer-readable reason an item is not returnable


#: The rule of an item no category or SKU setting names (shared: rules are frozen).
_NO_RULE = ItemRule.model_validate({})


class AutoApproveRule(_Frozen):
    """Approve without a human when every condition that is set holds."""

    name: str = "auto-approve"
    max_amount: _MoneyIn | None = None
    max_buyer_return_rate: _Rate | None = None
    reasons: frozenset[ReturnReason] | None = None
    kinds: frozenset[ReturnKind] | None = None


class SerialReturnerRule(_Frozen):
    """Flag a buyer whose return rate over their recent orders is too high."""

    enabled: bool = True
    lookback_days: int = Field(default=90, ge=1)
    min_orders: int = Field(default=3, ge=1)  # too few orders say nothing about a buyer
    max_return_rate: _Rate = Decimal("0.5")


class BuyerStats(_Frozen):
    """A buyer's recent history: orders placed and orders with a return in the lookback."""

    orders: int = Field(default=0, ge=0)
    returns: int = Field(default=0, ge=0)

    @property
    def return_rate(self) -> Decimal:
        """Returns per order, 0 when the buyer has no orders yet."""
        return Decimal(self.returns) / Decimal(self.orders) if self.orders else Decimal(0)


_MERCHANT_FAULT = frozenset(
    {R.QUALITY_ISSUE, R.DAMAGED_IN_TRANSIT, R.NOT_AS_DESCRIBED, R.WRONG_ITEM, R.MISSING_ITEM,
     R.LATE_DELIVERY}
)
_DEFAULT_PAYER = {r: (Payer.MERCHANT if r in _MERCHANT_FAULT else Payer.BUYER) for r in R}


class ReturnPolicy(_Frozen):
    """Every rule the returns service applies, with defaults a Chinese shop expects.

    Attributes:
        window_days: days after delivery a buyer may ask (7: 七天无理由). The
            window ends at midnight after the last day, in the buyer's zone
            when the order has one, else in ``timezone``.
        reason_window_days: longer (or shorter) windows per reason, e.g. 15
            days for a quality issue.
        categories / skus: overrides; a SKU rule wins over its category's.
        return_shipping_payer: who pays return postage, per reason.
        shipping_refund_reasons: reasons that refund the order's original
            shipping (once per order).
        restocking_fee_rate / restocking_fee_reasons: a fee on goods sent
            back for these reasons (never on refund-only requests).
        auto_approve: rules; the first that matches approves.
        serial_returner: when a buyer's history sends a request to review.
        claim_evidence_required: a claim (refund-only for damage or loss in
            transit) without photos goes to review.
        reject_failed_inspection: receipt with a failed inspection rejects
            the request at once.
        auto_reject_ineligible: reject a new request the validators find
            ineligible, giving their reasons (off: it waits for a human).
        receive_on_delivery: a return parcel the carrier reports delivered
            to the warehouse marks its request received (every unit
            resellable until inspected otherwise); off: the warehouse says so.
        sla: the deadlines.
    """

    window_days: int = Field(default=7, ge=0)
    timezone: str = "UTC"
    reason_window_days: dict[ReturnReason, int] = Field(default_factory=dict)
    categories: dict[str, ItemRule] = Field(default_factory=dict)
    skus: dict[str, ItemRule] = Field(default_factory=dict)
    return_shipping_payer: dict[ReturnReason, Payer] = Field(
        default_factory=lambda: dict(_DEFAULT_PAYER)
    )
    shipping_refund_reasons: frozenset[ReturnReason] = _MERCHANT_FAULT
    restocking_fee_rate: _Rate = Decimal(0)
    restocking_fee_reasons: frozenset[ReturnReason] = frozenset(
        {R.NO_REASON, R.CHANGED_MIND, R.WRONG_SIZE}
    )
    auto_approve: list[AutoApproveRule] = Field(default_factory=list)
    serial_returner: SerialReturnerRule = SerialReturnerRule()
    claim_evidence_required: bool = True
    reject_failed_inspection: bool = True
    auto_reject_ineligible: bool = False
    receive_on_delivery: bool = False
    sla: SlaPolicy = SlaPolicy()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("return_shipping_payer", mode="before")
    @classmethod
    def _payer_defaults(cls, value: Any) -> Any:
        # A TOML table names only the reasons it changes; the rest keep the default.
        if isinstance(value, Mapping):
            return {**_DEFAULT_PAYER, **value}
        return value

    # ------------------------------------------------------------ loading

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "policy") -> ReturnPolicy:
        """Build from parsed TOML/JSON data.

        Raises:
            ConfigurationError: a key is unknown or a value is bad; the
                message names the key path (``sla.buyer_shipment.after``).
        """
        try:
            return cls.model_validate(dict(data))
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigurationError(f"{source}: {problems}") from None

    @classmethod
    def from_toml(cls, text: str, *, source: str = "policy") -> ReturnPolicy:
        """Build from TOML text.

        Raises:
            ConfigurationError: the text is not TOML or a value is bad.
        """
        data = parse_toml(text, what=source, error=ConfigurationError)
        return cls.from_mapping(data, source=source)

    @classmethod
    def load(cls, path: str | Path) -> ReturnPolicy:
        """Read a TOML policy file.

        Raises:
            ConfigurationError: the file is missing, unreadable or invalid.
        """
        p = Path(path)
        data = read_toml(p, what="return policy", error=ConfigurationError)
        return cls.from_mapping(data, source=str(p))

    # ------------------------------------------------------------ item rules

    def rule_for(self, sku: str | None, category: str | None) -> ItemRule:
        """The effective rule for an item: SKU settings over category over defaults."""
        found = (self.categories.get(category or ""), self.skus.get(sku or ""))
        if found == (None, None):
            return _NO_RULE  # the defaults: what validating an empty rule gives (frozen)
        merged: dict[str, Any] = {}
        for rule in found:
            if rule is not None:
                merged.update(rule.model_dump(exclude_unset=True))
        return ItemRule.model_validate(merged)

    def window_for(self, sku: str | None, category: str | None, reason: ReturnReason) -> int:
        """Days after delivery the buyer may ask, for this item and reason.

        An item override wins; otherwise the longer of the general window and
        the reason's own window (a quality issue should not get less time
        than a change of mind).
        """
        rule = self.rule_for(sku, category)
        if rule.window_days is not None:
            return rule.window_days
        return max(self.window_days, self.reason_window_days.get(reason, 0))

    def window_ends(
        self, delivered_at: datetime, days: int, *, buyer_timezone: str | None = None
    ) -> datetime:
        """The moment the window closes: midnight after ``days`` full days past delivery.

        Counted in the buyer's zone when known (else the policy's), as
        marketplaces count 七天无理由 from the day after receipt.
        """
        zone = self._zone_for(buyer_timezone)
        local_day: date = delivered_at.astimezone(zone).date()
        end_day = local_day + timedelta(days=days + 1)
        return datetime.combine(end_day, time(0), tzinfo=zone)

    def _zone_for(self, buyer_timezone: str | None) -> ZoneInfo:
        if buyer_timezone:
            try:
                return ZoneInfo(buyer_timezone)
            except (ZoneInfoNotFoundError, ValueError):
                pass  # a bad zone from a marketplace falls back to the shop's
        return ZoneInfo(self.timezone)

    # ------------------------------------------------------------ money rules

    def payer_for(self, reason: ReturnReason) -> Payer:
        """Who pays to send goods back for this reason."""
        return self.return_shipping_payer.get(reason, Payer.BUYER)

    def refunds_shipping(self, reasons: Iterable[ReturnReason]) -> bool:
        """True when any of the reasons refunds the order's original shipping."""
        return any(r in self.shipping_refund_reasons for r in reasons)

    def restocking_rate(
        self, sku: str | None, category: str | None, reason: ReturnReason, kind: ReturnKind
    ) -> Decimal:
        """The fee rate on goods sent back; 0 for refund-only or a reason without a fee."""
        if kind is ReturnKind.REFUND_ONLY or reason not in self.restocking_fee_reasons:
            return Decimal(0)
        rule = self.rule_for(sku, category)
        return rule.restocking_fee_rate if rule.restocking_fee_rate is not None else (
            self.restocking_fee_rate
        )

    # ------------------------------------------------------------ people rules

    def is_serial_returner(self, stats: BuyerStats | None) -> bool:
        """True when the buyer returned too large a share of enough recent orders."""
        rule = self.serial_returner
        if not rule.enabled or stats is None or stats.orders < rule.min_orders:
            return False
        return stats.return_rate > rule.max_return_rate

    def auto_approve_rule(
        self,
        *,
        amount: Money,
        reasons: Iterable[ReturnReason],
        kind: ReturnKind,
        stats: BuyerStats | None,
    ) -> AutoApproveRule | None:
        """The first auto-approve rule the request meets, or ``None``.

        A rule with a money limit in another currency never matches: the
        policy does not guess exchange rates. A serial returner never
        matches any rule.
        """
        if self.is_serial_returner(stats):
            return None
        wanted = set(reasons)
        for rule in self.auto_approve:
            if rule.kinds is not None and kind not in rule.kinds:
                continue
            if rule.reasons is not None and not wanted <= rule.reasons:
                continue
            if rule.max_amount is not None and (
                rule.max_amount.currency != amount.currency or amount > rule.max_amount
            ):
                continue
            if rule.max_buyer_return_rate is not None and (
                stats is None or stats.return_rate > rule.max_buyer_return_rate
            ):
                continue
            return rule
        return None
