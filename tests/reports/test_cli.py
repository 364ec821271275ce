"""``aftersales report``: every section as tables, JSON and CSV; one-line refusals (exit 2)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from aftersales.cli import main
from aftersales.demo import REPORT_FILE
from aftersales.reports.service import SECTIONS


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, str]:
    folder = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{folder}/demo.db"
    here = Path.cwd()
    os.chdir(folder)  # the demo writes its HTML report in the working directory
    try:
        result = CliRunner().invoke(main, ["--database-url", url, "demo", "--orders", "80"])
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return url, folder, result.stdout


@pytest.fixture(scope="module")
def demo_url(demo: tuple[str, Path, str]) -> str:
    return demo[0]


def test_the_demo_ends_by_writing_the_html_report(demo: tuple[str, Path, str]) -> None:
    _, folder, out = demo
    report = folder / REPORT_FILE
    assert str(report) in out.strip().splitlines()[-1]
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count('<figure class="chart"') >= 17


def test_report_html_writes_the_file(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    code, out, _ = _invoke(demo_url, "--json", "report", "html", "-o", str(path), "--lang", "zh",
                           "--since", "2025-11-01", "--until", "2026-01-10")
    assert code == 0
    assert json.loads(out)["written"] == str(path.resolve())
    assert "退货率" in path.read_text(encoding="utf-8")
    code, _, err = _invoke(demo_url, "report", "html", "-o", str(path), "--lang", "fr")
    assert code == 2
    assert "--lang" in err


def _invoke(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--database-url", url, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_prints_tables_json_and_csv(demo_url: str, section: str,
                                                 tmp_path: Path) -> None:
    code, out, _ = _invoke(demo_url, "report", section, "--since", "2025-11-01")
    assert code == 0
    assert " by " in out
    code, out, _ = _invoke(demo_url, "report", section, "--since", "2025-11-01", "--json",
                           "--csv", str(tmp_path))
    assert code == 0
    data = json.loads(out)
    assert data["report"] == section
    assert data["tables"]
    for t in data["tables"]:
        path = tmp_path / f"{section}-{t['name']}.csv"
        assert str(path) in data["csv"]
        with path.open(encoding="utf-8") as stream:
            rows = list(csv.reader(stream))
        assert rows[0] == t["columns"]
        as_text = [["" if r[c] is None else str(r[c]) for c in t["columns"]] for r in t["rows"]]
        assert rows[1:] == as_text


def test_by_store_and_a_store_filter(demo_url: str) -> None:
    code, out, _ = _invoke(demo_url, "--json", "report", "returns", "--since", "2025-11-01",
                           "--by", "store", "--store", "sandbox")
    assert code == 0
    rate = next(t for t in json.loads(out)["tables"] if t["name"] == "return_rate")
    assert [r["key"] for r in rate["rows"]] == ["sandbox"]

    # A misspelt store is a one-line error naming it, not a report of zeros that looks true.
    for args in (("returns", "--by", "store"), ("cases",), ("html", "-o", "out.html")):
        code, out, err = _invoke(demo_url, "report", *args, "--since", "2025-11-01",
                                 "--store", "sandbox", "--store", "elsewhere")
        assert (code, out) == (2, "")
        assert len(err.strip().splitlines()) == 1
        assert "'elsewhere'" in err
        assert "store" in err


@pytest.mark.parametrize(("args", "named"), [
    (("report", "reviews", "--by", "carrier"), "by"),
    (("report", "returns", "--since", "2026-13-01"), "--since"),
    (("report", "returns", "--until", "2026-03-01T00:00"), "--until"),
    (("report", "logistics", "--since", "2026-03-01", "--until", "2026-02-01"), "until"),
    (("report", "nosuch"), "nosuch"),
    (("report", "returns", "--until", "9999-12-31"), "until"),
    (("report", "html", "-o", "out.html", "--until", "0001-01-02"), "until"),
    (("report", "cases", "--since", "0001-01-01", "--by", "all"), "since"),
    (("report", "reviews", "--since", "1900-01-01", "--by", "week"), "since"),
    (("report", "logistics", "--since", "2000-01-01", "--by", "day"), "since"),
    (("report", "returns", "--since", "0001-01-01T03:00+08:00"), "since"),
    (("report", "followups", "--csv", "/dev/null/out"), "--csv"),
])
def test_unusable_input_is_one_line_and_exit_2(demo_url: str, args: tuple[str, ...],
                                               named: str) -> None:
    code, out, err = _invoke(demo_url, *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert named in err
    code, _, err = _invoke(demo_url, "--json", *args)
    assert code == 2
    assert json.loads(err)["exit_code"] == 2
