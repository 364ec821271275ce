"""Bulk rows: validation of each row, file checks, per-row keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aftersales.errors import ValidationError
from aftersales.models import ReturnKind, ReturnReason
from aftersales.returns.bulk_rows import BadRow, BulkFileError, BulkRow, CsvSource, parse_row


def row(**kw: str) -> dict[str, str]:
    return kw


def test_a_good_create_row() -> None:
    r = parse_row(3, row(action="Create", marketplace="sandbox", order_id="O1", sku="A",
                         quantity="2", kind="return", reason="wrong_size", note=" hi "))
    assert isinstance(r, BulkRow)
    assert (r.number, r.action, r.quantity, r.kind, r.reason, r.note) == (
        3, "create", 2, ReturnKind.RETURN, ReturnReason.WRONG_SIZE, "hi")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (row(action="explode", rma_id="R"), "unknown action 'explode'"),
        (row(action="", rma_id="R"), "unknown action '(empty)'"),
        (row(action="approve"), "field 'rma_id': missing value"),
        (row(action="create", marketplace="m", order_id="o", sku="s", kind="return",
             reason="other"), "field 'quantity': missing value"),
        (row(action="create", marketplace="m", order_id="o", sku="s", quantity="two",
             kind="return", reason="other"), "'two' is not a whole number"),
        (row(action="create", marketplace="m", order_id="o", sku="s", quantity="0",
             kind="return", reason="other"), "at least 1"),
        (row(action="create", marketplace="m", order_id="o", sku="s", quantity="1",
             kind="swap", reason="other"), "'swap' is not one of"),
        (row(action="refund", rma_id="R", amount="12,50"), "'12,50' is not an amount"),
        (row(action="refund", rma_id="R", amount="-3"), "positive amount"),
        (row(action="refund", rma_id="R", amount="NaN"), "positive amount"),
        (row(action="refund", rma_id="R", amount="3", currency="EURO"), "currency"),
        (row(action="approve", rma_id="R\udcff"), "not UTF-8"),
    ],
)
def test_bad_rows_say_what_is_wrong(record: dict[str, str], message: str) -> None:
    r = parse_row(7, record)
    assert isinstance(r, BadRow)
    assert message in r.error
    assert "row 7" in r.error


def test_keys_follow_content_not_position_or_note() -> None:
    a = parse_row(1, row(action="create", marketplace="m", order_id="O", sku="S", quantity="1",
                         kind="return", reason="wrong_size", note="x"))
    b = parse_row(99, row(action="create", marketplace="m", order_id="O", sku="S",
                          quantity="1", kind="return", reason="wrong_size", note="y"))
    c = parse_row(1, row(action="create", marketplace="m", order_id="O", sku="S", quantity="2",
                         kind="return", reason="wrong_size"))
    d = parse_row(1, row(action="refund", rma_id="R", amount="10", idempotency_key="k1"))
    assert isinstance(a, BulkRow)
    assert isinstance(b, BulkRow)
    assert isinstance(c, BulkRow)
    assert isinstance(d, BulkRow)
    assert a.key == b.key
    assert a.key != c.key
    assert d.key == "k:k1"
    assert d.keyed
    assert not a.keyed


def test_a_refund_row_without_a_key_is_keyed_by_its_request_alone() -> None:
    """Whatever its amount, currency, store or note: an edited amount is the same row."""
    a = parse_row(1, row(action="refund", rma_id="R", amount="10.0", note="x"))
    b = parse_row(99, row(action="refund", rma_id="R", amount="11", currency="CNY",
                          marketplace="sandbox"))
    c = parse_row(1, row(action="refund", rma_id="R"))
    other = parse_row(1, row(action="refund", rma_id="R2", amount="10.0"))
    assert isinstance(a, BulkRow)
    assert isinstance(b, BulkRow)
    assert isinstance(c, BulkRow)
    assert isinstance(other, BulkRow)
    assert a.key == b.key == c.key != other.key
    assert a.amount == Decimal("10.0")


def write(tmp_path: Path, content: bytes) -> Path:
    p = tmp_path / "rows.csv"
    p.write_bytes(content)
    return p


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no header"),
        (b"\n\n", "no header"),
        (b"action,rma_id,colour\napprove,R1,red\n", "unknown column(s): 'colour'"),
        (b"rma_id,note\nR1,x\n", "no 'action' column"),
    ],
)
def test_unusable_files_are_refused_up_front(tmp_path: Path, content: bytes,
                                             message: str) -> None:
    with pytest.raises(BulkFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CsvSource(write(tmp_path, content))


def test_a_binary_file_is_refused_with_a_short_message(tmp_path: Path) -> None:
    junk = b"SQLite format 3\x00" + bytes(range(1, 256)) * 40
    with pytest.raises(BulkFileError) as info:
        CsvSource(write(tmp_path, junk))
    assert len(str(info.value)) < 600


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BulkFileError, match="cannot open"):
        CsvSource(tmp_path / "nope.csv")


def test_stream_reports_bad_encoding_and_extra_values_per_row(tmp_path: Path) -> None:
    content = ("\ufeffAction,RMA_ID,note\n"
               "approve,R1,ok\n").encode() + b"approve,R2,\xff\xfe bad\n" + (
               b"approve,R3,a,b\n" b"approve,R4,\xe5\xa5\xbd\n")
    with CsvSource(write(tmp_path, content)) as source:
        items = list(source)
        assert source.position == source.size
    assert [type(i).__name__ for i in items] == ["BulkRow", "BadRow", "BadRow", "BulkRow"]
    assert "not UTF-8" in items[1].error  # type: ignore[union-attr]
    assert "more values than columns" in items[2].error  # type: ignore[union-attr]
    assert items[3].note == "好"  # type: ignore[union-attr]


@pytest.mark.parametrize("cell", ["1_000", "１２", "٣", "1E5", "1e3", "+5", "5.", ".5", "  5 5"])
def test_an_amount_cell_must_be_plain_decimal_text(cell: str) -> None:
    """Python's Decimal reads '1_000', '1E5', full-width and Arabic-Indic digits; a bulk
    file's amount is read as the command line's --amount is: ASCII digits and one point
    (these paid 1000, 100000, 12 and 3 before)."""
    r = parse_row(4, row(action="refund", rma_id="R", amount=cell, currency="CNY"))
    assert isinstance(r, BadRow), cell
    assert "field 'amount'" in r.error
    assert "row 4" in r.error


@pytest.mark.parametrize("column", ["rma_id", "marketplace", "order_id", "sku"])
@pytest.mark.parametrize("cell", ["RMA-1\nall rows ok", "RMA-1\rx", "RMA-\x1b[31m1", "A\u2028B"])
def test_an_id_cell_with_a_line_break_or_control_character_is_refused(
        column: str, cell: str) -> None:
    record = {"action": "create", "rma_id": "RMA-1", "marketplace": "sandbox",
              "order_id": "O-1", "sku": "S-1", "quantity": "1", "kind": "return",
              "reason": "wrong_size", column: cell}
    bad = parse_row(3, record)
    assert isinstance(bad, BadRow)
    assert bad.error == (f"row 3, field {column!r}: has a line break or control character")


def test_blank_header_columns_a_spreadsheet_saved_are_read(tmp_path: Path) -> None:
    """Spreadsheets save formatted but empty columns as blank names (``action,rma_id,,``);
    the file was refused whole. A value under such a column fails its row, naming it."""
    content = b"action,rma_id,,\r\napprove,R1,,\r\napprove,R2,,oops\r\napprove,R3\r\n"
    with CsvSource(write(tmp_path, content)) as source:
        items = list(source)
    assert [type(i).__name__ for i in items] == ["BulkRow", "BadRow", "BulkRow"]
    assert items[1].error == "row 2: a value in column 4, which has no name in the header"
    assert (items[1].line, items[1].rma_id) == (3, "R2")


def test_a_line_too_long_is_its_rows_error_and_never_held_whole(tmp_path: Path) -> None:
    """The stream read a line whole before the CSV reader saw it: one 100 MB line (no
    line break) cost some 190 MB; a file of one endless line, all the memory there is."""
    import tracemalloc

    path = tmp_path / "rows.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("action,rma_id,note\napprove,R1,x\napprove,R2,")
        for _ in range(16):
            f.write("a" * 1_000_000)
        f.write("\napprove,R3,y\n")
    tracemalloc.start()
    try:
        with CsvSource(path) as source:
            items = list(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, peak
    assert [type(i).__name__ for i in items] == ["BulkRow", "BadRow", "BulkRow"]
    assert items[1].error == "row 2: the line is longer than 1048576 characters"
    assert (items[1].line, items[2].line) == (3, 4)


def test_a_currency_other_than_the_requests_names_the_currency_cell() -> None:
    """It was told as "field 'amount': the order is in CNY, not USD", without the row."""
    r = parse_row(5, row(action="refund", rma_id="R", amount="5.00", currency="usd"))
    assert isinstance(r, BulkRow)
    with pytest.raises(ValidationError) as caught:
        r.money("CNY")
    assert str(caught.value) == "row 5, field 'currency': the order is in CNY, not USD"
    assert r.money("USD") is not None


def test_a_cell_over_the_csv_limit_swallows_no_row_into_the_file(tmp_path: Path) -> None:
    """A quoted cell longer than the CSV reader's limit failed its row mid-cell, and the
    reader went on inside the cell: its lines were read as rows of their own."""
    big = "x" * 140_000
    content = (f'action,rma_id,note\napprove,R1,"{big}\napprove,R2,inside the note\n'
               'said ""hi"" and ended"\napprove,R3,after\n'
               f'approve,R4,"{big}",\napprove,R5,after too\n').encode()
    with CsvSource(write(tmp_path, content)) as source:
        items = list(source)
    assert [(type(i).__name__, i.line) for i in items] == [
        ("BadRow", 2), ("BulkRow", 5), ("BadRow", 6), ("BulkRow", 7)]
    assert [i.rma_id for i in items if isinstance(i, BulkRow)] == ["R3", "R5"]
    assert "unreadable CSV on lines 2-4" in items[0].error  # type: ignore[union-attr]
    assert "unreadable CSV on line 6 " in items[2].error  # type: ignore[union-attr]


def test_a_line_too_long_inside_a_quoted_cell_fails_that_row(tmp_path: Path) -> None:
    content = (b'action,rma_id,note\napprove,R1,"start\n' + b"y" * 1_100_000
               + b'\nend"\napprove,R2,x\n')
    with CsvSource(write(tmp_path, content)) as source:
        items = list(source)
    assert [type(i).__name__ for i in items] == ["BadRow", "BulkRow"]
    assert "longer than" in items[0].error  # type: ignore[union-attr]


@pytest.mark.parametrize(("content", "message"), [
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"x" * 200, ".xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, ".xls"),
])
def test_a_workbook_is_refused_by_name(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(BulkFileError) as info:
        CsvSource(write(tmp_path, content))
    assert message in str(info.value)
    assert "save it as CSV UTF-8" in str(info.value)


@pytest.mark.parametrize("hint", ["sep=;\n", "SEP=;\r\n", "\ufeffsep=;\n"])
def test_a_spreadsheets_separator_line_is_read(tmp_path: Path, hint: str) -> None:
    """Excel writes (and reads) a first line "sep=;" naming the separator."""
    content = (hint + "action;rma_id;note\napprove;R1;a,b\n\napprove;R2,x\n").encode()
    with CsvSource(write(tmp_path, content)) as source:
        items = list(source)
    assert [(type(i).__name__, i.line, i.rma_id) for i in items] == [
        ("BulkRow", 3, "R1"), ("BulkRow", 5, "R2,x")]
    assert isinstance(items[0], BulkRow)
    assert items[0].note == "a,b"
