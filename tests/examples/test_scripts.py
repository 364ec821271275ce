"""The example scripts for a scheduled job and a bulk script run as documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_scheduled_job_runs_every_tick(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    results = _load("scheduled_job").main(sqlite_url)
    assert {"sync", "followups", "tracking", "reviews", "return_timers"} <= set(results)
    assert not any(str(r).startswith("error") for r in results.values())
    assert "followups:" in capsys.readouterr().out


def test_the_bulk_script_applies_each_row_once(sqlite_url: str) -> None:
    first, second = _load("bulk_returns").main(sqlite_url)
    assert first.ok > 0
    assert first.errors == 1
    assert second.ok == 0
    assert second.skipped == first.ok
    assert second.errors == 1
