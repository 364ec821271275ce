"""The anomaly rules: exceptions, failed attempts, returns to sender, stuck parcels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.logistics.anomalies import STUCK_AFTER, AnomalyKind, classify
from aftersales.models import ParcelStatus

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _classify(status: ParcelStatus, carrier: str | None = "sf", age: timedelta | None = None,
              shipped: timedelta | None = None) -> AnomalyKind | None:
    return classify(
        status=status,
        carrier=carrier,
        direction="outbound",
        last_event_at=NOW - age if age is not None else None,
        shipped_at=NOW - shipped if shipped is not None else None,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (ParcelStatus.EXCEPTION, AnomalyKind.EXCEPTION),
        (ParcelStatus.FAILED_ATTEMPT, AnomalyKind.FAILED_ATTEMPT),
        (ParcelStatus.RETURNING, AnomalyKind.RETURNING),
        (ParcelStatus.RETURNED, AnomalyKind.RETURNING),
    ],
)
def test_problem_statuses_are_anomalies_at_once(status: ParcelStatus, kind: AnomalyKind) -> None:
    assert _classify(status, age=timedelta(minutes=1)) is kind


def test_stuck_depends_on_the_carrier() -> None:
    three_days = timedelta(days=3)
    assert _classify(ParcelStatus.IN_TRANSIT, "sf", three_days) is AnomalyKind.STUCK
    assert _classify(ParcelStatus.IN_TRANSIT, "chinapost", three_days) is None
    assert _classify(ParcelStatus.IN_TRANSIT, "chinapost", timedelta(days=6)) is AnomalyKind.STUCK


def test_unknown_carriers_use_the_default() -> None:
    assert _classify(ParcelStatus.IN_TRANSIT, None, timedelta(days=3)) is None
    assert _classify(ParcelStatus.IN_TRANSIT, "nonesuch", timedelta(days=5)) is AnomalyKind.STUCK


def test_a_pending_parcel_is_judged_from_its_shipping_time() -> None:
    assert _classify(ParcelStatus.PENDING, "sf", None, timedelta(days=3)) is AnomalyKind.STUCK
    assert _classify(ParcelStatus.PENDING, "sf", None, timedelta(hours=3)) is None
    assert _classify(ParcelStatus.PENDING, "sf", None, None) is None


@given(st.sampled_from(list(ParcelStatus)), st.integers(min_value=0, max_value=10_000))
def test_delivered_and_expired_are_never_anomalies(status: ParcelStatus, hours: int) -> None:
    kind = _classify(status, "sf", timedelta(hours=hours))
    if status in (ParcelStatus.DELIVERED, ParcelStatus.EXPIRED):
        assert kind is None
    elif status in (ParcelStatus.EXCEPTION, ParcelStatus.FAILED_ATTEMPT,
                    ParcelStatus.RETURNING, ParcelStatus.RETURNED):
        assert kind is not None
    else:
        assert (kind is AnomalyKind.STUCK) == (timedelta(hours=hours) > STUCK_AFTER["sf"])
