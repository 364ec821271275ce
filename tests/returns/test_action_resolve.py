"""An action whose answer was lost, on a store no sync can read, settled by a person.

The ledger shop lists no returns (as WooCommerce), so no sync ever settles
an unknown outcome, and it refuses a decision taken twice: a lost approval
retried is refused, and the request was held for good. Staff who checked the
marketplace say what happened: marked done (nothing is sent again; the
request moves with an audit row by them) or released (any action may go
again, and is sent once more). Refused by name with no claim, a void claim,
or a live lease. On SQLite and PostgreSQL; the CLI's exit statuses too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.errors import (
    ActionInFlightError,
    InvalidTransitionError,
    TransientError,
    ValidationError,
)
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.returns import action_claim
from aftersales.store.tables.returns import ActionClaimRow, ReturnRow

from .action_shop import ActionShop, LosingShop
from .ledger_shop import NAME
from .test_action_races import prepare

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)


class TimingOutShop(ActionShop):
    """Times out before acting, once per request: the marketplace did nothing."""

    def before_deciding(self, request: ReturnRequest, action: str) -> None:
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS lost (rma TEXT PRIMARY KEY)")
            if db.execute("SELECT 1 FROM lost WHERE rma = ?", (request.rma_id,)).fetchone():
                return
            db.execute("INSERT INTO lost (rma) VALUES (?)", (request.rma_id,))
        raise TransientError("upstream timed out", adapter=NAME)


def _version(app: AfterSales, rma: str) -> int:
    with app.store.session() as session:
        row = session.get(ReturnRow, rma)
        assert row is not None
        return row.version


def _claim(app: AfterSales, rma: str) -> ActionClaimRow | None:
    with app.store.session() as session:
        found = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma))
        if found is not None:
            session.expunge(found)
        return found


def _lose(db_url: str, tmp_path: Path, shop_type: type[ActionShop],
          action: str = "approve") -> tuple[AfterSales, ActionShop, str]:
    """A request on the ledger shop whose ``action`` answer was lost (claim "unknown")."""
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1)
    shop = shop_type(ledger, pause=0)
    app = AfterSales(db_url, marketplaces=[shop], migrate=False, clock=lambda: NOW)
    with pytest.raises(TransientError):
        if action == "approve":
            app.returns.approve(rma, override=True)
        else:
            app.returns.reject(rma, reason="not as described")
    left = _claim(app, rma)
    assert left is not None
    assert (left.action, left.state) == (action, "unknown")
    with pytest.raises(ActionInFlightError, match="answer to it was lost"):
        app.returns.cancel(rma)  # held: no sync can ever settle it on this store
    return app, shop, rma


@pytest.mark.parametrize("then", ["approve", "reject"])
def test_a_released_action_goes_again_and_is_sent_once_more(
        db_url: str, tmp_path: Path, then: str) -> None:
    app, shop, rma = _lose(db_url, tmp_path, TimingOutShop)
    try:
        released = app.returns.release_action(rma, actor="alice", note="not in the console")
        assert released.status is ReturnStatus.REQUESTED
        assert _claim(app, rma) is None
        last = app.returns.history(rma)[-1]
        assert (last.actor, last.reason, last.note) == (
            "alice", "approve released: not done on the marketplace", "not in the console")
        if then == "approve":
            assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
        else:
            assert app.returns.reject(rma, reason="x").status is ReturnStatus.REJECTED
        assert [a for _, a in shop.calls()] == ["approve", then]
        assert shop.decisions() == {rma: then}
        assert _claim(app, rma) is None
    finally:
        app.close()


def test_a_lost_approval_marked_done_moves_the_request_and_sends_nothing(
        db_url: str, tmp_path: Path) -> None:
    app, shop, rma = _lose(db_url, tmp_path, LosingShop)
    try:
        # the shop refuses the same decision twice: a retry can never settle it
        with pytest.raises(ActionInFlightError, match="may have acted already"):
            app.returns.approve(rma, override=True)
        assert len(shop.calls()) == 2
        heard: list[Any] = []
        app.on("return.approved", heard.append)
        done = app.returns.mark_action_done(rma, actor="alice")
        assert [(e.payload["rma_id"], e.payload["status"]) for e in heard] == [(rma, "approved")]
        assert done.status is ReturnStatus.APPROVED
        assert len(shop.calls()) == 2  # nothing sent
        assert _claim(app, rma) is None
        last = app.returns.history(rma)[-1]
        assert (last.actor, last.from_status, last.to_status) == ("alice", "requested",
                                                                   "approved")
        assert last.note is not None
        assert "marked done" in last.note
        with pytest.raises(InvalidTransitionError, match="no action in flight"):
            app.returns.mark_action_done(rma, actor="alice")  # done once, never twice
    finally:
        app.close()


def test_a_refusal_marked_done_needs_its_reason_and_writes_nothing_without_it(
        db_url: str, tmp_path: Path) -> None:
    app, shop, rma = _lose(db_url, tmp_path, LosingShop, "reject")
    try:
        with pytest.raises(ValidationError, match="field 'reason'"):
            app.returns.mark_action_done(rma, actor="alice")
        left = _claim(app, rma)
        assert left is not None
        assert left.state == "unknown"
        done = app.returns.mark_action_done(rma, actor="alice", reason="not as described")
        assert done.status is ReturnStatus.REJECTED
        assert [a for _, a in shop.calls()] == ["reject"]
        last = app.returns.history(rma)[-1]
        assert (last.actor, last.to_status, last.reason) == ("alice", "rejected",
                                                              "not as described")
    finally:
        app.close()


def test_a_receipt_marked_done_records_the_inspection_given(
        db_url: str, tmp_path: Path) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1)
    first = AfterSales(db_url, marketplaces=[ActionShop(ledger, pause=0)], migrate=False)
    try:
        first.returns.approve(rma, override=True)
        first.returns.mark_shipped(rma, "SF1234567890")
    finally:
        first.close()
    shop = LosingShop(ledger, pause=0)
    app = AfterSales(db_url, marketplaces=[shop], migrate=False, clock=lambda: NOW)
    try:
        with pytest.raises(TransientError):
            app.returns.receive(rma)
        restocked: list[Any] = []
        app.on("return.restock", restocked.append)
        done = app.returns.mark_action_done(rma, actor="bob", inspection=["resellable"])
        assert done.status is ReturnStatus.RECEIVED
        assert app.returns.history(rma)[-1].data == {"inspection": {"L1": ["resellable"]}}
        assert [e.payload["quantity"] for e in restocked] == [1]
        assert [a for _, a in shop.calls()] == ["approve", "receive"]
        assert app.returns.history(rma)[-1].actor == "bob"
        assert _claim(app, rma) is None
    finally:
        app.close()


def test_refused_while_the_lease_is_live_with_no_claim_and_with_a_void_one(
        db_url: str, tmp_path: Path) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1)
    shop = ActionShop(ledger, pause=0)
    app = AfterSales(db_url, marketplaces=[shop], migrate=False, clock=lambda: NOW)
    try:
        for settle in (app.returns.mark_action_done, app.returns.release_action):
            with pytest.raises(InvalidTransitionError, match="no action in flight") as info:
                settle(rma)
            assert "\n" not in str(info.value)
        version = _version(app, rma)
        action_claim.take(app.runtime, rma, "approve", version)  # a process sending it now
        for settle in (app.returns.mark_action_done, app.returns.release_action):
            with pytest.raises(ActionInFlightError, match="being sent to the marketplace"):
                settle(rma)
        left = _claim(app, rma)
        assert left is not None
        assert left.state == "pushing"
        assert app.returns.get(rma).status is ReturnStatus.REQUESTED
        with app.store.session() as session:  # the request moved on since: void
            session.execute(update(ActionClaimRow).values(lease_until=None, state="unknown"))
            session.execute(update(ReturnRow).where(ReturnRow.rma_id == rma)
                            .values(version=version + 1))
        for settle in (app.returns.mark_action_done, app.returns.release_action):
            with pytest.raises(InvalidTransitionError, match="moved on since"):
                settle(rma)
        assert shop.calls() == []
    finally:
        app.close()


def test_a_pushed_action_is_not_released(db_url: str, tmp_path: Path) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1)
    now = [NOW]
    app = AfterSales(db_url, marketplaces=[ActionShop(ledger, pause=0)], migrate=False,
                     clock=lambda: now[0])
    try:
        claim = action_claim.take(app.runtime, rma, "approve", _version(app, rma))
        action_claim.answered(app.runtime, claim)  # answered; the local write then failed
        now[0] = NOW + timedelta(minutes=3)  # its lease ran out
        with pytest.raises(InvalidTransitionError, match="answered it, so it was done"):
            app.returns.release_action(rma)
        assert app.returns.mark_action_done(rma).status is ReturnStatus.APPROVED
    finally:
        app.close()


def test_the_cli_settles_by_hand_with_one_line_and_its_exit_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, shop, rma = _lose(f"sqlite:///{tmp_path}/aftersales.db", tmp_path, LosingShop)
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    runner = CliRunner()

    def run(*args: str, code: int) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result.output

    try:
        assert "one of --mark-done or --release" in run("returns", "resolve", rma, code=2)
        run("returns", "resolve", rma, "--mark-done", "--release", code=2)
        run("returns", "resolve", rma, "--release", "--reason", "x", code=2)
        out = run("returns", "resolve", rma, "--mark-done", code=0)
        assert out.strip() == f"{rma}: marked done, approved"
        assert app.returns.history(rma)[-1].actor == "cli"
        out = run("returns", "resolve", rma, "--release", code=1)
        assert "no action in flight" in out
        assert len(out.strip().splitlines()) == 1
        assert len(shop.calls()) == 1
    finally:
        app.close()


def test_an_exchange_shipment_marked_done_needs_its_number_and_records_the_parcel(
        synced: Any, fresh_order: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_exchange_shipping_masked import _received_exchange

    rma = _received_exchange(synced, fresh_order(), "Grace Hopperton")
    sent: list[str] = []

    def shipped_then_lost(request: Any, shipment: Any) -> Any:
        sent.append(shipment.tracking_number)  # recorded there, then the answer is lost
        raise TransientError("sandbox ship_exchange reply timed out", adapter="sandbox")

    monkeypatch.setattr(sandbox, "ship_exchange", shipped_then_lost)
    with pytest.raises(TransientError):
        synced.returns.ship_exchange(rma, "YT1234567890123", carrier="yto")
    with pytest.raises(ValidationError, match="field 'tracking_number'"):
        synced.returns.mark_action_done(rma, actor="carol")
    done = synced.returns.mark_action_done(rma, actor="carol",
                                           tracking_number="YT1234567890123", carrier="yto")
    assert done.status is ReturnStatus.EXCHANGE_SHIPPED
    assert sent == ["YT1234567890123"]  # sent once, never again
    last = synced.returns.history(rma)[-1]
    assert (last.actor, last.to_status) == ("carol", "exchange_shipped")
    assert last.data == {"tracking_number": "YT1234567890123", "carrier": "yto"}
    assert _claim(synced, rma) is None
