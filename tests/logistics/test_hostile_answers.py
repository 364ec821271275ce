"""What every tracking adapter relies on when a provider's answer is hostile: scan times
checked by name, unknown codes read as exceptions, answers for another parcel kept off
the asked one, provider reasons masked, and over-long texts cut to their columns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import ValidationError
from aftersales.interfaces import Capability, CarrierBase
from aftersales.logistics.tracking import (
    CHINA_TZ,
    UNKNOWN,
    StatusRule,
    build_tracking,
    foreign_answer,
    parcel_rule,
    parse_time,
    place_time,
    provider_reason,
    scan_time,
    track_result,
)
from aftersales.models import ParcelStatus, Tracking, TrackingEvent, TrackQuery, TrackResult
from aftersales.store.tables.core import ShipmentRow, TrackingEventRow

from .conftest import T0, add_parcels

NOW = datetime(2026, 3, 1, tzinfo=UTC)
TABLE = {"Delivered": StatusRule(ParcelStatus.DELIVERED),
         "InTransit": StatusRule(ParcelStatus.IN_TRANSIT)}


def _scan(value: Any, tz: Any = UTC) -> datetime | None:
    found = scan_time(value, field="f", payload="p", naive_tz=tz, now=NOW)
    return None if found is None else found.time


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-02-28 18:00:00", datetime(2026, 2, 28, 10, tzinfo=UTC)),
    ("2026-02-28T18:00:00+08:00", datetime(2026, 2, 28, 10, tzinfo=UTC)),
    ("2026-02-28T10:00:00Z", datetime(2026, 2, 28, 10, tzinfo=UTC)),
    (1772272800, datetime(2026, 2, 28, 10, tzinfo=UTC)),  # epoch seconds
    ("1772272800000", datetime(2026, 2, 28, 10, tzinfo=UTC)),  # milliseconds, as digits
    (1772272800.0, datetime(2026, 2, 28, 10, tzinfo=UTC)),
    (None, None),
    ("", None),
])
def test_a_scan_time_is_read_in_any_documented_form(value: Any, expected: Any) -> None:
    assert _scan(value, CHINA_TZ) == expected


@pytest.mark.parametrize("value", [
    "yesterday", "2026-02-30 10:00:00", "0000-00-00 00:00:00", "1999-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z", "2026-03-03T00:00:00Z",  # two days ahead of the clock
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",  # past the calendar's ends
    True, -1, 10**30, float("nan"), float("inf"), [1], {"t": 1}, "１７７２２７２８００",
])
def test_a_scan_time_that_is_no_time_is_refused_by_name(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _scan(value)
    assert (caught.value.field, caught.value.payload) == ("f", "p")
    assert str(value) not in str(caught.value) or str(value) in ("True", "-1")


def test_parse_time_keeps_to_2000_2100() -> None:
    assert parse_time("2999-01-01T00:00:00Z") is None
    assert parse_time("1970-01-01T00:00:00Z") is None
    assert parse_time("9999-12-31T23:59:59-14:00") is None


def test_a_local_time_is_read_in_the_scans_zone_and_marked_inferred() -> None:
    assert place_time("2026-02-28T10:00:00", field="f", payload="p", country="DEU") == (
        datetime(2026, 2, 28, 9, tzinfo=UTC), True)
    assert place_time("2026-02-28T10:00:00", field="f", payload="p") == (
        datetime(2026, 2, 28, 10, tzinfo=UTC), True)
    assert place_time("2026-02-28T10:00:00Z", field="f", payload="p", country="DEU") == (
        datetime(2026, 2, 28, 10, tzinfo=UTC), False)


@pytest.mark.parametrize(("codes", "expected"), [
    (("Delivered_New", "Delivered"), ParcelStatus.DELIVERED),  # a sub-status to its main
    (("Weird",), ParcelStatus.EXCEPTION),
    (("Weird_1", "Weird"), ParcelStatus.EXCEPTION),
    (("delivered",), ParcelStatus.EXCEPTION),  # no case folding into "delivered"
    ((None, ""), ParcelStatus.PENDING),
])
def test_an_unknown_code_is_an_exception_and_no_code_is_absent(
        codes: tuple[str | None, ...], expected: ParcelStatus) -> None:
    rule = parcel_rule(TABLE, *codes, absent=StatusRule(ParcelStatus.PENDING))
    assert rule.status is expected
    if expected is ParcelStatus.EXCEPTION:
        assert rule == UNKNOWN


def _tracking(number: str = "SF1234567890123", carrier: str | None = "sf") -> Tracking:
    return Tracking(number=number, carrier=carrier, status=ParcelStatus.DELIVERED)


@pytest.mark.parametrize(("number", "carrier", "why"), [
    ("SF1234567890123", "sf", None),
    ("sf 1234-5678-90123", "sf", None),  # the same number spelled another way
    ("SF1234567890123", None, None),  # the answer names no carrier
    ("SF9999999999999", "sf", "number"),
    ("SF1234567890123", "zto", "carrier"),
])
def test_an_answer_for_another_parcel_is_told_apart(
        number: str, carrier: str | None, why: str | None) -> None:
    query = TrackQuery(number="SF1234567890123", carrier="sf")
    found = foreign_answer(query, _tracking(number, carrier))
    assert (found is None) == (why is None)
    if why is not None:
        assert found is not None
        assert why in found
        result = track_result(query, lambda: _tracking(number, carrier))
        assert (result.tracking, result.error_code) == (None, "mismatch")


def test_a_bad_value_in_an_answer_is_that_numbers_error() -> None:
    def bad() -> Tracking:
        raise ValidationError("not a scan time", field="data[2].ftime", payload="kuaidi100 query")

    result = track_result(TrackQuery(number="n"), bad)
    assert result.tracking is None
    assert result.error_code == "invalid"
    assert "data[2].ftime" in str(result.error)


@pytest.mark.parametrize("message", [
    "recipient phone 13800138000 needed\nsecond line",
    "收件人张三 电话13800138000 地址北京市朝阳区建国路88号",
    "x" * 100_000 + " 13800138000",
    "\x00" * 50 + "customer Alice Wong",
])
def test_a_provider_reason_is_masked_one_line_and_short(message: str) -> None:
    reason = provider_reason(message)
    assert "13800138000" not in reason
    for word in ("Wong", "张三", "建国路", "\n", "\x00"):
        assert word not in reason
    assert 0 < len(reason) <= 200


@pytest.mark.parametrize("message", [None, "", "   ", 42])
def test_no_provider_reason_is_the_default(message: Any) -> None:
    assert provider_reason(message) == "refused"


def test_a_scan_listed_twice_is_kept_once() -> None:
    scan = TrackingEvent(time=T0, status=ParcelStatus.IN_TRANSIT, description="d", location="l")
    other = scan.model_copy(update={"description": "e"})
    tracking = build_tracking(carrier=None, number="n", rule=StatusRule(ParcelStatus.IN_TRANSIT),
                              events=[scan, other, scan.model_copy(), scan], provider="p",
                              raw_status=None)
    assert tracking.events == [scan, other]


class _Hostile(CarrierBase):
    """A provider answering with 100 kB texts in every field a column bounds."""

    name = "hostile"
    capabilities = frozenset({Capability.TRACK})
    batch_size = 40
    carriers = None

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        event = TrackingEvent(time=T0, status=ParcelStatus.IN_TRANSIT,
                              description="d\x00" * 50_000, location="L" * 100_000,
                              raw_code="R" * 100_000)
        return [TrackResult(query=q, tracking=Tracking(
            carrier="c" * 100_000, number=q.number, status=ParcelStatus.IN_TRANSIT,
            events=[event], provider=self.name, raw_status="S" * 100_000)) for q in queries]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
def test_100_kb_provider_texts_are_stored_cut_to_their_columns(
        backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> None:
    """PostgreSQL refuses a text longer than its column: one such scan failed the write
    of the whole batch; SQLite kept all 100 kB."""
    url = (f"sqlite:///{tmp_path}/a.db" if backend == "sqlite"
           else str(request.getfixturevalue("pg_url")))
    app = AfterSales(url, marketplaces=[], carriers=[_Hostile()], migrate=False,
                     clock=lambda: T0 + timedelta(days=1))
    try:
        app.store.create_all()
        add_parcels(app, ["SF1234567890123", "SF1234567890124"], carrier=None)
        report = app.logistics.refresh()
        assert not report.errors
        with app.store.session() as session:
            events = session.scalars(select(TrackingEventRow)).all()
            parcels = session.scalars(select(ShipmentRow)).all()
            assert len(events) == 2
            for event in events:
                assert 0 < len(event.location or "") <= 200
                assert 0 < len(event.raw_code or "") <= 40
            for parcel in parcels:
                assert 0 < len(parcel.carrier or "") <= 40
                assert 0 < len(parcel.raw_status or "") <= 80
    finally:
        app.close()


def test_a_refresh_stores_no_answer_about_another_parcel(make_app: Any, http: Any) -> None:
    """Kuaidi100 answers the asked number with another parcel's delivered trace: the
    asked parcel is not changed and is reported as not resolved."""
    from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings

    asked, other = "YT9693083639795", "YT9693083639796"
    answer = {"message": "ok", "state": "3", "status": "200", "ischeck": "1", "com": "yuantong",
              "nu": other, "data": [{"time": "2026-02-28 09:12:40",
                                     "ftime": "2026-02-28 09:12:40", "context": "已签收"}]}
    http.post("https://poll.kuaidi100.com/poll/query.do", json=answer)
    carrier = Kuaidi100Carrier(Kuaidi100Settings(key="k", customer="c"), sleep=lambda _s: None)
    app = make_app(carrier)
    add_parcels(app, [asked], carrier="yto")
    report = app.logistics.refresh()
    assert report.changed == 0
    assert "another tracking number" in report.unresolved[asked]
    with app.store.session() as session:
        assert session.scalar(select(ShipmentRow.status)) == "pending"
        assert session.scalars(select(TrackingEventRow)).all() == []
