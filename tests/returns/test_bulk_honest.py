"""Bulk runs that tell the truth: exit statuses, "and N more", safe reports, exact dry runs."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.csv_cells import read_cell, safe_cell
from aftersales.store.tables.returns import ReturnRow


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def runner(app: Any, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    return CliRunner()


def test_error_rows_exit_1_and_the_summary_says_and_n_more(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    ids = seed(2)
    path = tmp_path / "in.csv"
    path.write_text("action,rma_id\n" + "".join(f"approve,{r}\n" for r in ids)
                    + "".join(f"approve,RMA-NOPE-{i}\n" for i in range(25)), encoding="utf-8")
    done = runner.invoke(main, ["returns", "bulk", str(path), "--report",
                                str(tmp_path / "out.csv")])
    assert done.exit_code == 1, done.output
    assert "27 rows: 2 ok, 0 skipped (already done), 25 errors" in done.output
    assert done.output.count("not found") == 20
    assert "and 5 more (all in" in done.output
    again = runner.invoke(main, ["returns", "bulk", str(path), "--json"])
    assert again.exit_code == 1
    assert '"errors": 25' in again.output


def test_a_clean_run_exits_0(runner: CliRunner, seed: Callable[..., list[str]],
                             tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("action,rma_id\n" + "".join(f"approve,{r}\n" for r in seed(3)),
                    encoding="utf-8")
    assert runner.invoke(main, ["returns", "bulk", str(path)]).exit_code == 0


def test_the_report_cannot_be_the_input_and_the_input_survives(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    text = "action,rma_id\n" + "".join(f"approve,{r}\n" for r in seed(3))
    path.write_text(text, encoding="utf-8")
    for report in (str(path), str(tmp_path / "." / "in.csv")):
        refused = runner.invoke(main, ["returns", "bulk", str(path), "--report", report])
        assert refused.exit_code == 2, refused.output
        assert "--report is the input file" in refused.output
    link = tmp_path / "link.csv"
    link.symlink_to(path)
    refused = runner.invoke(main, ["returns", "bulk", str(path), "--report", str(link)])
    assert refused.exit_code == 2
    assert path.read_text(encoding="utf-8") == text
    missing = runner.invoke(main, ["returns", "bulk", str(path), "--report",
                                   str(tmp_path / "no" / "out.csv")])
    assert missing.exit_code == 2
    assert len(missing.output.strip().splitlines()) == 1


@pytest.mark.parametrize("cell", ["=1+1", "+1+cmd|' /C calc'!A0", "-1+1", "-2-3", "@SUM(A1)",
                                  "\tx", "\rx", "-", "--1", "-1,5", "-0x1F", "-inf",
                                  '=HYPERLINK("http://x","y")',
                                  # digits of other scripts are no plain number to a spreadsheet
                                  "-\u0661\u0662", "+\uff11"])
def test_report_cells_are_never_formulas(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell
    assert read_cell(safe_cell(cell)) == cell
    assert safe_cell("RMA-1") == "RMA-1"


@pytest.mark.parametrize("cell", ["-12.50", "+3", "-0.5", "-.5", "-1e3", "12"])
def test_a_plain_number_stays_a_number(cell: str) -> None:
    """A plain number is no formula: left as it is, a column of amounts still sums."""
    assert safe_cell(cell) == cell


def test_a_formula_in_the_input_is_text_in_the_report(
        app: Any, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('action,rma_id,note\napprove,"=HYPERLINK(""http://evil"",""x"")",hi\n'
                    "approve,@cmd,x\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    app.returns.bulk_file(path, report=out)
    cells = [c for row in _rows(out) for c in row.values()]
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), cells
    assert any(c.startswith("'=HYPERLINK") for c in cells)


def test_keys_longer_than_the_column_are_hashed_whole_never_cut(
        app: Any, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    a, b = seed(2)
    prefix = "k" * 300
    path = tmp_path / "in.csv"
    path.write_text(f"action,rma_id,idempotency_key\napprove,{a},{prefix}-1\n"
                    f"approve,{b},{prefix}-2\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = app.returns.bulk_file(path, report=out)
    assert (summary.ok, summary.skipped) == (2, 0)
    assert app.returns.get(b).status.value == "approved"
    again = app.returns.bulk_file(path)
    assert (again.ok, again.skipped) == (0, 2)


def test_a_dry_run_predicts_exactly_what_the_real_run_does(
        app: Any, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    r1, r2, r3, r4 = seed(4)
    path = tmp_path / "in.csv"
    path.write_text(
        "action,rma_id,note,idempotency_key\n"
        f"approve,{r1},,\n"
        f"approve,{r1},again,k-2\n"          # a duplicate under another key
        f"reject,{r1},too late,\n"           # after its approval in this file
        f"cancel,{r2},,\n"
        f"approve,{r2},,\n"                  # a cancelled request cannot be approved
        f"cancel,{r2},,k-3\n"                # nor cancelled twice
        f"reject,{r3},no,\n"
        f"reject,{r3},no,\n"                 # the same row twice
        f"close,{r4},,\n"                    # refused: not refunded
        f"approve,{r4},,\n"
        f"approve,{r4},,k-4\n", encoding="utf-8")
    dry_out, real_out = tmp_path / "dry.csv", tmp_path / "real.csv"
    for batch_size in (1, 3, 500):
        app.returns.bulk_file(path, report=dry_out, dry_run=True, batch_size=batch_size)
        assert [app.returns.get(r).status.value for r in (r1, r2, r3, r4)] == ["requested"] * 4
        dry = [(r["row"], r["outcome"]) for r in _rows(dry_out)]
        assert dry == [(r["row"], r["outcome"]) for r in _rows(dry_out)]
    real = app.returns.bulk_file(path, report=real_out, batch_size=3)
    assert [(r["row"], r["outcome"]) for r in _rows(real_out)] == dry
    assert real.errors > 0
    assert real.ok + real.skipped + real.errors == 11


def test_each_bad_row_names_its_line_in_the_file(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    # Rule: every bad row is named so a person finds it in the file. Before:
    # only the data row's ordinal was given, which a blank line, a cell over
    # two lines or the header row itself put off from the line an editor or
    # spreadsheet shows ("row 2" was on line 5 here).
    ok, other = seed(2)
    path = tmp_path / "in.csv"
    path.write_bytes(("\ufeffaction,rma_id,note\r\n"            # line 1
                      f"approve,{ok},x\r\n"                       # line 2: row 1
                      "\r\n"                                      # line 3: blank
                      f'approve,{other},"two\r\nlines"\r\n'       # lines 4-5: row 2
                      "approve,RMA-NOPE,y\r\n"                    # line 6: row 3
                      "bogus,RMA-X,z\r\n").encode())              # line 7: row 4
    report = tmp_path / "out.csv"
    done = runner.invoke(main, ["returns", "bulk", str(path), "--report", str(report)])
    assert done.exit_code == 1, done.output
    assert "row 3 (line 6): return request RMA-NOPE not found" in done.output
    assert "row 4 (line 7), field 'action': unknown action 'bogus'" in done.output
    assert [(r["row"], r["line"], r["outcome"]) for r in _rows(report)] == [
        ("1", "2", "ok"), ("2", "4", "ok"), ("3", "6", "error"), ("4", "7", "error")]


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_a_file_saved_with_semicolons_or_tabs_is_read(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path,
        delimiter: str) -> None:
    # Rule: a spreadsheet's own CSV is usable. Before: a file saved by a
    # spreadsheet in a locale whose list separator is ";" (or as tab-separated
    # text) was refused as one unknown column 'action;rma_id'.
    ids = seed(2)
    path = tmp_path / "in.csv"
    path.write_text(f"action{delimiter}rma_id{delimiter}note\n"
                    + "".join(f"approve{delimiter}{r}{delimiter}a, b\n" for r in ids),
                    encoding="utf-8")
    done = runner.invoke(main, ["returns", "bulk", str(path)])
    assert done.exit_code == 0, done.output
    assert "2 rows: 2 ok" in done.output


def test_a_database_that_cannot_be_written_stops_the_run_at_the_first_row(
        runner: CliRunner, app: Any, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    # Rule: a failed job says so at once. Before: with the database locked by
    # another process's write transaction (or read-only, or its disk full),
    # every row waited the busy timeout (30 s) and was reported as a bad row,
    # so a file of 10,000 rows took days to say "database is locked" 10,000
    # times. The run now stops at the first row, naming it, with status 1;
    # a re-run goes on where it stopped.
    import sqlite3

    from sqlalchemy import event

    ids = seed(40)
    path = tmp_path / "in.csv"
    path.write_text("action,rma_id,reason\n" + "".join(f"reject,{r},other\n" for r in ids),
                    encoding="utf-8")
    app.store.engine.dispose()
    event.listen(app.store.engine, "connect",
                 lambda conn, _: conn.execute("PRAGMA busy_timeout=50"))
    writer = sqlite3.connect(app.store.engine.url.database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process's write transaction
        done = runner.invoke(main, ["returns", "bulk", str(path)])
    finally:
        writer.rollback()
        writer.close()
    assert done.exit_code == 1, done.output
    assert "row 1 (line 2)" in done.stderr
    assert "database is locked" in done.stderr
    assert "row 2 " not in done.output
    again = runner.invoke(main, ["returns", "bulk", str(path)])
    assert again.exit_code == 0, again.output
    assert "40 rows: 40 ok" in again.output


def test_printed_errors_are_one_line_each_whatever_the_cells_hold(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('action,rma_id\napprove,"RMA-1\n0 rows: 0 ok"\n'
                    + "".join(f"approve,{r}\n" for r in seed(1)), encoding="utf-8")
    done = runner.invoke(main, ["returns", "bulk", str(path)])
    assert done.exit_code == 1, done.output
    assert done.output.splitlines()[1:] == [
        "2 rows: 1 ok, 0 skipped (already done), 1 errors",
        "row 1 (line 2), field 'rma_id': has a line break or control character"]


def test_an_error_text_over_several_lines_is_printed_on_one(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A marketplace's refusal can quote text with line breaks; each error row is one line."""
    from aftersales.errors import AfterSalesError
    from aftersales.returns.bulk import Bulk

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AfterSalesError("refused:\nline two\r\nline three")

    monkeypatch.setattr(Bulk, "_do", refused)
    path = tmp_path / "in.csv"
    path.write_text("action,rma_id\n" + "".join(f"cancel,{r}\n" for r in seed(1)),
                    encoding="utf-8")
    done = runner.invoke(main, ["returns", "bulk", str(path)])
    assert done.exit_code == 1, done.output
    assert done.output.splitlines()[1:] == [
        "1 rows: 0 ok, 0 skipped (already done), 1 errors",
        "row 1 (line 2): refused: line two line three"]


@pytest.mark.parametrize("tail", ["", "approve,{c},\"closed later\"\n"], ids=["to-eof", "mid"])
def test_a_quoted_cell_never_closed_fails_its_row_and_swallows_no_row_silently(
        app: Any, runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path,
        tail: str) -> None:
    """An unclosed quote read the rows after it as the cell's text: the row was applied with
    them in its note, they were not, and the run said "1 rows: 1 ok" and exited 0."""
    a, b, c, d = seed(4)
    path = tmp_path / "in.csv"
    path.write_text(f'action,rma_id,note\napprove,{a},"never closed\napprove,{b},x\n'
                    + tail.format(c=c) + f"approve,{d},y\n" * bool(tail), encoding="utf-8")
    done = runner.invoke(main, ["returns", "bulk", str(path)])
    assert done.exit_code == 1, done.output
    assert f"row 1 (line 2): unreadable CSV on lines 2-{4 if tail else 3}" in done.output
    assert "check the quotes" in done.output
    with app.store.session() as s:
        approved = set(s.scalars(select(ReturnRow.rma_id).where(ReturnRow.status == "approved")))
    assert approved == ({d} if tail else set())  # the row after the broken ones still runs


def test_rows_of_empty_cells_a_spreadsheet_saved_are_blank_lines(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    (a,) = seed(1)
    path = tmp_path / "in.csv"
    path.write_text(f"action,rma_id,note\n,,\napprove,{a},x\n,,\n , ,\n,,\n", encoding="utf-8")
    done = runner.invoke(main, ["returns", "bulk", str(path)])
    assert done.exit_code == 0, done.output
    assert "1 rows: 1 ok" in done.output


@pytest.mark.parametrize(("content", "message"), [
    ("action\trma_id\napprove\tRMA-1\n".encode("utf-16"), "UTF-16"),
    (b"\xfe\xff" + "action,rma_id\n".encode("utf-16-be"), "UTF-16"),
    ("action,rma_id\n".encode("utf-16-le"), "NUL"),
])
def test_a_utf16_file_is_refused_by_name(runner: CliRunner, tmp_path: Path, content: bytes,
                                         message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    done = runner.invoke(main, ["returns", "bulk", str(path)])
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert "save it as CSV UTF-8" in done.output
    assert "\\x00" not in done.output
    assert len(done.output.strip().splitlines()) == 1


def test_a_file_that_cannot_be_opened_says_why(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(main, ["returns", "bulk", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2
    assert "No such file or directory" in missing.output
    folder = runner.invoke(main, ["returns", "bulk", str(tmp_path)])
    assert folder.exit_code == 2
    assert "Is a directory" in folder.output
    stdin = runner.invoke(main, ["returns", "bulk", "-"], input="action,rma_id\n")
    assert stdin.exit_code == 2
    assert "not standard input" in stdin.output


def test_a_pipe_is_read_whole_with_its_progress(
        app: Any, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    """`aftersales returns bulk <(...)` or /dev/stdin: a pipe has no position to tell; the
    progress after the 200th row ended the run with "Illegal seek", half applied."""
    import os
    import threading

    ids = seed(450)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write("action,rma_id\n" + "".join(f"approve,{r}\n" for r in ids))

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[tuple[int, int]] = []
    try:
        summary = app.returns.bulk_file(fifo, batch_size=100,
                                        progress=lambda at, size: seen.append((at, size)))
    finally:
        writer.join(timeout=10)
    assert (summary.ok, summary.errors) == (450, 0)
    assert seen


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("rows", [3, 400])  # refused at the close, or mid-run
def test_a_report_that_cannot_be_written_says_so_and_the_rerun_goes_on(
        runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path, rows: int) -> None:
    """A full disk under --report: one line naming the report and what to do, exit 1; it
    said only "unexpected OSError: [Errno 28] No space left on device"."""
    path = tmp_path / "in.csv"
    path.write_text("action,rma_id\n" + "".join(f"approve,{r}\n" for r in seed(rows)),
                    encoding="utf-8")
    done = runner.invoke(main, ["returns", "bulk", str(path), "--report", "/dev/full",
                                "--batch-size", "50"])
    assert done.exit_code == 1, done.output
    (line,) = [ln for ln in done.output.splitlines() if "error" in ln]
    assert "--report /dev/full: cannot be written (No space left on device)" in line
    assert "run the file again" in line
    again = runner.invoke(main, ["returns", "bulk", str(path), "--report",
                                 str(tmp_path / "out.csv")])
    assert again.exit_code == 0, again.output
    if rows == 3:
        assert "3 rows: 0 ok, 3 skipped" in again.output
    else:  # stopped mid-run: the rerun applies the rest
        assert f"{rows} rows: " in again.output
        assert " 0 ok," not in again.output
        assert " 0 skipped" not in again.output
