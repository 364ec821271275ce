"""``--store NAME`` on the command line, and ``aftersales stores``, with two sandbox stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.store.tables.core import OrderRow

TWO = """
[stores.north]
adapter = "sandbox"
seed = 4
orders = 12

[stores.south]
adapter = "sandbox"
seed = 4
orders = 9
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    config = tmp_path / "aftersales.toml"
    config.write_text(TWO, encoding="utf-8")
    monkeypatch.setenv("AFTERSALES_CONFIG", str(config))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(main, ["--database-url", url, *args])
        assert result.exit_code == code, result.output
        return result

    run.url = url  # type: ignore[attr-defined]
    return run


def _stores_in(url: str) -> set[str]:
    with AfterSales(url, marketplaces=[]) as app, app.store.session() as s:
        return set(s.scalars(select(OrderRow.marketplace)))


def test_sync_one_store(cli: Any) -> None:
    out = json.loads(cli("--json", "sync", "--store", "south").output)
    assert set(out) == {"south"}
    assert out["south"]["orders"] == 9
    assert _stores_in(cli.url) == {"south"}
    both = json.loads(cli("--json", "sync").output)
    assert both["north"]["orders"] == 12
    assert both["south"]["orders"] == 0  # already synced: nothing changed


def test_an_unknown_store_is_a_one_line_usage_error(cli: Any) -> None:
    result = cli("sync", "--store", "n\x1borth", code=2)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1
    assert "no store 'n\\x1borth'; configured: north, south" in lines[0]
    assert "\x1b" not in result.output


def test_stores_lists_each_store_and_the_roll_up(cli: Any) -> None:
    cli("sync")
    data = json.loads(cli("--json", "stores").output)
    assert list(data["stores"]) == ["north", "south"]
    assert {s["kind"] for s in data["stores"].values()} == {"sandbox"}
    assert data["total"]["orders"] == 21 == sum(s["orders"] for s in data["stores"].values())
    assert data["total"]["reviews"] == sum(s["reviews"] for s in data["stores"].values())
    text = cli("stores").output
    assert "north" in text
    assert "south" in text
    assert "2 store(s)" in text


def test_list_by_store_and_by_its_former_name(cli: Any) -> None:
    cli("sync")
    south = json.loads(cli("--json", "returns", "list", "--store", "south").output)
    former = json.loads(cli("--json", "returns", "list", "--marketplace", "south").output)
    assert south == former
    assert south
    assert {r["marketplace"] for r in south} == {"south"}
    reviews = json.loads(cli("--json", "reviews", "sync", "--store", "north").output)
    assert set(reviews) <= {"north"}


def test_schedule_a_follow_up_for_a_store(cli: Any, tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text('[plans.hello]\nchannel = "outbox"\nbody = "Hi"\ndelay = "1h"\n', "utf-8")
    made = json.loads(cli("--json", "followups", "--plans", str(plans), "schedule", "hello",
                          "--buyer", "b1", "--order", "SO00000001", "--store", "north").output)
    assert made["marketplace"] == "north"
