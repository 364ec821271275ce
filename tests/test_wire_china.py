"""China-time wire times, read and written by one core pair (Taobao, JD, Pinduoduo).

Taobao read its times with ``strptime``, whose digits are any Unicode digits
and whose fields may drop their leading zero, so ``２０２６-01-02 03:04:05``
was a time; JD wrote a naive ``since`` or clock reading in the machine's
zone. Both now go through :func:`aftersales.wire.china_time` and
:func:`aftersales.wire.china_text`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aftersales_douyin import mapping as douyin
from aftersales_jd.client import JdClient
from aftersales_taobao import mapping as taobao
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.money import Money
from aftersales.wire import (
    china_text,
    china_time,
    discount_beyond_paid,
    record_name,
    yuan_or_zero,
)
from tests.adapters.jd.conftest import make_settings

WHERE = "test payload"


def _read(value: Any, **kw: Any) -> datetime:
    return china_time(value, field="created", payload=WHERE, **kw)


@pytest.mark.parametrize(("value", "utc"), [
    ("2026-01-02 03:04:05", datetime(2026, 1, 1, 19, 4, 5, tzinfo=UTC)),
    (" 2026-01-02 03:04:05 ", datetime(2026, 1, 1, 19, 4, 5, tzinfo=UTC)),
    ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    (1767000000, datetime(2025, 12, 29, 9, 20, tzinfo=UTC)),
    ("1767000000000", datetime(2025, 12, 29, 9, 20, tzinfo=UTC)),
])
def test_china_time_reads_text_and_epoch_numbers(value: Any, utc: datetime) -> None:
    moment = _read(value)
    assert moment == utc
    assert moment.tzinfo is UTC


@pytest.mark.parametrize("value", [
    "２０２６-01-02 03:04:05",  # full-width digits
    "٢٠٢٦-٠١-٠٢ ٠٣:٠٤:٠٥",  # Arabic-Indic digits
    "2026-1-2 3:4:5",  # fields without their leading zero
    "2026-01-02 03:04:05\x00", "2026-02-30 00:00:00", "2026-01-02 24:00:00",
    "2026-01-02 03:04:05+15:00",  # no such offset
    "0001-01-01 00:00:00", "9999-12-31 23:59:59", "1999-12-31 15:59:59",
    "1e9", "NaN", "inf", "-1767000000", "1" * 14, "9" * 400, 10**400, 0,
    "", None, True, 1.7e9, [], {},
])
def test_china_time_refuses_what_no_platform_writes_by_name(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        _read(value)
    assert info.value.field == "created"
    assert info.value.payload == WHERE
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [1767000000, "1767000000", "1767000000000"])
def test_china_time_without_epoch_takes_only_text(value: Any) -> None:
    with pytest.raises(ValidationError, match="'yyyy-MM-dd HH:mm:ss'"):
        _read(value, epoch=False)
    assert _read("2026-01-02 03:04:05", epoch=False) == datetime(2026, 1, 1, 19, 4, 5,
                                                                 tzinfo=UTC)


def test_china_time_bounds_are_the_callers_years_in_utc() -> None:
    assert _read("2000-01-01 08:00:00") == datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="outside 2000–2100"):
        _read("2000-01-01 07:59:59")
    assert _read("1999-01-01 00:00:00", years=(1970, 2200)).year == 1998


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none(), st.booleans(),
                 st.text(alphabet="0123456789０１２-: T+Z.", max_size=30)))
def test_any_value_is_a_bounded_utc_time_or_refused_by_name(value: Any) -> None:
    try:
        moment = _read(value)
    except ValidationError as exc:
        named = exc.field
        assert named == "created"
        return
    assert moment.tzinfo is UTC
    assert 2000 <= moment.year < 2100


@pytest.mark.parametrize(("moment", "text"), [
    (datetime(2024, 5, 19, 16, 30, tzinfo=UTC), "2024-05-20 00:30:00"),
    (datetime(2024, 5, 20, 0, 30, 59, 999999, tzinfo=timezone(timedelta(hours=8))),
     "2024-05-20 00:30:59"),
])
def test_china_text_writes_china_time(moment: datetime, text: str) -> None:
    assert china_text(moment) == text
    assert taobao.parse_time(text) == moment.replace(microsecond=0)


@pytest.mark.parametrize("moment", [
    datetime(2024, 5, 19, 16, 30),  # naive: the machine's zone would be guessed
    datetime(9999, 12, 31, 20, tzinfo=UTC),  # beyond year 9999 in China time
    datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, tzinfo=UTC),  # no four-digit year
    "2024-05-20 00:30:00",
])
def test_china_text_refuses_what_it_cannot_write_by_name(moment: Any) -> None:
    with pytest.raises(ValidationError) as info:
        china_text(moment, field="since")
    assert info.value.field == "since"


def test_a_taobao_time_in_full_width_digits_is_refused() -> None:
    """``strptime`` read ２０２６ as 2026."""
    with pytest.raises(ValidationError, match="'modified'"):
        taobao.parse_time("２０２６-01-02 03:04:05", field="modified")
    with pytest.raises(ValidationError, match="'modified'"):
        taobao.parse_time("2026-1-2 3:4:5", field="modified")


def test_taobao_keeps_its_documented_example_times() -> None:
    """TOP's own examples write 2000-01-01 00:00:00 (1999 in UTC)."""
    assert taobao.parse_time("2000-01-01 00:00:00") == datetime(1999, 12, 31, 16, tzinfo=UTC)


def test_a_jd_clock_without_a_zone_is_refused_not_read_in_the_machines_zone() -> None:
    client = JdClient(make_settings(), clock=lambda: datetime(2024, 5, 19, 16, 30))
    with pytest.raises(ValidationError, match="'timestamp'"):
        client.form("jingdong.test", {})
    aware = JdClient(make_settings(), clock=lambda: datetime(2024, 5, 19, 16, 30, tzinfo=UTC))
    assert aware.form("jingdong.test", {})["timestamp"] == "2024-05-20 00:30:00"


def _old_route_rule(value: int) -> datetime | None:
    """Douyin's route rule before it moved onto china_time: seconds, else milliseconds."""
    for seconds in (value, value / 1000):
        if 946_684_800 <= seconds < 4_102_444_800:
            return datetime.fromtimestamp(seconds, UTC)
    return None


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.integers(0, 10**14),
                 st.integers(946_684_800_000, 4_102_444_800_000),
                 st.integers(946_684_700, 4_102_444_900)))
def test_douyin_route_digits_read_as_before(value: int) -> None:
    old = _old_route_rule(value)
    new = douyin.route_moment(str(value))
    if old is None or new is None:
        assert old == new
    else:  # the old rule divided by 1000.0; the core counts whole milliseconds
        assert abs(new - old) <= timedelta(microseconds=1)


@pytest.mark.parametrize("text", ["１７１５６５２０００", "١٧١٥٦٥٢٠٠٠", "1715652000\x00", "-1715652000"])
def test_douyin_a_route_time_in_other_digits_is_no_time(text: str) -> None:
    """``str.isdigit`` took full-width and Arabic-Indic digits as a time."""
    assert douyin.route_moment(text) is None


def test_an_order_amount_left_out_is_zero_and_a_bad_one_is_named() -> None:
    assert yuan_or_zero(None, field="postage", payload="p") == Money("0", "CNY")
    assert yuan_or_zero("", field="postage", payload="p") == Money("0", "CNY")
    assert yuan_or_zero("12.50", field="postage", payload="p") == Money("12.50", "CNY")
    assert yuan_or_zero(1250, field="postage", payload="p") == Money("12.50", "CNY")
    with pytest.raises(ValidationError, match="postage") as info:
        yuan_or_zero("-1", field="postage", payload="order 7")
    assert "order 7" in str(info.value)
    assert "\n" not in str(info.value)


def test_the_discount_beyond_paid_is_never_a_surcharge() -> None:
    lines = [Money("30.00", "CNY"), Money("20.00", "CNY"), Money("5.00", "CNY")]
    assert discount_beyond_paid(lines, Money("50.00", "CNY")) == Money("5.00", "CNY")
    assert discount_beyond_paid(lines, Money("55.00", "CNY")) == Money("0", "CNY")
    assert discount_beyond_paid(lines, Money("60.00", "CNY")) == Money("0", "CNY")
    assert discount_beyond_paid([], Money("1.00", "CNY")) == Money("0", "CNY")


@pytest.mark.parametrize(("record_id", "named"), [
    ("5001", "jd order 5001"), (5001, "jd order 5001"),
    ("241120-331122447788990", "jd order 241120-331122447788990"),
    ("张三 13800138000", "jd order (id not shown)"), ("1\n2", "jd order (id not shown)"),
    ("\u202e1005", "jd order (id not shown)"), ("9" * 65, "jd order (id not shown)"),
    ("", "jd order (id not shown)"),
])
def test_a_record_is_named_by_a_plain_id_only(record_id: object, named: str) -> None:
    assert record_name("jd order", record_id) == named
