"""``aftersales report``: every section as tables, JSON and CSV; one-line refusals (exit 2)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aftersales.cli import main
from aftersales.reports.service import SECTIONS


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli')}/demo.db"
    result = CliRunner().invoke(main, ["--database-url", url, "demo", "--orders", "80"])
    assert result.exit_code == 0, result.output
    return url


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
    code, out, _ = _invoke(demo_url, "--json", "report", "returns", "--since", "2025-11-01",
                           "--by", "store", "--store", "elsewhere")
    rate = next(t for t in json.loads(out)["tables"] if t["name"] == "return_rate")
    assert rate["rows"] == []


@pytest.mark.parametrize(("args", "named"), [
    (("report", "reviews", "--by", "carrier"), "by"),
    (("report", "returns", "--since", "2026-13-01"), "--since"),
    (("report", "returns", "--until", "2026-03-01T00:00"), "--until"),
    (("report", "logistics", "--since", "2026-03-01", "--until", "2026-02-01"), "until"),
    (("report", "nosuch"), "nosuch"),
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
