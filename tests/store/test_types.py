"""Column types: UTC datetimes stored exactly as SQLAlchemy would, money as exact text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from aftersales.store.types import UTCDateTime

DIALECT = sqlite.dialect()
FAST = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
PLAIN = DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
READ = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)

zones = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
aware = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                     timezones=zones)


@given(aware)
def test_sqlite_text_is_what_sqlalchemy_itself_would_store(value: datetime) -> None:
    assert FAST(value) == PLAIN(value.astimezone(UTC).replace(tzinfo=None))


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.just(UTC)))
def test_utc_times_take_the_short_path_to_the_same_text(value: datetime) -> None:
    assert FAST(value) == PLAIN(value.replace(tzinfo=None))


@given(aware)
def test_a_stored_time_reads_back_as_the_same_instant_in_utc(value: datetime) -> None:
    back = READ(FAST(value))
    assert back == value
    assert back.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        FAST(datetime(2026, 1, 1))


def test_none_stays_none() -> None:
    assert FAST(None) is None
