"""Set-based scheduling writes what scheduling one at a time writes.

``schedule_many`` reads a chunk's keys once and writes its new follow-ups
with one ``executemany``; ``schedule`` writes one follow-up per transaction
through the ORM. Run side by side on random items (buyer zones, anchors
around clock changes, exact due times, review windows, expiry, repeated
keys), they must leave the same rows. Wall-clock arithmetic has a fast path
for wall times with no clock change; it is compared with the reference (the
two-fold search it replaced) on random instants around real transitions.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from aftersales.followups.plans import FollowUpPlan, PlanKind, ReviewWindow
from aftersales.followups.quiet_hours import QuietHours, _wall_to_instant, shift_local
from aftersales.store.tables.followups import FollowUpRow

ZONES: list[tzinfo] = [ZoneInfo("America/New_York"), ZoneInfo("Europe/London"),
                       ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Shanghai"),
                       ZoneInfo("UTC"), timezone(timedelta(hours=-3, minutes=-30))]
#: Instants near clock changes in the zones above (2024), and ordinary ones.
NEAR = [datetime(2024, 3, 10, 7, tzinfo=UTC), datetime(2024, 11, 3, 6, tzinfo=UTC),
        datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 10, 27, 1, tzinfo=UTC),
        datetime(2024, 4, 6, 15, tzinfo=UTC), datetime(2024, 10, 5, 15, 30, tzinfo=UTC),
        datetime(2024, 6, 3, 2, tzinfo=UTC)]


def _reference(day: datetime, at: time, zone: tzinfo, after: datetime | None) -> datetime:
    """The wall-to-instant search as it was before the fast path (every time tried twice)."""
    naive = datetime.combine(day.date(), at)
    options: list[datetime] = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            options.append(instant)
    if not options:
        lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
        hi = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            if mid.astimezone(zone).replace(tzinfo=None) >= naive:
                hi = mid
            else:
                lo = mid
        options.append(hi.replace(microsecond=0))
    later = [o for o in options if after is None or o > after]
    return min(later) if later else max(options)


def _reference_shift(instant: datetime, delta: timedelta, zone: tzinfo) -> datetime:
    local = instant.astimezone(zone).replace(tzinfo=None) + delta
    day = datetime.combine(local.date(), time(), tzinfo=zone)
    after = instant.astimezone(UTC) - timedelta(microseconds=1) if delta >= timedelta(0) else None
    return _reference(day, local.time(), zone, after)


instants = st.builds(lambda base, minutes, micro: base + timedelta(minutes=minutes,
                                                                   microseconds=micro),
                     st.sampled_from(NEAR), st.integers(-36 * 60, 36 * 60),
                     st.sampled_from([0, 1, 999_999]))


@settings(max_examples=400, deadline=None)
@given(instant=instants, zone=st.sampled_from(ZONES),
       delta=st.sampled_from([timedelta(0), timedelta(days=3), timedelta(hours=1, minutes=30),
                              timedelta(days=-1), timedelta(minutes=-45)]),
       at=st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 59])),
       after=st.booleans())
def test_wall_clock_arithmetic_is_the_reference_s(instant: datetime, zone: tzinfo,
                                                  delta: timedelta, at: time,
                                                  after: bool) -> None:
    assert shift_local(instant, delta, zone) == _reference_shift(instant, delta, zone)
    bound = instant if after else None
    got, want = _wall_to_instant(instant, at, zone, bound), _reference(instant, at, zone, bound)
    assert (got, got.utcoffset()) == (want, want.utcoffset())


# ---------------------------------------------------------------- schedule_many vs schedule

NIGHT = QuietHours(start=time(21), end=time(9))
PLANS = [
    FollowUpPlan(name="survey", delay=timedelta(days=3), channel="outbox", body="Hi",
                 quiet_hours=NIGHT),
    FollowUpPlan(name="review", kind=PlanKind.REVIEW_REQUEST, channel="outbox", body="Hi",
                 delay=timedelta(days=1), review_window=ReviewWindow(min_days=5, max_days=6),
                 quiet_hours=NIGHT, expires_after=timedelta(hours=30)),
]
_n = itertools.count()
item = st.fixed_dictionaries({
    "buyer": st.sampled_from(["b1", "b2", "王"]),
    "order": st.integers(0, 5),
    "market": st.sampled_from(["shop", "amazon", None]),
    "at": st.one_of(st.none(), instants),
    "due_at": st.one_of(st.none(), instants),
    "zone": st.sampled_from([None, "America/New_York", "Europe/London", "Nowhere/Else"]),
    "extra": st.one_of(st.none(), st.dictionaries(st.sampled_from(["note", "n"]),
                                                  st.integers(0, 9), max_size=2)),
})


def _rows(app: Any, prefix: str) -> list[dict[str, Any]]:
    cols = ("plan", "kind", "channel", "buyer_id", "marketplace", "order_external_id",
            "rma_id", "due_at", "not_after", "status", "attempts", "last_error", "context",
            "version", "created_at", "updated_at", "lease_owner", "lease_until", "sent_at")
    with app.store.session() as s:
        found = s.scalars(select(FollowUpRow).where(FollowUpRow.idempotency_key.like(
            f"{prefix}%")).order_by(FollowUpRow.idempotency_key)).all()
        # the stored context text too, not only what the ORM reads back
        raw = s.execute(text("SELECT context FROM follow_ups WHERE idempotency_key LIKE :p "
                             "ORDER BY idempotency_key"), {"p": f"{prefix}%"}).scalars().all()
        return [{"key": r.idempotency_key[len(prefix):], "raw": raw_ctx,
                 **{c: getattr(r, c) for c in cols}} for r, raw_ctx in zip(found, raw,
                                                                           strict=True)]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.sampled_from(PLANS), items=st.lists(item, min_size=1, max_size=12),
       chunk=st.integers(1, 5))
def test_schedule_many_writes_what_schedule_writes(app: Any, plan: FollowUpPlan,
                                                   items: list[dict[str, Any]],
                                                   chunk: int) -> None:
    run = next(_n)
    one, many = f"one{run}:", f"many{run}:"
    inputs = []
    for it in items:
        ctx: dict[str, Any] = dict(it["extra"] or {})
        if it["zone"]:
            ctx["buyer"] = {"timezone": it["zone"]}
        inputs.append({"buyer_id": it["buyer"], "order_id": f"O-{it['order']}",
                       "marketplace": it["market"], "at": it["at"], "due_at": it["due_at"],
                       "context": ctx, "key": f"{plan.name}:{it['market']}:{it['order']}"})
    for x in inputs:  # one at a time; a repeated key schedules once
        app.followups.schedule(plan, buyer_id=x["buyer_id"], order_id=x["order_id"],
                               marketplace=x["marketplace"], at=x["at"], due_at=x["due_at"],
                               context=x["context"], key=one + x["key"])
    new = app.followups.schedule_many(plan, [{**x, "key": many + x["key"]} for x in inputs],
                                      chunk=chunk)
    assert new == len({x["key"] for x in inputs})
    assert app.followups.schedule_many(plan, [{**x, "key": many + x["key"]}
                                              for x in inputs]) == 0
    assert _rows(app, one) == _rows(app, many)


@pytest.mark.postgres
def test_schedule_many_on_postgresql(make_app: Any, pg_url: str, clock: Any) -> None:
    app = make_app(pg_url)
    plan = PLANS[1]
    items = [{"buyer_id": "b1", "order_id": f"O-{n}", "marketplace": "amazon",
              "at": clock.now, "context": {"buyer": {"timezone": "America/New_York"}} if n % 2
              else {}, "key": f"pg:{n % 7}"} for n in range(20)]
    assert app.followups.schedule_many(plan, items, chunk=6) == 7
    for n in range(7):
        app.followups.schedule(plan, buyer_id="b1", order_id=f"O-{n}", marketplace="amazon",
                               at=clock.now, context=items[n]["context"], key=f"pg1:{n}")
    assert [{**r, "key": r["key"][1:], "raw": None} for r in _rows(app, "pg:")] == [
        {**r, "key": r["key"][1:], "raw": None} for r in _rows(app, "pg1:")]
