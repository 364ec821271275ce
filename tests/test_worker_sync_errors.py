"""`aftersales worker` and `aftersales sync` when a store cannot even start.

A store's adapter that raises while it is built (a bug, a value its own
code refuses) stops the command before any work, in one line naming the
store, masked, with status 2: the configuration cannot be used as it is.
It was "unexpected RuntimeError: …" with status 1, naming no store, so a
shop with several could not tell which one to fix.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.cli import main
from aftersales.sandbox import SandboxMarketplace

STORES = """
[stores.north]
adapter = "sandbox"
seed = 1
orders = 3

[stores.south]
adapter = "sandbox"
seed = 2
orders = 3
"""

SECRET = "sk_live_ABCDEF1234567890"


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox adapter raising as it is built, its text quoting a token and an e-mail."""

    @functools.wraps(SandboxMarketplace.__init__)  # its signature: settings= and name=
    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"cannot start: token={SECRET} owner alice.buyer@example.com")

    monkeypatch.setattr(SandboxMarketplace, "__init__", refuse)


def _run(tmp_path: Path, env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, ["--database-url", f"sqlite:///{tmp_path}/w.db", *args],
                              env=env)


@pytest.mark.usefixtures("broken")
@pytest.mark.parametrize("command", [["sync"], ["worker", "--once"], ["worker"]])
def test_a_configured_store_whose_adapter_raises_is_one_line_naming_it(
        tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "aftersales.toml"
    config.write_text(STORES, encoding="utf-8")
    result = _run(tmp_path, {"AFTERSALES_CONFIG": str(config)}, *command)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: stores.north: ")
    assert "RuntimeError" in lines[0]
    assert SECRET not in result.output
    assert "alice.buyer" not in result.output
    assert not (tmp_path / "w.db").exists()  # stopped before the database


@pytest.mark.usefixtures("broken")
@pytest.mark.parametrize("command", [["sync"], ["worker", "--once"]])
def test_a_named_marketplace_whose_adapter_raises_is_one_json_line_naming_it(
        tmp_path: Path, command: list[str]) -> None:
    result = _run(tmp_path, {"AFTERSALES_MARKETPLACES": "sandbox"}, "--json", *command)
    assert result.exit_code == 2, result.output
    error = json.loads(result.stderr)
    assert error["exit_code"] == 2
    assert error["error"].startswith("marketplace 'sandbox': ")
    assert "RuntimeError" in error["error"]
    assert SECRET not in result.output
    assert "alice.buyer" not in result.output


TOKEN = "k7Qz0123456789abcdefXYZ"

SHOPIFY_STORE = """
[stores.north]
adapter = "shopify"
shop = "north-shop"
access_token = { env = "NORTH_SHOPIFY_ACCESS" }
"""


@pytest.fixture
def quoting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Shopify adapter raising as it is built, its text quoting its bare access token."""
    from aftersales_shopify import ShopifyMarketplace

    @functools.wraps(ShopifyMarketplace.__init__)
    def refuse(self: Any, *args: Any, settings: Any = None, **kwargs: Any) -> None:
        raise RuntimeError(f"the shop refused {TOKEN} today")

    monkeypatch.setattr(ShopifyMarketplace, "__init__", refuse)


@pytest.mark.usefixtures("quoting")
@pytest.mark.parametrize("how", ["store", "name"])
def test_an_adapter_failing_to_start_never_shows_its_bare_secret(
        tmp_path: Path, how: str) -> None:
    # A bare value has no key=value to mask it by: only knowing the secret does
    # (the store's from its settings, the variable's name saying nothing).
    if how == "store":
        config = tmp_path / "aftersales.toml"
        config.write_text(SHOPIFY_STORE, encoding="utf-8")
        env = {"AFTERSALES_CONFIG": str(config), "NORTH_SHOPIFY_ACCESS": TOKEN}
    else:
        env = {"AFTERSALES_MARKETPLACES": "shopify", "SHOPIFY_SHOP": "north-shop",
               "SHOPIFY_ACCESS_TOKEN": TOKEN}
    result = _run(tmp_path, env, "worker", "--once", "--log-level", "DEBUG")
    assert result.exit_code == 2, result.output
    assert "the adapter failed to start: RuntimeError: the shop refused *** today" in result.stderr
    assert TOKEN not in result.output


@pytest.mark.parametrize("command", [["sync"], ["worker", "--once"], ["worker"]])
def test_a_database_file_that_cannot_be_created_is_status_2_naming_it(
        command: list[str]) -> None:
    # /proc takes no new file, even from root. Before: "migration failed:
    # unable to open database file", status 1, naming no file.
    result = CliRunner().invoke(main, ["--database-url", "sqlite:////proc/aftersales.db",
                                       *command], env={"AFTERSALES_MARKETPLACES": "sandbox"})
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "error: database url: cannot open or create /proc/aftersales.db: "
        "unable to open database file"]
