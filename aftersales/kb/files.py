"""Reading and writing knowledge-base files (TOML and CSV), all or nothing.

TOML holds arrays of tables, one per entry::

    [[faq]]
    key = "refund-time"
    question = "退款多久到账？"
    also = ["退款什么时候到", "when will I get my refund"]
    answer_zh = "审核通过后原路退回，一般 1-3 个工作日到账。"
    answer_en = "Refunds go back to the original payment method within 1-3 business days."
    intents = ["refund"]
    tags = ["refund_delay"]
    handoff = false
    # valid_from / valid_until: TOML datetimes with an offset; store = "…" for one store

    [[template]]
    key = "refund-paid"
    question = "Refund paid"
    answer_zh = "您的订单{order_id}已退款{refund_amount}。"

CSV has one row per entry with the columns ``kind, key, store, question,
also, answer_zh, answer_en, intents, tags, valid_from, valid_until,
handoff``; only ``key`` and ``question`` are required; list columns
separate their items with ``|``.

A file that cannot be read, or any entry in it that is wrong, is refused
with one line naming the file, the entry (row number, or TOML table index)
and the field; nothing is written then. Writing goes to a temporary file
renamed into place, so an export is never half-written either.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pydantic

from aftersales.atomic import write_whole
from aftersales.csv_cells import read_cell, safe_cell
from aftersales.errors import ValidationError
from aftersales.kb.models import Entry, EntryKind
from aftersales.tomlfile import MAX_SIZE, read_toml

__all__ = ["COLUMNS", "read_entries", "validate", "write_entries"]

COLUMNS = ("kind", "key", "store", "question", "also", "answer_zh", "answer_en", "intents",
           "tags", "valid_from", "valid_until", "handoff")
_LISTS = ("also", "intents", "tags")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}
#: More entries than this in one file are refused (a knowledge base, not a dump).
MAX_ENTRIES = 20_000


def read_entries(path: str | Path) -> list[Entry]:
    """Every entry of the TOML or CSV file at ``path``, validated.

    Raises:
        ValidationError: the file is unreadable or any entry is wrong (one
            line naming the file, the entry and the field); or two entries
            share a store and key.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".toml":
        items = _toml_items(p)
    elif suffix == ".csv":
        items = _csv_items(p)
    else:
        raise ValidationError(f"cannot read knowledge base {p}: give a .toml or .csv file")
    entries: list[Entry] = []
    seen: dict[tuple[str, str], str] = {}
    for where, data in items:
        entry = validate(data, where=f"{p}: {where}")
        first = seen.setdefault((entry.store, entry.key), where)
        if first != where:
            raise ValidationError(f"{p}: {where}: key {entry.key!r} repeats {first}")
        entries.append(entry)
    return entries


def validate(data: dict[str, Any], *, where: str) -> Entry:
    """``data`` as an :class:`Entry`, or a one-line error naming ``where`` and the field."""
    try:
        return Entry.model_validate(data)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        message = error["msg"].removeprefix("Value error, ")
        raise ValidationError(message, payload=where, field=field) from None


def _toml_items(path: Path) -> list[tuple[str, dict[str, Any]]]:
    data = read_toml(path, what="knowledge base")
    unknown = sorted(set(data) - {"faq", "template"})
    if unknown:
        raise ValidationError(f"{path}: unknown table {unknown[0]!r}; use [[faq]] or [[template]]")
    items: list[tuple[str, dict[str, Any]]] = []
    for kind in ("faq", "template"):
        tables = data.get(kind, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise ValidationError(f"{path}: {kind} must be an array of tables ([[{kind}]])")
        for i, table in enumerate(tables, start=1):
            if "kind" in table and table["kind"] != kind:
                raise ValidationError(f"{path}: [[{kind}]] #{i}: field 'kind' says "
                                      f"{str(table['kind'])[:20]!r}")
            items.append((f"[[{kind}]] #{i}", {**table, "kind": kind}))
    if len(items) > MAX_ENTRIES:
        raise ValidationError(f"{path}: more than {MAX_ENTRIES} entries")
    return items


def _csv_items(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        if path.stat().st_size > MAX_SIZE * 4:
            raise ValidationError(f"cannot read knowledge base {path}: larger than "
                                  f"{MAX_SIZE * 4 // (1024 * 1024)} MiB")
        with path.open(encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ValidationError(f"cannot read knowledge base {path}: no such file") from None
    except UnicodeDecodeError:
        raise ValidationError(f"cannot read knowledge base {path}: not UTF-8; save it as UTF-8") \
            from None
    except OSError as exc:
        raise ValidationError(f"cannot read knowledge base {path}: {exc.strerror}") from None
    if "\x00" in text:
        raise ValidationError(f"cannot read knowledge base {path}: contains NUL bytes")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    number = 1
    try:
        header = next(reader, None)
        if not header:
            raise ValidationError(f"{path}: empty; the first row names the columns")
        header = [h.strip() for h in header]
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise ValidationError(f"{path}: unknown column {unknown[0][:40]!r}; "
                                  f"known: {', '.join(COLUMNS)}")
        missing = [c for c in ("key", "question") if c not in header]
        if missing:
            raise ValidationError(f"{path}: missing column {missing[0]!r}")
        if len(set(header)) != len(header):
            raise ValidationError(f"{path}: a column is named twice")
        items = []
        for number, cells in enumerate(reader, start=2):  # ``number`` read after a csv.Error
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ValidationError(f"{path}: row {number}: {len(cells)} cells, "
                                      f"the header has {len(header)}")
            items.append((f"row {number}", _csv_row(path, number, dict(zip(header, cells,
                                                                           strict=True)))))
            if len(items) > MAX_ENTRIES:
                raise ValidationError(f"{path}: more than {MAX_ENTRIES} entries")
    except csv.Error as exc:
        # The row the reader stopped in: the one after the last it gave (the header's
        # line included), as a spreadsheet numbers rows.
        where = f"row {number + 1}" if header else "the header"
        if "field larger than field limit" in str(exc):
            raise ValidationError(f"{path}: {where}: a cell longer than "
                                  f"{csv.field_size_limit()} characters") from None
        raise ValidationError(f"{path}: {where}: not valid CSV: {exc}") from None
    return items


def _csv_row(path: Path, number: int, row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        value = read_cell(value).strip()  # '=... as the export wrote it reads back as =...
        if name in _LISTS:
            out[name] = [v.strip() for v in value.split("|") if v.strip()]
        elif name == "handoff":
            if value.lower() not in _TRUE | _FALSE:
                raise ValidationError("give true or false", payload=f"{path}: row {number}",
                                      field="handoff")
            out[name] = value.lower() in _TRUE
        elif name in ("valid_from", "valid_until", "store", "kind"):
            if value:
                out[name] = value
        else:
            out[name] = value
    return out


# ---------------------------------------------------------------- writing


def write_entries(path: str | Path, entries: Sequence[Entry]) -> int:
    """Write ``entries`` to ``path`` as TOML or CSV (by its suffix); returns how many.

    The file is written whole to a temporary file beside it and renamed into
    place, so a failure leaves the old file (or none), never half of one.

    Raises:
        ValidationError: the suffix is neither ``.toml`` nor ``.csv``, or the
            folder cannot be written.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".toml":
        text = _toml_text(entries)
    elif suffix == ".csv":
        text = _csv_text(entries)
    else:
        raise ValidationError(f"cannot write knowledge base {p}: give a .toml or .csv file")
    try:
        write_whole(p, text)
    except OSError as exc:
        raise ValidationError(f"cannot write knowledge base {p}: {exc.strerror}") from None
    return len(entries)


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_string(v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return _toml_string(str(value))


def _toml_text(entries: Iterable[Entry]) -> str:
    blocks: list[str] = []
    for entry in entries:
        lines = [f"[[{entry.kind.value}]]"]
        for name, value in entry.model_dump(exclude={"kind"}).items():
            if value in (None, [], "") or (name == "handoff" and not value):
                continue
            lines.append(f"{name} = {_toml_value(value)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _csv_text(entries: Iterable[Entry]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        data = entry.model_dump()
        row = []
        for name in COLUMNS:
            value = data[name]
            if name in _LISTS:
                row.append("|".join(value))
            elif name == "kind":
                row.append(EntryKind(value).value)
            elif name == "handoff":
                row.append("true" if value else "false")
            elif value is None:
                row.append("")
            else:
                row.append(value.isoformat() if hasattr(value, "isoformat") else str(value))
        # A question or answer starting with = + - @ is a formula to a spreadsheet.
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
