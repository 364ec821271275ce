"""ReturnPolicy: defaults, TOML loading, overrides and every rule it answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aftersales.errors import ConfigurationError
from aftersales.models import ReturnKind, ReturnReason
from aftersales.money import Money
from aftersales.returns.policy import (
    BuyerStats,
    Payer,
    ReturnPolicy,
    SlaAction,
    parse_duration,
)

R = ReturnReason

FULL = """
window_days = 7
timezone = "Asia/Shanghai"
restocking_fee_rate = "0.10"

[reason_window_days]
quality_issue = 15

[categories.food]
returnable = false
note = "Food cannot be returned once delivered."

[categories.shoes]
window_days = 14
restocking_fee_rate = "0.05"

[skus."SHOE-SALE"]
returnable = false

[skus."SHOE-VIP"]
restocking_fee_rate = "0"

[return_shipping_payer]
wrong_size = "merchant"

[[auto_approve]]
name = "small and trusted"
max_amount = "200 CNY"
max_buyer_return_rate = "0.3"

[serial_returner]
min_orders = 4
max_return_rate = "0.5"

[sla]
alert_before = "2h"
[sla.merchant_response]
after = "24h"
action = "remind"
[sla.buyer_shipment]
after = "5d"
action = "auto_close"
alert_before = "1d"
"""


def test_defaults_are_the_seven_day_no_reason_policy() -> None:
    p = ReturnPolicy()
    assert p.window_days == 7
    assert p.payer_for(R.QUALITY_ISSUE) is Payer.MERCHANT
    assert p.payer_for(R.WRONG_ITEM) is Payer.MERCHANT
    assert p.payer_for(R.DAMAGED_IN_TRANSIT) is Payer.MERCHANT
    assert p.payer_for(R.NO_REASON) is Payer.BUYER
    assert p.payer_for(R.CHANGED_MIND) is Payer.BUYER
    assert p.sla.merchant_response is not None
    assert p.sla.merchant_response.after == timedelta(hours=48)
    assert p.sla.buyer_shipment is not None
    assert p.sla.buyer_shipment.after == timedelta(days=7)
    assert p.sla.merchant_confirmation is not None


def test_full_toml_loads_every_section(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(FULL, encoding="utf-8")
    p = ReturnPolicy.load(path)
    assert p.timezone == "Asia/Shanghai"
    assert p.restocking_fee_rate == Decimal("0.10")
    assert p.window_for("X", None, R.QUALITY_ISSUE) == 15
    assert p.window_for("X", None, R.NO_REASON) == 7
    assert p.window_for("SHOE-1", "shoes", R.NO_REASON) == 14
    assert p.payer_for(R.WRONG_SIZE) is Payer.MERCHANT  # changed
    assert p.payer_for(R.QUALITY_ISSUE) is Payer.MERCHANT  # default kept
    assert p.auto_approve[0].max_amount == Money("200", "CNY")
    assert p.serial_returner.min_orders == 4
    assert p.sla.merchant_response is not None
    assert p.sla.merchant_response.action is SlaAction.REMIND
    assert p.sla.buyer_shipment is not None
    assert p.sla.alert_lead(p.sla.buyer_shipment) == timedelta(days=1)
    assert p.sla.alert_lead(p.sla.merchant_response) == timedelta(hours=2)


def test_sku_rule_wins_over_category_rule() -> None:
    p = ReturnPolicy.from_toml(FULL)
    assert p.rule_for("SHOE-SALE", "shoes").returnable is False
    assert p.rule_for("SHOE-SALE", "shoes").window_days == 14  # inherited from category
    assert p.rule_for("SHOE-1", "food").returnable is False
    assert p.rule_for("SHOE-1", "food").note == "Food cannot be returned once delivered."
    assert p.rule_for("ANY", None).returnable is True


def test_restocking_rate_by_reason_kind_sku_and_category() -> None:
    p = ReturnPolicy.from_toml(FULL)
    assert p.restocking_rate("X", None, R.NO_REASON, ReturnKind.RETURN) == Decimal("0.10")
    assert p.restocking_rate("X", "shoes", R.NO_REASON, ReturnKind.RETURN) == Decimal("0.05")
    assert p.restocking_rate("SHOE-VIP", "shoes", R.NO_REASON, ReturnKind.RETURN) == 0
    assert p.restocking_rate("X", None, R.QUALITY_ISSUE, ReturnKind.RETURN) == 0
    assert p.restocking_rate("X", None, R.NO_REASON, ReturnKind.REFUND_ONLY) == 0


def test_shipping_refund_only_for_merchant_fault_reasons() -> None:
    p = ReturnPolicy()
    assert p.refunds_shipping([R.NO_REASON, R.WRONG_ITEM])
    assert not p.refunds_shipping([R.NO_REASON, R.CHANGED_MIND])


@pytest.mark.parametrize(
    ("stats", "flagged"),
    [
        (None, False),
        (BuyerStats(orders=2, returns=2), False),  # too few orders to judge
        (BuyerStats(orders=4, returns=2), False),  # exactly the limit
        (BuyerStats(orders=4, returns=3), True),
    ],
)
def test_serial_returner_flag(stats: BuyerStats | None, flagged: bool) -> None:
    p = ReturnPolicy.from_toml(FULL)
    assert p.is_serial_returner(stats) is flagged


def test_auto_approve_needs_every_condition() -> None:
    p = ReturnPolicy.from_toml(FULL)
    good = BuyerStats(orders=10, returns=1)
    kw = {"reasons": [R.NO_REASON], "kind": ReturnKind.RETURN}
    rule = p.auto_approve_rule(amount=Money("150", "CNY"), stats=good, **kw)  # type: ignore[arg-type]
    assert rule is not None
    assert rule.name == "small and trusted"
    assert p.auto_approve_rule(amount=Money("250", "CNY"), stats=good, **kw) is None  # type: ignore[arg-type]
    assert p.auto_approve_rule(amount=Money("150", "USD"), stats=good, **kw) is None  # type: ignore[arg-type]
    assert p.auto_approve_rule(amount=Money("150", "CNY"), stats=None, **kw) is None  # type: ignore[arg-type]
    heavy = BuyerStats(orders=10, returns=4)
    assert p.auto_approve_rule(amount=Money("150", "CNY"), stats=heavy, **kw) is None  # type: ignore[arg-type]


def test_auto_approve_never_for_a_serial_returner() -> None:
    p = ReturnPolicy.from_mapping({"auto_approve": [{"name": "all"}]})
    assert p.auto_approve_rule(
        amount=Money("1", "CNY"), reasons=[R.NO_REASON], kind=ReturnKind.RETURN,
        stats=BuyerStats(orders=10, returns=9),
    ) is None
    assert p.auto_approve_rule(
        amount=Money("1", "CNY"), reasons=[R.NO_REASON], kind=ReturnKind.RETURN,
        stats=BuyerStats(orders=10, returns=0),
    ) is not None


def test_auto_approve_rule_limited_to_reasons_and_kinds() -> None:
    p = ReturnPolicy.from_mapping(
        {"auto_approve": [{"reasons": ["quality_issue"], "kinds": ["refund_only"]}]}
    )
    ok = p.auto_approve_rule(amount=Money("1", "CNY"), reasons=[R.QUALITY_ISSUE],
                             kind=ReturnKind.REFUND_ONLY, stats=None)
    assert ok is not None
    assert p.auto_approve_rule(amount=Money("1", "CNY"), reasons=[R.QUALITY_ISSUE, R.NO_REASON],
                               kind=ReturnKind.REFUND_ONLY, stats=None) is None
    assert p.auto_approve_rule(amount=Money("1", "CNY"), reasons=[R.QUALITY_ISSUE],
                               kind=ReturnKind.RETURN, stats=None) is None


def test_window_counts_whole_days_in_the_buyers_zone() -> None:
    p = ReturnPolicy(timezone="Asia/Shanghai")
    # Delivered 23:30 on 1 Jan in Shanghai (15:30 UTC): days 2..8 Jan, ends midnight 9 Jan.
    delivered = datetime(2026, 1, 1, 15, 30, tzinfo=UTC)
    ends = p.window_ends(delivered, 7)
    assert ends.astimezone(UTC) == datetime(2026, 1, 8, 16, 0, tzinfo=UTC)
    # The same moment is still 1 Jan in New York … but 07:30 local, the same day.
    ny = p.window_ends(delivered, 7, buyer_timezone="America/New_York")
    assert ny.date().isoformat() == "2026-01-09"
    # A bogus buyer zone falls back to the shop's.
    assert p.window_ends(delivered, 7, buyer_timezone="Mars/Base") == ends


@pytest.mark.parametrize(
    ("text", "expected"),
    [("48h", timedelta(hours=48)), ("7d", timedelta(days=7)), ("1d12h", timedelta(hours=36)),
     ("90m", timedelta(minutes=90)), (" 2 h ", timedelta(hours=2))],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["48", "7 days", "", "h", 48, 1.5])
def test_parse_duration_refuses_guesses(bad: object) -> None:
    with pytest.raises(ValueError, match=r"durations?"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        ("window_days = -1", "window_days"),
        ("restocking_fee_rate = 0.1", "restocking_fee_rate"),
        ("restocking_fee_rate = \"1.5\"", "restocking_fee_rate"),
        ("timezone = \"Nowhere/City\"", "timezone"),
        ("colour = \"red\"", "colour"),
        ("[return_shipping_payer]\nno_reason = \"nobody\"", "return_shipping_payer"),
        ("[[auto_approve]]\nmax_amount = \"200\"", "auto_approve.0.max_amount"),
        ("[sla.buyer_shipment]\nafter = \"7\"", "sla.buyer_shipment.after"),
        ("[sla.merchant_response]\nafter = \"1h\"\naction = \"auto_close\"", "sla"),
        ("[sla.buyer_shipment]\nafter = \"1h\"\naction = \"auto_approve\"", "sla"),
        ("window_days = ", "not valid TOML"),
    ],
)
def test_bad_policy_is_refused_naming_the_key(toml: str, where: str) -> None:
    with pytest.raises(ConfigurationError, match=where.replace(".", r"\.")):
        ReturnPolicy.from_toml(toml)


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        ReturnPolicy.load(tmp_path / "nope.toml")


def test_policy_text_given_as_a_path_is_one_line_without_the_text() -> None:
    """``return_policy="<TOML text>"`` was "no such file" quoting the whole text."""
    text = 'window_days = 7\n[shop]\napi_token = "tok-secret-1"\n'
    with pytest.raises(ConfigurationError) as caught:
        ReturnPolicy.load(text)
    message = str(caught.value)
    assert "not a file's path" in message
    assert "\n" not in message
    assert "tok-secret-1" not in message
    assert "window_days" not in message
    with pytest.raises(ConfigurationError, match="not a file's path"):
        ReturnPolicy.load("p" * 5000)


def test_deadline_can_be_switched_off() -> None:
    p = ReturnPolicy.from_mapping({"sla": {"merchant_confirmation": None}})
    assert p.sla.deadline("merchant_confirmation") is None
    q = ReturnPolicy.from_toml("[sla]\nbuyer_shipment = false")
    assert q.sla.deadline("buyer_shipment") is None
    assert q.sla.deadline("merchant_response") is not None
    with pytest.raises(KeyError):
        p.sla.deadline("lunch_break")
