"""The README's runnable quickstart (its ```python blocks) runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_a_runnable_quickstart() -> None:
    assert _blocks()


@pytest.mark.parametrize("code", _blocks())
def test_readme_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "sandbox" in out
    assert os.path.exists(tmp_path / "aftersales.db")
