"""The aftersales command: demo, db upgrade, sync, JSON output and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aftersales.cli import main


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aftersales", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


def test_db_upgrade_reports_in_json(sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "--json", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["upgraded"] == "head"
    assert "return_requests" in data["tables"]


def test_a_bad_database_url_is_one_line_and_no_traceback() -> None:
    proc = _run("--database-url", "nosuchdb://x", "db", "upgrade")
    assert proc.returncode == 2  # unusable configuration
    assert proc.stderr.strip().startswith("error:")
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_sync_without_marketplaces_says_what_to_set(sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "sync"], env={"AFTERSALES_MARKETPLACES": ""})
    assert result.exit_code == 2
    assert "AFTERSALES_MARKETPLACES" in result.output


def test_sync_from_the_sandbox_then_again_changes_nothing(sqlite_url: str) -> None:
    env = {"AFTERSALES_MARKETPLACES": "sandbox"}
    first = CliRunner().invoke(main, ["--database-url", sqlite_url, "--json", "sync"], env=env)
    assert first.exit_code == 0, first.output
    counts = json.loads(first.output)
    assert counts["sandbox"]["orders"] > 0
    again = CliRunner().invoke(main, ["--database-url", sqlite_url, "--json", "sync"], env=env)
    assert again.exit_code == 0, again.output
    assert all(n == 0 for per in json.loads(again.output).values() for n in per.values())


def test_sync_shows_each_pages_progress_on_stderr(sqlite_url: str) -> None:
    """A long first sync is never silent: a line per page of orders and of reviews."""
    env = {"AFTERSALES_MARKETPLACES": "sandbox"}
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "sync"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    orders = [ln for ln in lines if ln.endswith(" orders")]
    reviews = [ln for ln in lines if ln.endswith(" reviews")]
    assert len(orders) >= 2, lines
    assert all(ln.startswith("sync: ") for ln in orders + reviews), lines
    assert reviews, lines
    assert "sync:" not in result.stdout
    quiet = CliRunner().invoke(main, ["--database-url", sqlite_url, "--json", "sync"], env=env)
    assert quiet.exit_code == 0
    assert quiet.stderr == ""


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aftersales", "demo"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "aftersales demo" in proc.stdout
    assert "Synced from the sandbox" in proc.stdout
    assert (tmp_path / "aftersales-demo.db").exists()
