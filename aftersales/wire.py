"""Reading what a marketplace wrote: wire models, times, amounts and ids.

Chinese marketplaces (Taobao, Douyin, Pinduoduo, JD) write the same kinds of
values the same few ways: payloads read through tolerant pydantic models,
times as China-time text or epoch numbers, amounts as yuan text or whole fen.
Every adapter reads them here, so each refuses a bad value the same way: a
one-line :class:`~aftersales.errors.ValidationError` naming the payload and
the field, never the value (a wrong-typed field may hold a buyer's name,
phone or address).

The western platforms (Shopify, WooCommerce, Judge.me) write ISO 8601 times
and decimal amounts as text; their wire models declare them with
:data:`WireAmount`, :data:`SignedWireAmount`, :data:`AwareTime` and
:data:`UtcTime`, and build money with :func:`wire_money`, so a float that
lost its value, an exponent, a negative price, a naive or epoch time, or a
cent more than the currency has is refused by name, not stored.
:func:`read_answer` reads a marketplace's *answer* the same way but raises
:class:`~aftersales.errors.ResponseParseError` (an answer that does not
parse may have followed a server-side effect), and :func:`refusing` turns a
core model's refusal while mapping into the library's error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import BaseModel, BeforeValidator

from aftersales.errors import ResponseParseError, ValidationError
from aftersales.logistics.tracking import CHINA_TZ
from aftersales.money import Money, from_fen, minor_units
from aftersales.times import aware

__all__ = [
    "MAX_WIRE_AMOUNT",
    "MAX_WIRE_ID",
    "AwareTime",
    "SignedWireAmount",
    "SignedWireCount",
    "UtcTime",
    "WireAmount",
    "WireCount",
    "WireId",
    "WireIntId",
    "china_text",
    "china_time",
    "discount_beyond_paid",
    "iso_time",
    "number_text",
    "payload_error",
    "plain_id",
    "read_answer",
    "read_payload",
    "record_name",
    "refusing",
    "shown_code",
    "split_items",
    "whole_fen",
    "wire_amount",
    "wire_code",
    "wire_count",
    "wire_id",
    "wire_int",
    "wire_int_id",
    "wire_money",
    "wire_number",
    "yuan_or_fen",
    "yuan_or_zero",
]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _first(exc: pydantic.ValidationError) -> tuple[str, str | None]:
    """The first error of ``exc`` as (text, field path), never with the value."""
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or None
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    text = first["msg"].removeprefix("Value error, ")[:200]
    return f"{text}{more}", where


#: An id that may name a record in an error: ASCII letters, digits and ``- _ . :``.
_PLAIN_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")


def record_name(kind: str, record_id: object) -> str:
    """``"<kind> <id>"``, naming a record as an error's payload.

    The id is shown only when it is a plain one (ASCII letters, digits and
    ``- _ . :``, at most 64 characters): a hostile answer can put a buyer's
    name, phone or address in an id field, and an error text never carries
    personal data; such a record is named ``"<kind> (id not shown)"``.
    """
    text = str(record_id)
    return f"{kind} {text}" if _PLAIN_ID.fullmatch(text) else f"{kind} (id not shown)"


def plain_id(value: object) -> str | None:
    """``value`` as text when it is a plain id (a whole number, or ASCII letters,
    digits and ``- _ . :``, at most 64 characters), else ``None``: what a
    platform answered as an id is stored only when it can be one, never a
    buyer's words or a 100 kB string put in its place."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if _PLAIN_ID.fullmatch(text) else None


def shown_code(value: object) -> str:
    """An unknown code as an error may show it: quoted when it is a plain code
    (ASCII letters, digits and ``- _ . :``, at most 64 characters), so a new
    platform code can be read; otherwise not shown, since a hostile answer can
    put a buyer's words in a code field."""
    text = str(value)
    return repr(text) if _PLAIN_ID.fullmatch(text) else "(a value that is not a plain code)"


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
        text, where = _first(exc)
        raise ValidationError(text, field=where, payload=payload) from None


def payload_error(exc: pydantic.ValidationError, *, payload: str, at: str = "") -> ValidationError:
    """The library's one-line ValidationError for a pydantic one, as :func:`read_payload`
    raises it, for a part of a payload validated on its own (one item of a batch):
    the first offending field's path under ``at`` (``data.accepted.3``), never its value."""
    text, where = _first(exc)
    field = ".".join(part for part in (at, where) if part) or None
    return ValidationError(text, field=field, payload=payload)


def split_items(
    items: Iterable[Any], validate: Callable[[Any], T], *, key: str, payload: str, at: str,
) -> tuple[list[T], dict[str, str], list[str]]:
    """A batch answer's items validated one by one, so one bad item spoils only itself.

    Args:
        items: the answer's list of per-number items.
        validate: reads one item (raises pydantic's ``ValidationError``).
        key: the item's field holding its tracking number.
        payload: the payload's name in errors (``"17track gettrackinfo"``).
        at: the list's path in the answer (``"data.accepted"``).

    Returns:
        The valid items; the one-line error of each malformed item, by its
        number; and the one-line error of each item without a readable number
        (missing, not text, or blank), naming ``at.<index>.<key>``, whether or
        not the rest of it is valid: no asked number owns it.
    """
    kept: list[T] = []
    invalid: dict[str, str] = {}
    unowned: list[str] = []
    for index, item in enumerate(items):
        number = item.get(key) if isinstance(item, dict) else None
        if not isinstance(number, str) or not number.strip():
            unowned.append(str(ValidationError("item has no tracking number",
                                               field=f"{at}.{index}.{key}", payload=payload)))
            continue
        try:
            kept.append(validate(item))
        except pydantic.ValidationError as exc:
            invalid[number] = str(payload_error(exc, payload=payload, at=f"{at}.{index}"))
    return kept, invalid, unowned


def read_answer(model: type[M], data: Any, *, adapter: str, payload: str) -> M:
    """A marketplace's answer read as ``model``, or ``ResponseParseError`` naming the
    payload and the first offending field (never its value), with no chained cause.

    An answer is not the caller's input: one that does not parse may follow a
    server-side effect (a refund paid, then an odd body), so it is a remote
    error of unknown outcome, never a refusal.

    Raises:
        ResponseParseError: ``data`` does not fit ``model``.
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        text, where = _first(exc)
        at = f", field {where!r}" if where else ""
        raise ResponseParseError(f"unexpected {payload}{at}: {text}",
                                 adapter=adapter) from None


@contextmanager
def refusing(*, payload: str) -> Iterator[None]:
    """Turn a core model's refusal inside the block (a naive time, a quantity below one,
    a currency code that is none) into the library's ValidationError naming the
    payload and the field, never the value."""
    try:
        yield
    except pydantic.ValidationError as exc:
        text, where = _first(exc)
        raise ValidationError(text, field=where, payload=payload) from None


#: What a provider's error code looks like: "503", "4004", "-18019902", "isv.missing-param".
_CODE = re.compile(r"[0-9A-Za-z_.:-]{1,64}", re.ASCII)


def wire_code(value: object) -> str | None:
    """A provider's error code as text for an error's ``code`` (and so its message), or
    ``None`` when the value is no code: a flag, an object, a float, a line break,
    markup or 100 kB of text are never copied into an error."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if _CODE.fullmatch(text) else None


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


def number_text(value: Any) -> Any:
    """An optional id or code a platform writes as a number or as text, as text, for
    a wire model's ``mode="before"`` validator: a JSON integer becomes its digits; any
    other value (text, ``None``, a flag) goes on to the field's own check. An integer
    of more than :data:`MAX_WIRE_ID` digits is no id and is refused as such, before
    ``str()`` meets Python's 4,300-digit limit."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    if value.bit_length() > 4 * MAX_WIRE_ID:  # more digits than any id, cheaply
        raise ValueError(f"an id must be at most {MAX_WIRE_ID} characters")
    text = str(value)
    if len(text) > MAX_WIRE_ID:
        raise ValueError(f"an id must be at most {MAX_WIRE_ID} characters")
    return text


#: A required id as text (see :func:`wire_id`), for a wire model field.
WireId = Annotated[str, BeforeValidator(wire_id)]

#: Numeric ids fit a signed 64-bit column; platforms' are far below.
_MOST_ID = 2**63


def wire_int(value: Any, what: str = "a number", *, signed: bool = False) -> int:
    """A whole number as a payload writes it: a JSON integer, or its ASCII digits (after
    one ``-`` when ``signed``), at most 19 of them (a signed 64-bit value).

    Never a flag, a float, an exponent, full-width digits, ``--5`` or 5,000 digits
    (which ``int()`` turned into a bare ``ValueError`` quoting the value). Raises
    ``ValueError`` naming ``what``, never the value, for a pydantic validator.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} must be a whole number")
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if signed and text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
            raise ValueError(f"{what} must be a whole number")
        return int(text)
    number: int = value
    if number < 0 and not signed:
        raise ValueError(f"{what} must not be negative")
    return number


def wire_number(value: Any) -> int | None:
    """An answer's numeric code (``10000``, ``"-1"``, ``"2"``) read by :func:`wire_int`
    (signed), or ``None`` when it is no such number: a status check then treats the
    answer as malformed instead of raising on a hostile code."""
    try:
        return wire_int(value, signed=True)
    except ValueError:
        return None


def wire_int_id(value: Any) -> int:
    """A numeric id (a JSON integer or its digits): positive and below 2**63; a flag,
    a fraction, a negative or an over-long number is refused (it names no record)."""
    number = wire_int(value, "an id", signed=True)
    if not 0 < number < _MOST_ID:
        raise ValueError("an id must be a positive whole number below 2**63")
    return number


def wire_count(value: Any) -> int:
    """A quantity (a JSON integer or its digits), never a flag, a fraction or
    negative, and below a billion."""
    number = wire_int(value, "a quantity", signed=True)
    if not 0 <= number < 10**9:
        raise ValueError("a quantity must be between 0 and a billion")
    return number


#: A numeric id on the wire (see :func:`wire_int_id`).
WireIntId = Annotated[int, BeforeValidator(wire_int_id)]
def _signed_count(value: Any) -> int:
    if isinstance(value, str) and value.strip().startswith("-"):
        return -wire_count(value.strip()[1:])
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return -wire_count(-value)
    return wire_count(value)


#: A quantity on the wire (see :func:`wire_count`).
WireCount = Annotated[int, BeforeValidator(wire_count)]
#: A quantity that may be negative on the wire (WooCommerce's refund lines).
SignedWireCount = Annotated[int, BeforeValidator(_signed_count)]


#: A wire time as text: China time, to the second, optionally with a fraction
#: and an explicit offset (``Z``, ``+08:00``, ``+0800``), which is then honoured.
_TEXT_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:(Z)|([+-])(\d{2}):?(\d{2}))?", re.ASCII)
#: Times outside these bounds are no after-sales time (0, a year 5138, …).
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def china_time(value: Any, *, field: str, payload: str, epoch: bool = True,
               years: tuple[int, int] = (2000, 2100)) -> datetime:
    """A wire time (epoch seconds or milliseconds, or China-time text) as aware UTC.

    Epoch numbers (a JSON integer or ASCII digits) above ``10**11`` are
    milliseconds; text without an offset is China time (+08:00, no DST).
    Without ``epoch`` only the text is a time (Taobao's TOP writes every time
    as ``yyyy-MM-dd HH:mm:ss``; a number there is a wrong field, not a time).
    Digits are ASCII only: full-width or Arabic-Indic digits are refused.
    ``years`` bounds the instant (UTC, first year included, last not): an
    epoch 0, a millisecond count read as seconds or a year 9999 is no
    after-sales time. Taobao's gateway documents 2000-01-01 00:00:00 China
    time in its own examples, so it is read with wider bounds.

    Raises:
        ValidationError: empty, in no such form, or outside ``years`` (names
            field and payload, never the value).
    """
    forms = ("not a 'yyyy-MM-dd HH:mm:ss' time or epoch seconds/milliseconds" if epoch
             else "not a 'yyyy-MM-dd HH:mm:ss' time")

    def bad(why: str) -> ValidationError:
        return ValidationError(why, field=field, payload=payload)

    if isinstance(value, bool) or not isinstance(value, str | int):
        raise bad(forms)
    text = str(value).strip()
    if epoch and text.isascii() and text.isdigit() and len(text) <= 13:  # to 2286 in ms
        number = int(text)
        moment = _EPOCH + (timedelta(milliseconds=number) if number > 10**11
                           else timedelta(seconds=number))
    else:
        match = _TEXT_TIME.fullmatch(text)
        if match is None:
            raise bad(forms)
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
    first, last = years
    if not datetime(first, 1, 1, tzinfo=UTC) <= moment < datetime(last, 1, 1, tzinfo=UTC):
        raise bad(f"a time outside {first}–{last}")
    return moment.astimezone(UTC)


def china_text(moment: datetime, *, field: str = "time") -> str:
    """``moment`` as ``yyyy-MM-dd HH:mm:ss`` China time, as Taobao's and JD's gateways
    read a time (a listing window's ends, a request's ``timestamp``).

    Raises:
        ValidationError: ``moment`` is naive (it would be read in the machine's
            zone), not a datetime, or before year 1000 or after 9999 in China
            time (no four-digit year to write); names ``field``.
    """
    try:
        local = aware(moment, field).astimezone(CHINA_TZ)
    except OverflowError:
        local = None
    if local is None or local.year < 1000:
        raise ValidationError("a time with no four-digit year in China time", field=field)
    return local.strftime("%Y-%m-%d %H:%M:%S")


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


def yuan_or_zero(value: object, *, field: str, payload: str, currency: str = "CNY",
                 decimal_numbers: bool = False) -> Money:
    """An order amount read by :func:`yuan_or_fen`, with no amount (``None``, empty
    text) as zero: order payloads leave a price, postage or paid total out, or
    empty, when there is none.

    Raises:
        ValidationError: as :func:`yuan_or_fen` (names field and payload).
    """
    found = yuan_or_fen(value, field=field, payload=payload, currency=currency,
                        decimal_numbers=decimal_numbers)
    return found if found is not None else Money.zero(currency)


def discount_beyond_paid(charged: Iterable[Money], paid: Money) -> Money:
    """The order-level discount of an order whose payload gives only what the buyer
    paid: what its lines and postage (``charged``) add up to beyond ``paid``, and
    none when they add up to no more (a platform's own rounding is never a
    surcharge)."""
    gross = sum(charged, Money.zero(paid.currency))
    return gross - paid if gross > paid else Money.zero(paid.currency)


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
    # a whole number of fen, read and bounded as a JSON integer is
    return yuan_or_fen(int(fen), field=field, payload=payload, currency=currency)


#: No after-sales amount reaches this in any currency (a trillion units).
MAX_WIRE_AMOUNT = Decimal(10) ** 12


def wire_amount(value: Any, *, signed: bool = False, numbers: bool = True,
                places: int | None = None) -> Decimal:
    """An amount as a wire model reads it: decimal text (``"19.99"``) or a JSON number.

    A JSON number is read from its shortest text, so ``195.66`` is exactly
    195.66 (Shopify's own sample order writes some amounts as numbers); one
    whose text is no plain decimal (``1e+20``) is refused. Refused too:
    a flag, an exponent, NaN or infinity, text that is not ASCII digits, an
    amount of :data:`MAX_WIRE_AMOUNT` or more, and, unless ``signed``, a
    negative amount. Raises ``ValueError`` for a pydantic validator, which
    :func:`read_payload` / :func:`read_answer` turn into the library's error.

    For a platform that writes every amount as text with a fixed number of
    decimals (Taobao's TOP ``Price``: yuan, two places), ``numbers=False``
    refuses a JSON number with a fraction (a float is no exact amount; a
    JSON integer is still its own digits) and ``places`` refuses text with
    more decimals than that (``"12.305"`` is a mistake, never rounded).
    """
    if isinstance(value, bool):
        raise ValueError("a flag is not an amount")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not numbers:
            raise ValueError("an amount must be decimal text, not a JSON number with a fraction")
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    elif isinstance(value, Decimal):
        text = str(value)
    else:
        raise ValueError("an amount must be decimal text or a number")
    if not _DECIMAL_TEXT.fullmatch(text):
        raise ValueError("not a plain decimal amount")
    if places is not None and len(text.partition(".")[2]) > places:
        raise ValueError(f"an amount with more than {places} decimals")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError("not a plain decimal amount") from None
    if amount < 0 and not signed:
        raise ValueError("a negative amount")
    if abs(amount) >= MAX_WIRE_AMOUNT:
        raise ValueError("an amount beyond any after-sales amount")
    return amount


def _signed_amount(value: Any) -> Decimal:
    return wire_amount(value, signed=True)


#: A non-negative amount on the wire (see :func:`wire_amount`).
WireAmount = Annotated[Decimal, BeforeValidator(wire_amount)]
#: An amount that may be negative on the wire (refund totals, adjustments).
SignedWireAmount = Annotated[Decimal, BeforeValidator(_signed_amount)]


def wire_money(amount: Decimal, currency: Any, *, field: str, payload: str) -> Money:
    """``amount`` in ``currency`` as :class:`Money`, refusing a currency code that is
    none and an amount finer than the currency's minor unit (``0.5`` JPY, ``1.2345``
    KWD): rounding it would pay or book a different sum than the platform wrote.

    Raises:
        ValidationError: names the field and the payload, never the value.
    """
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValidationError("not an ISO 4217 currency code", field=field, payload=payload)
    if amount != amount.quantize(Decimal(1).scaleb(-minor_units(code))):
        raise ValidationError(f"an amount finer than the {code} minor unit", field=field,
                              payload=payload)
    return Money(amount, code)


#: An ISO 8601 date-time: date, ``T`` or a space, time to the second (fraction
#: optional), then ``Z`` or ``±hh:mm`` / ``±hhmm``, or nothing.
_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([zZ])|([+-])(\d{2}):?(\d{2}))?", re.ASCII)


def iso_time(value: Any, *, naive: tzinfo | None = None) -> datetime:
    """An ISO 8601 wire time as aware UTC, between 2000 and 2100.

    A time without an offset is refused, unless ``naive`` names the zone the
    platform writes such times in (WooCommerce's ``*_gmt`` fields are UTC).
    Epoch numbers, dates without a time, other spellings and impossible
    offsets are refused: a platform that writes ISO text never means them.
    An aware ``datetime`` (a model built in code) is taken as it is, within
    the same bounds. Raises ``ValueError`` for a pydantic validator.
    """
    moment: datetime
    if isinstance(value, datetime):
        moment = value
        if moment.tzinfo is None or moment.utcoffset() is None:
            if naive is None:
                raise ValueError("a time without a UTC offset")
            moment = moment.replace(tzinfo=naive)
    elif isinstance(value, str):
        match = _ISO_TIME.fullmatch(value.strip())
        if match is None:
            raise ValueError("not an ISO 8601 date-time")
        y, mo, d, h, mi, sec, frac, zulu, sign, oh, om = match.groups()
        zone: tzinfo | None = naive
        if zulu:
            zone = UTC
        elif sign:
            offset = timedelta(hours=int(oh), minutes=int(om))
            if offset > timedelta(hours=14) or int(om) >= 60:
                raise ValueError("a time with an impossible UTC offset")
            zone = timezone(-offset if sign == "-" else offset)
        if zone is None:
            raise ValueError("a time without a UTC offset")
        try:
            moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec),
                              int((frac or "0")[:6].ljust(6, "0")), tzinfo=zone)
        except ValueError:
            raise ValueError("not a calendar time") from None
    else:
        raise ValueError("a time must be ISO 8601 text")
    if not _EARLIEST <= moment < _LATEST:
        raise ValueError("a time outside 2000–2100")
    return moment.astimezone(UTC)


def _utc_time(value: Any) -> datetime:
    return iso_time(value, naive=UTC)


#: An ISO 8601 time that must carry its offset (Shopify, Judge.me).
AwareTime = Annotated[datetime, BeforeValidator(iso_time)]
#: An ISO 8601 time whose offset may be left out, meaning UTC (WooCommerce ``*_gmt``).
UtcTime = Annotated[datetime, BeforeValidator(_utc_time)]
