"""Reading what a marketplace wrote: wire models, China times and yuan/fen amounts.

Chinese marketplaces (Taobao, Douyin, Pinduoduo, JD) write the same kinds of
values the same few ways: payloads read through tolerant pydantic models,
times as China-time text or epoch numbers, amounts as yuan text or whole fen.
Every adapter reads them here, so each refuses a bad value the same way: a
one-line :class:`~aftersales.errors.ValidationError` naming the payload and
the field, never the value (a wrong-typed field may hold a buyer's name,
phone or address).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel

from aftersales.errors import ValidationError
from aftersales.logistics.tracking import CHINA_TZ
from aftersales.money import Money, from_fen

__all__ = ["MAX_WIRE_ID", "china_time", "read_payload", "whole_fen", "wire_id", "yuan_or_fen"]

M = TypeVar("M", bound=BaseModel)


def read_payload(model: type[M], data: Any, *, payload: str) -> M:
    """``data`` read as ``model``, or the library's ValidationError naming the payload and
    the first offending field (its path, never its value: it may be a buyer's words).

    Raises:
        ValidationError: ``data`` does not fit ``model`` (a required field missing or
            null, a field of the wrong type, a value its validator refused).
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        text = first["msg"].removeprefix("Value error, ")
        raise ValidationError(f"{text}{more}", field=where, payload=payload) from None


#: The longest id a marketplace payload may carry (their ids are at most ~20 digits).
MAX_WIRE_ID = 64


def wire_id(value: Any) -> Any:
    """A required id as text, for a wire model's ``mode="before"`` validator: a number
    becomes its digits; an empty, over-long or control-character id is refused (it would
    name no record, or a wrong one)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("an id must not be empty")
        if len(text) > MAX_WIRE_ID or not text.isprintable():
            raise ValueError(f"an id must be at most {MAX_WIRE_ID} printable characters")
        return text
    raise ValueError("an id must be a string or a whole number")


#: A wire time as text: China time, to the second, optionally with a fraction
#: and an explicit offset (``Z``, ``+08:00``, ``+0800``), which is then honoured.
_TEXT_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:(Z)|([+-])(\d{2}):?(\d{2}))?", re.ASCII)
#: Times outside these bounds are no after-sales time (0, a year 5138, …).
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def china_time(value: Any, *, field: str, payload: str) -> datetime:
    """A wire time (epoch seconds or milliseconds, or China-time text) as aware UTC.

    Epoch numbers (a JSON integer or ASCII digits) above ``10**11`` are
    milliseconds; text without an offset is China time (+08:00, no DST).

    Raises:
        ValidationError: empty, in no such form, or outside 2000–2100 (names
            field and payload, never the value).
    """
    def bad(why: str) -> ValidationError:
        return ValidationError(why, field=field, payload=payload)

    if isinstance(value, bool) or not isinstance(value, str | int):
        raise bad("not a 'yyyy-MM-dd HH:mm:ss' time or epoch seconds/milliseconds")
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) <= 13:  # to year 2286 in ms
        number = int(text)
        moment = _EPOCH + (timedelta(milliseconds=number) if number > 10**11
                           else timedelta(seconds=number))
    else:
        match = _TEXT_TIME.fullmatch(text)
        if match is None:
            raise bad("not a 'yyyy-MM-dd HH:mm:ss' time or epoch seconds/milliseconds")
        y, mo, d, h, mi, sec, frac, zulu, sign, oh, om = match.groups()
        zone = CHINA_TZ
        if zulu:
            zone = UTC
        elif sign:
            offset = timedelta(hours=int(oh), minutes=int(om))
            if offset > timedelta(hours=14):
                raise bad("a time with an impossible UTC offset")
            zone = timezone(-offset if sign == "-" else offset)
        try:
            moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec),
                              int((frac or "0")[:6].ljust(6, "0")), tzinfo=zone)
        except ValueError:
            raise bad("not a calendar time") from None
    if not _EARLIEST <= moment < _LATEST:
        raise bad("a time outside 2000–2100")
    return moment.astimezone(UTC)


#: An amount as text: ASCII digits, an optional point and fraction (no exponent).
_DECIMAL_TEXT = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
#: No after-sales amount reaches this (10 billion yuan): above it, the payload is wrong.
_MOST = Decimal(10) ** 10


def yuan_or_fen(value: object, *, field: str, payload: str, currency: str = "CNY",
                decimal_numbers: bool = False) -> Money | None:
    """An amount as written on the wire: text in yuan, a JSON integer in fen.

    With ``decimal_numbers``, a JSON number with a fraction is yuan, read from
    its shortest text (``10.5`` is 10.50 yuan: the text a platform that writes
    yuan as JSON numbers wrote for any amount of at most 15 digits); without
    it, such a number is refused (a fen amount is whole; a float is never
    guessed). ``None`` or empty text is no amount.

    Refused, each with the field and payload named (never the value): a
    flag, text that is not plain decimal digits (no exponent, no full-width
    digits, no NaN), a negative amount, a fraction of a fen (so a float that
    lost its exact value), an amount of 10 billion yuan or more.

    Raises:
        ValidationError: the amount is not one of the above.
    """
    def bad(why: str) -> ValidationError:
        return ValidationError(why, field=field, payload=payload)

    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad("a flag is not an amount")
    if isinstance(value, int):
        money = from_fen(value, currency, field=field, payload=payload)
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        money = Money(Decimal(value.strip()), currency)
    elif isinstance(value, float) and not decimal_numbers:
        raise bad("a JSON number with a fraction is not an amount in fen")
    elif isinstance(value, float) and _DECIMAL_TEXT.fullmatch(repr(value)):
        money = Money(Decimal(repr(value)), currency)
    else:
        raise bad("not an amount in yuan")
    if money.amount < 0:
        raise bad("a negative amount")
    if money.amount >= _MOST:
        raise bad("an amount beyond any after-sales amount")
    if money.amount != money.amount.quantize(Decimal("0.01")):
        raise bad("an amount finer than one fen")
    return money


def whole_fen(value: object, *, field: str, payload: str, currency: str = "CNY") -> Money | None:
    """An amount the platform documents in fen, however the JSON spells it.

    A field documented in fen reaches the wire as a JSON integer (``5990``),
    the text of one (``"5990"``) or, from a gateway that types it as a
    double, a whole JSON number (``5990.0``): each is 59.90 yuan. Reading the
    text or the double as yuan would make the amount 100 times too large, so
    none is guessed: a fraction of a fen (``"59.90"``, ``59.9``) is refused.
    ``None`` or empty text is no amount.

    Raises:
        ValidationError: a flag, not plain decimal digits, a fraction of a fen,
            a negative amount or one beyond any after-sales amount (names field
            and payload, never the value).
    """
    def bad(why: str) -> ValidationError:
        return ValidationError(why, field=field, payload=payload)

    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad("a flag is not an amount")
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int | str):
        text = str(value).strip()
    else:
        raise bad("not an amount in fen")
    if not _DECIMAL_TEXT.fullmatch(text) or len(text) > 40:
        raise bad("not an amount in fen")
    fen = Decimal(text)
    if fen != fen.to_integral_value():
        raise bad("an amount in fen with a fraction (is it in yuan?)")
    if fen < 0:
        raise bad("a negative amount")
    money = from_fen(int(fen), currency, field=field, payload=payload)
    if money.amount >= _MOST:
        raise bad("an amount beyond any after-sales amount")
    return money
