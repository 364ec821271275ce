"""CLI conventions and honest exit statuses: cron and scripts can trust what it says."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.cli_support import CliState, clean_text, table
from aftersales.errors import TransientError, UnsupportedOperationError
from aftersales.interfaces import Capability
from aftersales.models import Order, Page
from aftersales.sandbox import SandboxMarketplace


@pytest.fixture
def cli(app: AfterSales, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result

    return run


class _Down(SandboxMarketplace):
    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        raise TransientError("marketplace down", adapter=self.name)


def test_worker_once_exits_1_when_a_tick_raises(cli: Any, app: AfterSales,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("timer table unreachable")

    monkeypatch.setattr(app.returns, "run_timers", boom)
    result = cli("worker", "--once", "--only", "return_timers", "--only", "followups", code=1)
    assert "return_timers: error: RuntimeError: timer table unreachable" in result.output
    assert "1 of 2 ticks failed: return_timers" in result.output
    ok = cli("worker", "--once", "--only", "followups")
    assert "followups" in ok.output


def test_sync_goes_on_past_a_failing_store_and_names_it(sqlite_url: str) -> None:
    stores = [SandboxMarketplace(seed=1, orders=10, name="north"),
              _Down(seed=2, orders=10, name="middle"),
              SandboxMarketplace(seed=3, orders=10, name="south")]
    with AfterSales(sqlite_url, marketplaces=stores, carriers=[]) as app:
        report = app.sync()
        assert set(report.reasons) == {"middle"}
        assert report.failed == 1
        assert "orders: TransientError: [middle] marketplace down" in report.reasons["middle"]
        assert report.counts["north"]["orders"] > 0
        assert report.counts["south"]["orders"] > 0
        assert "returns" in report.counts["middle"]  # its other streams still ran


def test_the_sync_command_exits_1_and_says_which_store_failed(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = AfterSales(sqlite_url, carriers=[], marketplaces=[
        SandboxMarketplace(seed=1, orders=5, name="north"), _Down(seed=2, orders=5, name="down")])
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    result = CliRunner().invoke(main, ["sync", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert "down" in data["reasons"]
    assert data["north"]["orders"] > 0
    plain = CliRunner().invoke(main, ["sync"])
    assert plain.exit_code == 1
    assert "1 store(s) failed" in plain.output
    app.close()


def test_json_is_accepted_after_the_command_and_errors_are_json(cli: Any) -> None:
    for args in (["--json", "returns", "list"], ["returns", "list", "--json"],
                 ["returns", "--json", "list"]):
        assert json.loads(cli(*args).stdout) == []
    failed = cli("returns", "approve", "RMA-NOPE", "--json", code=2)
    error = json.loads(failed.stderr)
    assert error == {"error": "return request RMA-NOPE not found", "type": "error",
                     "exit_code": 2}
    usage = cli("returns", "list", "--limit", "-5", "--json", code=2)
    assert json.loads(usage.stderr)["exit_code"] == 2


def test_version(cli: Any) -> None:
    assert "version" in cli("--version").output


def test_tables_never_cut_ids() -> None:
    long_id = "RMA-8DEC0123456789ABCDEF0123456789"
    out = io.StringIO()
    Console(file=out, width=40).print(table("t", ["rma_id", "note"],
                                            [(long_id, "a long note " * 10)]))
    assert long_id in out.getvalue()


def test_terminal_output_strips_control_characters(cli: Any, app: AfterSales) -> None:
    from tests.returns.conftest import seed_requests

    (rma,) = seed_requests(app, 1)
    app.returns.approve(rma, note="\x1b]0;pwned\x07\x1b[2J[bold]x[/bold]\u202eevil\x9b31m")
    shown = cli("returns", "show", rma).output
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "\u202e" not in shown
    assert "\x9b" not in shown
    assert "[bold]x[/bold]" in shown  # shown as text, not read as markup
    assert clean_text("a\tb\x00c\nd") == "a bc\nd"


def test_dry_runs_say_would(cli: Any, app: AfterSales) -> None:
    from tests.returns.conftest import seed_requests

    (rma,) = seed_requests(app, 1)
    assert f"{rma}: would approve" in cli("returns", "approve", rma, "--dry-run").output
    assert app.returns.get(rma).status.value == "requested"
    assert f"{rma}: would cancel" in cli("returns", "cancel", rma, "--dry-run").output


def test_the_missing_commands_exist_and_messages_name_them(cli: Any, app: AfterSales) -> None:
    from tests.returns.conftest import seed_requests

    for name in ("request", "mark-shipped", "reopen", "ship-exchange"):
        assert cli("returns", name, "--help").exit_code == 0
    (rma,) = seed_requests(app, 1)
    cli("returns", "approve", rma)
    failed = cli("returns", "receive", rma, code=1)
    assert "mark-shipped" in failed.output
    assert "mark_shipped" not in failed.output
    empty = cli("returns", "mark-shipped", rma, " ", code=2)
    assert "tracking number is required" in empty.output
    refused = cli("returns", "reopen", rma, code=1)
    assert "cannot move from approved to requested" in refused.output


def test_an_unexpected_error_never_shows_a_credential_from_the_environment(
        cli: Any, app: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unexpected-error line masked only ``key=value``: a token quoted bare showed."""
    token = "shpat-0a1b2c3d4e5f60718293"
    monkeypatch.setenv("NORTH_SHOP_ACCESS_TOKEN", token)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"login refused for {token}")

    monkeypatch.setattr(app, "sync", boom)
    result = cli("sync", code=1)
    assert "unexpected RuntimeError: login refused for" in result.output
    assert token not in result.output


class _ListsNothing(SandboxMarketplace):
    capabilities = frozenset(SandboxMarketplace.capabilities - {
        Capability.LIST_ORDERS, Capability.LIST_RETURNS, Capability.LIST_REVIEWS})


def test_sync_of_a_store_that_lists_nothing_is_refused_by_name(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked by name, such a store "synced" 0 rows and exited 0, as if all were well."""
    stores = [SandboxMarketplace(seed=1, orders=5, name="north"),
              _ListsNothing(seed=2, orders=5, name="portal")]
    with AfterSales(sqlite_url, marketplaces=stores, carriers=[]) as app:
        with pytest.raises(UnsupportedOperationError, match="portal"):
            app.sync("portal")
        assert app.sync().failed == 0  # unnamed, it is passed over as before
        monkeypatch.setattr(CliState, "app", property(lambda self: app))
        result = CliRunner().invoke(main, ["sync", "--store", "portal"])
        assert result.exit_code == 2, result.output
        assert "--store" in result.output
        assert "nothing to sync" in result.output
