"""``aftersales kb``: add, search, import, reindex, export and suggest from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from aftersales.cli import main


def _run(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database-url", url, *args])
    return result.exit_code, result.output


def test_import_search_add_export(sqlite_url: str, tmp_path: Path) -> None:
    code, out = _run(sqlite_url, "kb", "import", "--sample")
    assert code == 0
    assert "added" in out
    code, out = _run(sqlite_url, "--json", "kb", "search", "发票", "--limit", "3")
    assert code == 0
    hits = json.loads(out)
    assert hits[0]["key"] == "invoice"
    assert len(hits) <= 3
    code, out = _run(sqlite_url, "kb", "add", "--key", "gift-wrap", "--question",
                     "可以礼品包装吗", "--answer-zh", "可以", "--tag", "gift")
    assert code == 0
    assert "gift-wrap: added" in out
    code, out = _run(sqlite_url, "kb", "search", "礼品包装")
    assert code == 0
    assert "gift-wrap" in out
    code, out = _run(sqlite_url, "kb", "reindex")
    assert code == 0
    assert "0 entries indexed again" in out  # all indexed by today's rules
    code, out = _run(sqlite_url, "kb", "export", str(tmp_path / "kb.csv"))
    assert code == 0
    assert (tmp_path / "kb.csv").read_text(encoding="utf-8").count("gift-wrap") == 1


def test_refusals_are_one_line_with_exit_status_two(sqlite_url: str) -> None:
    for args in (["kb", "import"], ["kb", "import", "x.csv", "--sample"],
                 ["kb", "add", "--key", "Bad Key", "--question", "q", "--answer-zh", "a"],
                 ["kb", "add", "--key", "t", "--question", "q", "--template",
                  "--answer-zh", "{password}"],
                 ["kb", "add", "--key", "k", "--question", "q", "--answer-zh", "a",
                  "--valid-from", "2026-01-01T00:00"],
                 ["kb", "search", "退款", "--limit", "0"],
                 ["kb", "suggest"], ["kb", "suggest", "--review", "12345"],
                 # ids past the database's integers stopped with an OverflowError (exit 1)
                 ["kb", "suggest", "--review", "99999999999999999999"],
                 ["kb", "suggest", "--case", "99999999999999999999"]):
        code, out = _run(sqlite_url, *args)
        assert code == 2, (args, out)
        assert out.count("\n") == 1, (args, out)


def test_a_store_option_naming_no_store_is_exit_2_and_writes_nothing(
        sqlite_url: str, tmp_path: Path) -> None:
    """``--store tyop`` searched and exported the shared entries only and exited 0, as
    if the store had none of its own."""
    assert _run(sqlite_url, "kb", "import", "--sample")[0] == 0
    code, out = _run(sqlite_url, "kb", "add", "--key", "north-gift", "--question",
                     "可以礼品包装吗", "--answer-zh", "可以", "--store", "north")
    assert code == 0, out  # no store configured: the name is the shop's own label
    for args in (["kb", "search", "礼品包装", "--store", "nrth"],
                 ["kb", "export", str(tmp_path / "kb.csv"), "--store", "nrth"]):
        code, out = _run(sqlite_url, *args)
        assert code == 2, (args, out)
        assert out.count("\n") == 1, out
        assert "'--store'" in out
        assert "nrth" in out
    assert not (tmp_path / "kb.csv").exists()
    code, out = _run(sqlite_url, "kb", "search", "礼品包装", "--store", "north")
    assert code == 0
    assert "north-gift" in out
    code, out = _run(sqlite_url, "kb", "export", str(tmp_path / "kb.csv"), "--store", "north")
    assert code == 0, out
