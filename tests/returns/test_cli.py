"""The ``aftersales returns`` commands, in-process, on the test app."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.models import Order, ReturnLine, ReturnReason


@pytest.fixture
def cli(synced: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setattr(CliState, "app", property(lambda self: synced))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result

    return run


def test_a_return_through_the_cli(cli: Callable[..., Any], synced: Any,
                                  fresh_order: Callable[..., Order]) -> None:
    order = fresh_order()
    line = order.lines[0]
    req = synced.returns.request(order.marketplace, order.external_id,
                                 [ReturnLine(order_line_id=line.external_id, quantity=1,
                                             reason=ReturnReason.QUALITY_ISSUE)])
    rma = req.rma_id
    listed = json.loads(cli("--json", "returns", "list", "--status", "requested").output)
    assert [r["rma_id"] for r in listed] == [rma]
    assert f"{rma}: would approve" in cli("returns", "approve", rma, "--dry-run").output
    assert synced.returns.get(rma).status.value == "requested"
    assert f"{rma}: approved" in cli("returns", "approve", rma, "--note", "ok").output
    synced.returns.mark_shipped(rma, "SF1234567890123")
    out = cli("returns", "receive", rma, "--inspect", f"{line.external_id}=resellable").output
    assert "received" in out
    assert "would refund" in cli("returns", "refund", rma, "--dry-run").output
    assert "refunded" in cli("returns", "refund", rma, "--amount", "1.00").output
    assert f"{rma}: closed" in cli("returns", "close", rma).output
    shown = json.loads(cli("--json", "returns", "show", rma).output)
    assert [h["to_status"] for h in shown["history"]] == [
        "requested", "approved", "return_shipped", "received", "refunded", "closed"]
    assert "history" in cli("returns", "show", rma).output


def test_refusals_are_one_line_with_status_1(cli: Callable[..., Any], synced: Any,
                                             fresh_order: Callable[..., Order]) -> None:
    order = fresh_order()
    req = synced.returns.request(order.marketplace, order.external_id,
                                 {order.lines[0].external_id: 1}, reason="no_reason")
    failed = cli("returns", "receive", req.rma_id, code=1)
    assert "cannot move from requested to received" in failed.output
    assert "not found" in cli("returns", "approve", "RMA-NOPE", code=2).output
    assert f"{req.rma_id}: rejected" in cli("returns", "reject", req.rma_id, "--reason",
                                            "worn").output
    other = synced.returns.request(order.marketplace, order.external_id,
                                   {order.lines[0].external_id: 1}, reason="no_reason",
                                   force=True)
    assert "cancelled" in cli("returns", "cancel", other.rma_id).output


def test_an_action_in_flight_is_one_line_with_status_1(
        cli: Callable[..., Any], synced: Any, fresh_order: Callable[..., Order]) -> None:
    from aftersales.returns.action_claim import LEASE
    from aftersales.store.tables.returns import ActionClaimRow, ReturnRow

    order = fresh_order()
    req = synced.returns.request(order.marketplace, order.external_id,
                                 {order.lines[0].external_id: 1}, reason="no_reason",
                                 force=True)
    now = synced.now()
    with synced.store.session() as session:  # another process is approving it now
        version = session.get(ReturnRow, req.rma_id).version
        session.add(ActionClaimRow(rma_id=req.rma_id, action="approve", version=version,
                                   state="pushing", token="t", attempts=1, claimed_at=now,
                                   lease_until=now + LEASE))
    for args in (["cancel", req.rma_id], ["close", req.rma_id]):
        failed = cli("returns", *args, code=1)
        lines = [ln for ln in failed.output.splitlines() if ln.strip()]
        assert len(lines) == 1, failed.output
        assert f"return {req.rma_id} has approve in flight" in lines[0]
    assert synced.returns.get(req.rma_id).status.value == "requested"


def test_sync_and_timers(cli: Callable[..., Any], synced: Any) -> None:
    counts = json.loads(cli("--json", "returns", "sync").output)
    assert counts["sandbox"] > 0
    later = (synced.now() + timedelta(days=3)).isoformat()
    report = json.loads(cli("--json", "returns", "timers", "--now", later).output)
    assert report["actions"] + report["failed"] + report["reminders"] > 0
    assert cli("returns", "timers", "--now", "2026-01-09T00:00", code=2)
