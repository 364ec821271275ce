"""A sync counts each failed stream of a store, and every summary names them.

One store whose orders and returns both failed was one failure: ``aftersales
sync`` said "1 store(s) failed" and the worker's sync tick ``failed=1``, as
if one thing had broken. Each stream is synced on its own and fails on its
own, so each is counted and named: in the report, the command's table and
JSON, and the worker's summary line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.errors import TransientError
from aftersales.models import Order, Page, ReturnRequest
from aftersales.sandbox import SandboxMarketplace
from aftersales.scheduler import worker_command


class _TwoDown(SandboxMarketplace):
    """A store whose order and return listings fail; its reviews still list."""

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        raise TransientError("orders API down", adapter=self.name)

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        raise TransientError("returns API down", adapter=self.name)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AfterSales]:
    instance = AfterSales(f"sqlite:///{tmp_path}/s.db", carriers=[], channels=["outbox"],
                          marketplaces=[SandboxMarketplace(seed=1, orders=5, name="north"),
                                        _TwoDown(seed=2, orders=5, name="down")])
    monkeypatch.setattr(CliState, "app", property(lambda self: instance))
    yield instance
    instance.close()


def test_each_failed_stream_is_counted_and_named(app: AfterSales) -> None:
    report = app.sync()
    assert report.failed == 2
    assert set(report.failures) == {"down"}
    assert set(report.failures["down"]) == {"orders", "returns"}
    assert "orders API down" in report.failures["down"]["orders"]
    assert "returns API down" in report.failures["down"]["returns"]
    # the store's one reason names both, as before
    assert report.reasons["down"].startswith("orders: TransientError")
    assert "; returns: TransientError" in report.reasons["down"]
    assert "reviews" in report.counts["down"]  # its third stream still ran
    assert report.counts["north"]["orders"] > 0


def test_the_sync_command_counts_and_names_each_failed_stream(app: AfterSales) -> None:
    result = CliRunner().invoke(main, ["sync", "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert set(data["failures"]["down"]) == {"orders", "returns"}
    plain = CliRunner().invoke(main, ["sync"])
    assert plain.exit_code == 1
    title = " ".join(plain.stdout.split())
    assert "2 stream(s) of 1 store(s) failed: down (orders, returns)" in title
    rows = [" ".join(line.split()) for line in plain.stdout.splitlines() if "API down" in line]
    assert len(rows) == 2
    assert any("down" in r and "orders" in r and "orders API down" in r for r in rows)
    assert any("down" in r and "returns" in r and "returns API down" in r for r in rows)


def test_the_worker_sync_tick_counts_each_failed_stream(app: AfterSales) -> None:
    result = CliRunner().invoke(worker_command, ["--once", "--only", "sync",
                                                 "--log-format", "json"],
                                obj=SimpleNamespace(app=app, as_json=False))
    assert result.exit_code == 1, result.output
    records = [json.loads(line) for line in result.stderr.splitlines()
               if line.startswith("{")]
    tick = next(r for r in records if r.get("event") == "tick" and r["tick"] == "sync")
    assert (tick["outcome"], tick["failed"]) == ("failed", 2)
    assert "orders API down" in tick["error"]
    assert "returns API down" in tick["error"]
    assert "failed=2" in result.stdout
    assert "failures=2" in result.stdout  # each named failure counts, not 0


class _Wordy(SandboxMarketplace):
    """A store whose failures run over several lines (a driver's text, a remote page)."""

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        raise TransientError("gateway said no\nDETAIL: retry later\n  at the edge",
                             adapter=self.name)

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        raise TransientError("returns gateway said no\nsecond line", adapter=self.name)


def test_a_failure_of_several_lines_is_one_line_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: the text was kept with its line breaks: the sync table's row ran
    # over three lines, and so did the JSON's reasons and an area sync's.
    app = AfterSales(f"sqlite:///{tmp_path}/m.db", carriers=[], channels=["outbox"],
                     marketplaces=[_Wordy(seed=2, orders=5, name="wordy")])
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    try:
        report = app.sync()
        texts = [*report.failures["wordy"].values(), *report.reasons.values()]
        assert all("\n" not in t for t in texts), texts
        assert report.failures["wordy"]["orders"].endswith(
            "gateway said no DETAIL: retry later at the edge")
        plain = CliRunner().invoke(main, ["sync"], terminal_width=400)
        assert plain.exit_code == 1
        assert any("gateway said no DETAIL: retry later at the edge" in line
                   for line in plain.stdout.splitlines()), plain.stdout
        area = CliRunner().invoke(main, ["returns", "sync", "--json"])
        assert area.exit_code == 1, area.output
        reason = json.loads(area.stdout)["reasons"]["wordy"]
        assert "\n" not in reason
        assert reason.endswith("returns gateway said no second line")
    finally:
        app.close()


@pytest.mark.parametrize("name", ["reasons", "failures", "undelivered"])
def test_a_store_cannot_take_a_name_the_sync_output_keeps_for_itself(name: str) -> None:
    # `sync --json` is the counts by store beside "reasons" and "failures"
    # (an area sync's, beside "undelivered"): a store of that name had its
    # counts overwritten by the failures of the others.
    from aftersales.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=f"store name '{name}' is reserved"):
        SandboxMarketplace(seed=1, orders=1, name=name)
