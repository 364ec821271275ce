"""Bulk rows: the CSV layout, streaming reads, per-row validation and per-row keys (no I/O
beyond reading the file).

The CSV has a header. Cells are separated by commas, or by semicolons or
tabs when the header has no comma (a spreadsheet's CSV in a locale whose list
separator is ``;``, or its tab-separated text), or as a first line ``sep=;``
names them (as Excel writes and reads it). A workbook (.xlsx, .xls) or a
UTF-16 file is refused by name. Columns (any order; all but
``action`` optional in the header): ``action`` (create, approve, reject,
receive, refund, close, cancel), ``rma_id``, ``marketplace``, ``order_id``,
``sku``, ``quantity``, ``kind``, ``reason``, ``amount``, ``currency``,
``note``, ``idempotency_key``. A blank column name (an empty column a
spreadsheet saved) is allowed; a value under one fails its row. The file is
UTF-8 (a BOM is allowed; UTF-16 is refused by name). A row of empty cells is
skipped as a blank line is. Quotes are read strictly: a cell in quotes must
end with its quote, and one left open fails its row, naming its lines,
instead of taking the rows after it as its text.

Every row gets a key that does not depend on the file: its
``idempotency_key`` when given (hashed whole when longer than 190
characters, never cut), else a hash of what the row does (the note
left out), except for a refund row, whose key is its request's alone
(``refund`` and the ``rma_id``): whatever its amount, a refund row without a
key is the request's one bulk refund, so an amount edited between two runs
of a file is refused, not paid again (:mod:`~aftersales.returns.bulk_refunds`).
The key is stored with the row's effect in one transaction, so a
re-run, or a run after a crash, applies each row once. Two identical rows
are one operation: give them distinct ``idempotency_key`` values to mean two.
A key applied before to another action or request fails the row (the bulk
run checks the stored key's action and request).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple, TypeVar

from aftersales.errors import ValidationError
from aftersales.models import ReturnKind, ReturnReason
from aftersales.money import Money
from aftersales.store.keys import stored_key

E = TypeVar("E", ReturnKind, ReturnReason)

__all__ = [
    "ACTIONS",
    "COLUMNS",
    "BadRow",
    "BulkFileError",
    "BulkRow",
    "CsvSource",
    "parse_row",
]

COLUMNS = ("action", "rma_id", "marketplace", "order_id", "sku", "quantity", "kind", "reason",
           "amount", "currency", "note", "idempotency_key")
ACTIONS = ("create", "approve", "reject", "receive", "refund", "close", "cancel")
_NEEDS = {
    "create": ("marketplace", "order_id", "sku", "quantity", "kind", "reason"),
    **{a: ("rma_id",) for a in ACTIONS if a != "create"},
}


_TYPED = frozenset({"quantity", "kind", "reason", "amount", "currency"})
#: Cells that name something (and are echoed in errors): one line of printable text.
_ONE_LINE = ("rma_id", "marketplace", "order_id", "sku")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class BulkFileError(ValidationError):
    """The file itself cannot be used: missing, unreadable, no header, unknown columns."""


class BulkRow(NamedTuple):
    """One valid row, ready to apply."""

    number: int
    action: str
    key: str
    rma_id: str | None = None
    marketplace: str | None = None
    order_id: str | None = None
    sku: str | None = None
    quantity: int | None = None
    kind: ReturnKind | None = None
    reason: ReturnReason | None = None
    amount: Decimal | None = None
    currency: str | None = None
    note: str | None = None
    #: The line of the file the row starts on (the header is line 1), when read from one.
    line: int | None = None

    @property
    def keyed(self) -> bool:
        """The row gave an ``idempotency_key`` of its own."""
        return self.key.startswith("k:")

    def money(self, default_currency: str | None) -> Money | None:
        """The row's amount as Money, in its currency or the request's (``default_currency``).

        Raises:
            ValidationError: no currency at all, or one other than the request's
                (named as the ``currency`` cell of this row).
        """
        if self.amount is None:
            return None
        if self.currency and default_currency and self.currency != default_currency.upper():
            raise ValidationError(f"the order is in {default_currency}, not {self.currency}",
                                  field="currency", row=self.number)
        cur = self.currency or default_currency
        if not cur:
            raise ValidationError("give a currency with the amount", field="currency",
                                  row=self.number)
        return Money(self.amount, cur)


class BadRow(NamedTuple):
    """A row that cannot be applied, with the reason in words."""

    number: int
    action: str
    rma_id: str | None
    error: str
    #: The line of the file the row starts on (the header is line 1), when read from one.
    line: int | None = None


def _shown(text: str | None) -> str:
    """Text safe to print and write back: undecodable bytes become U+FFFD."""
    return (text or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _clean(record: Mapping[str, str | None]) -> dict[str, str]:
    """The row's non-empty values, stripped (empty cells are simply absent)."""
    out = {}
    for k, v in record.items():
        if k and v:
            v = v.strip()
            if v:
                out[k] = v
    return out


def parse_row(number: int, record: Mapping[str, str | None]) -> BulkRow | BadRow:
    """Validate one row; a bad one comes back as :class:`BadRow` with the error in words."""
    return _parse(number, _clean(record))


def _parse(number: int, values: dict[str, str]) -> BulkRow | BadRow:
    get = values.get
    action = (get("action") or "").lower()
    try:
        joined = "".join(values.values())
        if not joined.isascii():
            try:  # undecodable bytes arrive as lone surrogates, which cannot be encoded
                joined.encode("utf-8")
            except UnicodeEncodeError:
                raise ValidationError("the text is not UTF-8; save the file as UTF-8",
                                      row=number) from None
        if action not in _NEEDS:
            raise ValidationError(f"unknown action {action or '(empty)'!r}; use one of "
                                  + ", ".join(ACTIONS), field="action", row=number)
        for column in _NEEDS[action]:
            if column not in values:
                raise ValidationError("missing value", field=column, row=number)
        for column in _ONE_LINE:
            if _CONTROL.search(values.get(column, "")):
                # Echoed in errors and reports: a line break would forge output lines.
                raise ValidationError("has a line break or control character", field=column,
                                      row=number)
        quantity = kind = reason = amount = currency = None
        if not values.keys().isdisjoint(_TYPED):  # columns that need parsing
            quantity = _int(get("quantity"), number)
            kind = _enum(ReturnKind, get("kind"), "kind", number)
            reason = _enum(ReturnReason, get("reason"), "reason", number)
            amount = _amount(get("amount"), number)
            currency = get("currency")
            if currency is not None:
                currency = Money(0, currency).currency  # validates the code
    except ValidationError as exc:
        return BadRow(number, _shown(action), _shown(get("rma_id")) or None, str(exc))
    except ValueError:
        return BadRow(number, _shown(action), _shown(get("rma_id")) or None,
                      f"row {number}, field 'currency': not an ISO 4217 currency code")
    rma_id, marketplace, order_id, sku = get("rma_id"), get("marketplace"), get("order_id"), \
        get("sku")
    given = get("idempotency_key")
    if given:
        key = "k:" + stored_key(given, 190)  # a longer key is hashed whole, never cut
    else:
        if action == "refund":
            # The request's one bulk refund, whatever the amount: an edited amount is the
            # same row, refused by bulk_refunds, never a second payment.
            text = "refund\x1f" + (rma_id or "")
        else:
            text = "\x1f".join((
                action, rma_id or "", marketplace or "", order_id or "", sku or "",
                "" if quantity is None else str(quantity), kind or "", reason or "",
                "" if amount is None else format(amount.normalize(), "f"), currency or ""))
        # The request (or order) leads the key: rows of one file land next to each other
        # in the key index instead of at random places, which keeps big runs fast.
        lead = (rma_id or order_id or "")[:60]
        key = f"h:{lead}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"
    return BulkRow(number, action, key, rma_id, marketplace, order_id, sku, quantity, kind,
                   reason, amount, currency, get("note"))


def _int(text: str | None, number: int) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(f"{text!r} is not a whole number", field="quantity",
                              row=number) from None
    if value < 1:
        raise ValidationError("must be at least 1", field="quantity", row=number)
    return value


def _amount(text: str | None, number: int) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{text!r} is not an amount", field="amount", row=number) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError("must be a positive amount", field="amount", row=number)
    if not _PLAIN.fullmatch(text):  # what Decimal reads beyond digits and one point
        raise ValidationError(f"{text[:40]!r} is not a plain amount like 12.50",
                              field="amount", row=number)
    return value


#: An amount as a file writes it: ASCII digits and one point, as the CLI's --amount
#: (Decimal alone also reads '1_000', '1E5', '+5' and non-ASCII digits).
_PLAIN = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)


def _enum(enum: type[E], text: str | None, field: str, number: int) -> E | None:
    if not text:
        return None
    try:
        return enum(text.lower())
    except ValueError:
        options = ", ".join(e.value for e in enum)
        raise ValidationError(f"{text!r} is not one of {options}", field=field,
                              row=number) from None


#: The longest header read: every known column once is about 100 characters.
_HEADER_LIMIT = 65_536
#: The longest data line read (a cell is at most the CSV reader's 128 KiB anyway).
_LINE_LIMIT = 1_048_576
#: Stands in for a line over the limit, which is skipped without being held whole.
_TOO_LONG = "\x00line too long\x00"


class _Lines:
    """The lines of ``text``, each read at most :data:`_LINE_LIMIT` characters at a time.

    ``count``: lines given so far; ``quotes``: quote characters in the lines
    given since the caller last set it to 0 (odd: inside a quoted cell).
    """

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text
        self.count = 0
        self.quotes = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        text = self.text
        line = text.readline(_LINE_LIMIT)
        if not line:
            raise StopIteration
        if len(line) == _LINE_LIMIT and not line.endswith(("\n", "\r")):
            while True:  # skip the rest of the line, a chunk at a time
                rest = text.readline(_LINE_LIMIT)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            line = _TOO_LONG + "\n"
        self.count += 1
        self.quotes += line.count('"')
        return line

    def close_cell(self) -> None:
        """Skip to the end of the quoted cell a record broke off in (the quotes so far are
        odd), so that none of its lines is read as a row of its own."""
        while self.quotes % 2 and next(self, None) is not None:
            pass


#: What a file that is no CSV text starts with, and what it is then.
_NOT_CSV = (
    (b"\xff\xfe", 'UTF-16 text (as a spreadsheet\'s "Unicode text" saves it)'),
    (b"\xfe\xff", 'UTF-16 text (as a spreadsheet\'s "Unicode text" saves it)'),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .ods workbook?), not CSV text"),
    (b"\xd0\xcf\x11\xe0", "an .xls workbook, not CSV text"),
)
#: The first line a spreadsheet may write to name the separator: ``sep=;``.
_SEPARATOR_LINE = re.compile(r"sep=([,;\t|])\r?\n?", re.IGNORECASE)


def _delimiter(header: str) -> str:
    """The file's cell separator, told from its header line: a comma, or else a
    semicolon or a tab when the header has one (the header is all known names,
    none of which holds any of the three)."""
    if "," not in header:
        for other in (";", "\t"):
            if other in header:
                return other
    return ","


class CsvSource:
    """A bulk CSV read as a stream: constant memory however long the file.

    Opening checks the file is usable (it exists, has a header, and every
    column is known) and raises :class:`BulkFileError` otherwise. Iterating
    yields a :class:`BulkRow` or :class:`BadRow` per data row, with the line
    of the file it starts on (blank lines and cells over several lines
    counted); ``position`` and ``size`` (bytes) drive a progress bar.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._raw = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise BulkFileError(f"cannot open {self.path}: {exc.strerror}",
                                payload=str(self.path)) from None
        self.size = self.path.stat().st_size
        start = self._raw.peek(8)[:8]
        for magic, what in _NOT_CSV:
            if start.startswith(magic):
                self.close()
                raise BulkFileError(f"the file is {what}; save it as CSV UTF-8",
                                    payload=str(self.path))
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", errors="surrogateescape",
                                      newline="")
        try:
            first = self._text.readline(_HEADER_LIMIT)
            if len(first) == _HEADER_LIMIT and not first.endswith(("\n", "\r")):
                self.close()
                raise BulkFileError(f"the header row is longer than {_HEADER_LIMIT} characters",
                                    payload=str(self.path))
            if "\x00" in first:
                self.close()
                raise BulkFileError("the header has NUL characters: the file is not UTF-8 text "
                                    "(UTF-16 without its mark?); save it as CSV UTF-8",
                                    payload=str(self.path))
            hint = _SEPARATOR_LINE.fullmatch(first)
            # The line of the file the header is on (after a separator line, the second).
            self._header_line = 2 if hint else 1
            if hint:  # "sep=;": a spreadsheet's line naming the separator
                first = self._text.readline(_HEADER_LIMIT)
            delimiter = hint.group(1) if hint else _delimiter(first)
            header = next(csv.reader([first], delimiter=delimiter), None)
        except csv.Error as exc:
            self.close()
            raise BulkFileError(f"not a CSV file: {exc}", payload=str(self.path)) from None
        if not header or not any(h.strip() for h in header):
            self.close()
            raise BulkFileError("the file has no header row", payload=str(self.path))
        names = [h.strip().lower() for h in header]
        # A blank name is a column a spreadsheet saved empty: read, its cells must be empty.
        unknown = [h for h in names if h and h not in COLUMNS]
        if unknown or "action" not in names:
            self.close()
            shown = [u if len(u) <= 40 else u[:40] + "…" for u in unknown[:5]]
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            detail = (f"unknown column(s): {', '.join(map(repr, shown))}{more}" if unknown
                      else "the header has no 'action' column")
            raise BulkFileError(f"{detail}; known columns: {', '.join(COLUMNS)}",
                                payload=str(self.path))
        twice = sorted({n for n in names if n and names.count(n) > 1})
        if twice:  # which of the two cells a row means cannot be told: refuse the file
            self.close()
            raise BulkFileError(f"column(s) named twice: {', '.join(map(repr, twice))}",
                                payload=str(self.path))
        self._names = names
        # Strict: a quote that does not close where a cell ends fails its row, where the
        # loose reader read on, taking the rows after it as the cell's text, unreported.
        self._lines = _Lines(self._text)
        self._reader = csv.reader(self._lines, delimiter=delimiter, strict=True)

    @property
    def position(self) -> int:
        """Bytes read so far (the reader's buffer runs slightly ahead); 0 from a pipe
        (``<(...)``, ``/dev/stdin``), which has no position, as its ``size`` is 0."""
        try:
            return self._raw.tell()
        except OSError:
            return 0

    def __iter__(self) -> Iterator[BulkRow | BadRow]:
        names = self._names
        width = len(names)
        number = 0
        source = self._lines
        while True:
            line = source.count + self._header_line + 1  # counted from 1
            source.quotes = 0
            try:
                raw = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                if "field limit" in str(exc):
                    # It broke off inside a cell, and reads on from the next line: the
                    # cell's other lines would be rows of their own.
                    source.close_cell()
                end = source.count + self._header_line
                lines = f"line {line}" if end <= line else f"lines {line}-{end}"
                yield BadRow(number, "", None, f"row {number}: unreadable CSV on {lines} ({exc}); "
                             "check the quotes: a cell in quotes must end with its quote",
                             line)
                continue
            if not any(cell.strip() for cell in raw):
                continue  # a blank line, or a row of empty cells a spreadsheet saved, is no row
            number += 1
            if any(_TOO_LONG in cell for cell in raw):  # a line, or a quoted cell's
                yield BadRow(number, "", None,
                             f"row {number}: the line is longer than {_LINE_LIMIT} characters",
                             line)
                continue
            if len(raw) > width:
                yield BadRow(number, "", None, f"row {number}: more values than columns", line)
                continue
            values = {}
            unnamed = 0
            for column, (name, value) in enumerate(zip(names, raw, strict=False), start=1):
                if value:
                    value = value.strip()
                    if value:
                        values[name] = value
                        unnamed = unnamed or (0 if name else column)
            if unnamed:
                yield BadRow(number, _shown(values.get("action")).lower(),
                             _shown(values.get("rma_id")) or None,
                             f"row {number}: a value in column {unnamed}, which has no name "
                             "in the header", line)
                continue
            yield _parse(number, values)._replace(line=line)

    def close(self) -> None:
        """Close the file."""
        self._raw.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
