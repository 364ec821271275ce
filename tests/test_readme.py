"""The README's Python runs as written, and the files it promises ship.

Every ```python and ```py block runs, in order, in one namespace (a block
may use what an earlier one built), against the sandbox, in a scratch
folder holding the ``examples/`` files the README loads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```(?:python|py)\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_every_python_block_is_found() -> None:
    text = README.read_text(encoding="utf-8")
    fences = re.findall(r"^```(python|py)\s*$", text, re.M)
    assert len(_blocks()) == len(fences) >= 6


@pytest.mark.slow
def test_the_readme_runs_in_order_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, code in enumerate(_blocks()):
        exec(compile(code, f"README.md block {number}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "sandbox" in out
    assert (tmp_path / "aftersales.db").exists()
    assert (tmp_path / "shop.db").exists()


def test_the_files_the_readme_names_ship_in_examples() -> None:
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"examples/[\w.-]+\.(?:toml|py)", text))
    assert {"examples/policy.toml", "examples/plans.toml", "examples/shop-words.toml"} <= named
    for name in named:
        assert (ROOT / name).is_file(), name


def test_every_adapter_package_is_typed() -> None:
    packages = [p for p in (ROOT / "adapters").iterdir() if (p / "__init__.py").exists()]
    assert packages
    assert all((p / "py.typed").exists() for p in packages), packages
    assert (ROOT / "aftersales" / "py.typed").exists()


def test_license_and_changelog() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_shell_completion_as_the_readme_says() -> None:
    assert "_AFTERSALES_COMPLETE=bash_source aftersales" in README.read_text(encoding="utf-8")
    command = Path(sys.executable).with_name("aftersales")
    proc = subprocess.run([str(command)], capture_output=True, text=True,
                          env={**os.environ, "_AFTERSALES_COMPLETE": "bash_source"},
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "complete" in proc.stdout
