"""Follow-up plans: Python and TOML, templates, review windows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest

from aftersales.errors import ValidationError
from aftersales.followups.contact_policy import MessageKind
from aftersales.followups.plans import (
    CancelCondition,
    FollowUpPlan,
    PlanKind,
    ReviewWindow,
    load_plans,
)

PLANS_TOML = """
[plans.satisfaction]
kind = "follow_up"
trigger = "order.delivered"
delay = "3d"
channel = "outbox"
subject = "How is order {order.id}?"
body = "Hi {buyer.name}, did everything arrive?"
quiet_hours = { start = "21:00", end = "09:00", zone = "buyer" }
cancel_if = ["return_opened"]
low_score_plan = "callback"

[plans.review]
kind = "review_request"
trigger = "order.delivered"
delay = "P5D"
channel = "marketplace"
body = "Would you review {order.id}?"

[plans.callback]
kind = "callback"
delay = 3600
body = "We are sorry, {buyer.name}."
"""


def test_toml_plans_load_with_every_field() -> None:
    plans = load_plans(PLANS_TOML)
    sat = plans["satisfaction"]
    assert sat.delay == timedelta(days=3)
    assert sat.quiet_hours is not None
    assert sat.quiet_hours.start == time(21)
    assert sat.cancel_if == frozenset({CancelCondition.RETURN_OPENED})
    assert sat.message_kind is MessageKind.FOLLOW_UP
    assert plans["review"].delay == timedelta(days=5)
    assert plans["review"].kind is PlanKind.REVIEW_REQUEST
    assert plans["callback"].delay == timedelta(hours=1)
    assert plans["callback"].trigger is None


def test_toml_from_path(tmp_path: Path) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(PLANS_TOML, "utf-8")
    assert set(load_plans(path)) == {"satisfaction", "review", "callback"}


@pytest.mark.parametrize(
    ("snippet", "field"),
    [
        ('body = "Hi {buyer.name!r}"', "body"),
        ('body = "x"\ndelay = "soon"', "delay"),
        ('body = "x"\ncancel_if = ["moon_phase"]', "cancel_if"),
        ('body = "x"\nkind = "spam"', "kind"),
        ('body = "x"\nquiet_hours = { start = "09:00", end = "09:00" }', "quiet_hours"),
        ('body = "x"\nsurprise = 1', "surprise"),
    ],
)
def test_bad_plan_names_plan_and_field(snippet: str, field: str) -> None:
    text = f"[plans.good]\nbody = \"ok\"\n\n[plans.bad]\n{snippet}\n"
    with pytest.raises(ValidationError) as info:
        load_plans(text)
    assert info.value.payload == "plan 'bad'"
    assert info.value.field is not None
    assert info.value.field.startswith(field)


@pytest.mark.parametrize(
    ("snippet", "field"),
    [
        ('delay = "99999999d"', "delay"),
        ("delay = 1000000000000", "delay"),
        ("expires_after = 1000000000000", "expires_after"),
        ("expires_after = -5", "expires_after"),
        ('expires_after = "0s"', "expires_after"),
        ('channel = ""', "channel"),
        (f'channel = "{"c" * 41}"', "channel"),
    ],
)
def test_plan_durations_and_channel_are_bounded(snippet: str, field: str) -> None:
    # A delay or expiry of millions of days loaded fine and then raised a
    # bare OverflowError from every schedule; a negative or zero expiry
    # skipped every follow-up of the plan; an empty channel failed each
    # send at dispatch time instead of at start-up.
    with pytest.raises(ValidationError) as info:
        load_plans(f"[plans.bad]\nbody = \"x\"\n{snippet}\n")
    assert info.value.field == field


def test_bad_toml_and_missing_tables() -> None:
    with pytest.raises(ValidationError, match="not valid TOML"):
        load_plans("[plans.x\n")
    with pytest.raises(ValidationError, match=r"\[plans.<name>\]"):
        load_plans("[other]\nx = 1\n")


def test_a_misspelt_plan_key_is_refused_naming_the_key_meant() -> None:
    """A typo was "Extra inputs are not permitted", saying nothing of what was meant."""
    with pytest.raises(ValidationError) as caught:
        load_plans('[plans.x]\nbody = "hi"\ntriger = "order.delivered"\n')
    message = str(caught.value)
    assert "did you mean 'trigger'" in message
    assert "plan 'x'" in message
    with pytest.raises(ValidationError, match="did you mean 'max_days'"):
        load_plans('[plans.x]\nbody = "hi"\nreview_window = { min_days = 1, max_day = 9 }\n')


def test_render_fills_buyer_and_order_fields() -> None:
    plan = load_plans(PLANS_TOML)["satisfaction"]
    subject, body = plan.render({"order": {"id": "A-1"}, "buyer": {"name": "Li"}})
    assert subject == "How is order A-1?"
    assert body == "Hi Li, did everything arrive?"


def test_render_never_executes_or_reenters() -> None:
    plan = FollowUpPlan(name="p", body="Hi {buyer.name}")
    _, body = plan.render({"buyer": {"name": "{secret} {{x}}"}, "secret": "s3cr3t"})
    assert body == "Hi {secret} {{x}}"
    with pytest.raises(ValidationError, match=r"buyer\.name"):
        plan.render({"buyer": {}})


def test_review_window_from_marketplace_or_plan() -> None:
    plan = FollowUpPlan(name="r", kind=PlanKind.REVIEW_REQUEST, body="x")
    assert plan.window_for("amazon") == ReviewWindow(min_days=5, max_days=30)
    assert plan.window_for("Amazon") == ReviewWindow(min_days=5, max_days=30)
    assert plan.window_for("shopify") is None
    own = plan.model_copy(update={"review_window": ReviewWindow(min_days=1, max_days=3)})
    assert own.window_for("amazon") == ReviewWindow(min_days=1, max_days=3)
    assert FollowUpPlan(name="f", body="x").window_for("amazon") is None


def test_review_window_bounds_on_local_calendar() -> None:
    ny = ZoneInfo("America/New_York")
    delivered = datetime(2024, 3, 5, 15, 0, tzinfo=ny)  # EST; DST starts 03-10
    first, last = ReviewWindow(min_days=5, max_days=30).bounds(delivered, ny)
    assert first.astimezone(ny) == datetime(2024, 3, 10, 15, 0, tzinfo=ny)
    assert last.astimezone(ny) == datetime(2024, 4, 4, 15, 0, tzinfo=ny)
    assert first.tzinfo is UTC


def test_plan_validation_rules() -> None:
    with pytest.raises(pydantic.ValidationError, match="max_days"):
        ReviewWindow(min_days=30, max_days=5)
    with pytest.raises(pydantic.ValidationError, match="negative"):
        FollowUpPlan(name="p", body="x", delay=timedelta(hours=-1))
    with pytest.raises(pydantic.ValidationError):
        FollowUpPlan(name="has space", body="x")
    with pytest.raises(pydantic.ValidationError, match="recipient"):
        FollowUpPlan(name="p", body="x", recipient="pigeon")
    assert FollowUpPlan(name="p", body="x", delay="1d12h").delay == timedelta(days=1, hours=12)
