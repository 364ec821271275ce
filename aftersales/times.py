"""Aware datetimes at the library's edge: one check, one error, one choice about UTC.

Every time the library takes from a caller (a ``now``, a ``since``, a
window's ends, a knowledge-base entry's validity) must carry its UTC offset:
a naive ``datetime`` means a different instant on every machine, so it is
refused with a one-line :class:`~aftersales.errors.ValidationError` naming
the argument, never guessed in the machine's zone. "Aware" means
``utcoffset()`` gives an offset: a ``tzinfo`` that answers ``None`` is as
naive as none (``astimezone`` would read it in the machine's zone).

Two functions, because call sites need two things:

- :func:`aware` hands the value back unchanged, its own zone kept, for a
  caller whose value goes on as given (a store query, a zone-aware
  calculation that reads the caller's wall clock).
- :func:`utc` hands it back converted to UTC, for arithmetic and comparisons
  that must not depend on the caller's zone (SLA clocks, report windows,
  listing watermarks). A time so near year 1 or 9999 that its offset carries
  it out of ``datetime``'s range is refused too, where ``astimezone`` raised
  a bare ``OverflowError``.

Both pass ``None`` through, so an optional argument is checked in one line.
:data:`UtcDatetime` is :func:`utc` for a pydantic model field (the field
name then comes from pydantic's error location).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, overload

from pydantic import AfterValidator

from aftersales.errors import ValidationError

__all__ = ["NAIVE", "OUT_OF_RANGE", "UtcDatetime", "aware", "is_aware", "utc", "utc_now"]

#: What a naive time is told (with the field named before it).
NAIVE = "must be timezone-aware (with an offset such as +08:00 or Z)"
#: What a time is told whose offset carries it beyond year 1 or 9999.
OUT_OF_RANGE = "is outside the years 1 to 9999 in UTC"


def utc_now() -> datetime:
    """The current time, aware, in UTC (the clock an adapter or client uses unless given one)."""
    return datetime.now(UTC)


def _problem(value: object) -> str | None:
    """Why ``value`` is no aware datetime, or ``None`` when it is one."""
    if not isinstance(value, datetime):
        # a date, text or a number would fail later as a bare TypeError/AttributeError
        return "must be a datetime"
    try:
        offset = value.utcoffset()
    except (ValueError, TypeError):  # a tzinfo answering 25 hours, or no timedelta
        return NAIVE
    return NAIVE if offset is None else None


def is_aware(value: datetime) -> bool:
    """True when ``value`` gives a UTC offset (for a caller that raises its own error,
    naming a row or a path: see :data:`NAIVE` for the words)."""
    return _problem(value) is None


def _in_utc(value: datetime) -> datetime | None:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return None


@overload
def aware(value: datetime, field: str) -> datetime: ...
@overload
def aware(value: None, field: str) -> None: ...
def aware(value: datetime | None, field: str) -> datetime | None:
    """``value`` unchanged, if it is ``None`` or an aware datetime.

    Args:
        value: the caller's time.
        field: the argument's name, for the error.

    Raises:
        ValidationError: ``value`` is naive (no offset), or not a datetime.
    """
    if value is None:
        return None
    problem = _problem(value)
    if problem:
        raise ValidationError(problem, field=field)
    return value


@overload
def utc(value: datetime, field: str) -> datetime: ...
@overload
def utc(value: None, field: str) -> None: ...
def utc(value: datetime | None, field: str) -> datetime | None:
    """``value`` converted to UTC, if it is ``None`` or an aware datetime.

    Args:
        value: the caller's time.
        field: the argument's name, for the error.

    Raises:
        ValidationError: ``value`` is naive, not a datetime, or so near year 1
            or 9999 that it has no UTC equivalent ``datetime`` can hold.
    """
    if value is None:
        return None
    moment = _in_utc(aware(value, field))
    if moment is None:
        raise ValidationError(OUT_OF_RANGE, field=field)
    return moment


def _model_utc(value: datetime) -> datetime:
    """:func:`utc` for a pydantic validator (a ``ValueError``; pydantic names the field)."""
    problem = _problem(value)
    if problem:
        raise ValueError(problem)
    moment = _in_utc(value)
    if moment is None:
        raise ValueError(OUT_OF_RANGE)
    return moment


#: A model field holding an aware time, stored in UTC (see :func:`utc`).
UtcDatetime = Annotated[datetime, AfterValidator(_model_utc)]
