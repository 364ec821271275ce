"""The command under the inputs a shop's cron and an attacker give it.

Each test names the project rule it guards (ARCHITECTURE.md, cli_support's
docstring): exit status 0 all done, 1 completed with failures named in the
output, 2 unusable input or configuration; one line, never a traceback;
``--json`` output that stays one JSON document on every path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.cli import main


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
