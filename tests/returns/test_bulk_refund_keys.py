"""Bulk refund rows without an ``idempotency_key``: a request's one bulk refund, whatever its amount.

A shop that fixes a typo in an amount and runs the file again, or runs it
again after a crash, must never pay twice by accident. A refund row without
a key is keyed by its request alone, so an edited amount fails its row
naming the row, the request and what was refunded before; a request a bulk
row refunded before under any other key (its own ``idempotency_key``, or
an older release's content key) fails it too. Two refunds of one request
through bulk files take an ``idempotency_key`` each. Proven in one process
and with two processes running the same file, or an edited copy, at the
same instant on the shop's shared ledger (:mod:`ledger_shop`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.money import Money
from aftersales.store.tables.returns import BulkKeyRow, RefundRow

from .ledger_shop import LedgerShop, approved_requests, ledger_order


@pytest.fixture
def runner(synced: Any, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(CliState, "app", property(lambda self: synced))
    return CliRunner()


def _refunds(app: Any, rma: str) -> list[tuple[str, Decimal]]:
    with app.store.session() as s:
        return [(k, a) for k, a in s.execute(
            select(RefundRow.idempotency_key, RefundRow.amount)
            .where(RefundRow.rma_id == rma).order_by(RefundRow.id))]


def _file(tmp_path: Path, name: str, rows: str, header: str = "action,rma_id,amount,currency"
          ) -> Path:
    path = tmp_path / name
    path.write_text(header + "\n" + rows, encoding="utf-8")
    return path


def test_the_same_file_run_again_is_already_applied(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], tmp_path: Path) -> None:
    rma = refundable()
    path = _file(tmp_path, "in.csv", f"refund,{rma},5.00,CNY\n")
    assert runner.invoke(main, ["returns", "bulk", str(path)]).exit_code == 0
    again = runner.invoke(main, ["returns", "bulk", str(path)])
    assert again.exit_code == 0, again.output
    assert "1 rows: 0 ok, 1 skipped" in again.output
    assert len(_refunds(synced, rma)) == 1


@pytest.mark.parametrize("crashed", [False, True], ids=["after-run", "after-crash"])
def test_an_edited_amount_run_again_pays_nothing_and_says_why(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], tmp_path: Path,
        crashed: bool) -> None:
    rma, other = refundable(), refundable()
    first = _file(tmp_path, "a.csv", f"refund,{rma},5.00,CNY\nrefund,{other},5.00,CNY\n")
    assert runner.invoke(main, ["returns", "bulk", str(first)]).exit_code == 0
    if crashed:  # paid, but killed before the run recorded its row keys
        with synced.store.session() as s:
            s.execute(delete(BulkKeyRow))
            s.commit()
    edited = _file(tmp_path, "b.csv", f"refund,{rma},6.00,CNY\nrefund,{other},5.0,CNY\n")
    done = runner.invoke(main, ["returns", "bulk", str(edited)])
    assert done.exit_code == 1, done.output
    errors = [ln for ln in done.output.splitlines() if ln.startswith("row 1 ")]
    assert errors == [
        f"row 1 (line 2), field 'idempotency_key': return {rma} already has a refund of "
        "5.00 CNY from a bulk row (this row asks for 6.00 CNY); nothing was paid. A refund "
        "row without an idempotency_key refunds its request once: to refund it again, give "
        "the row an idempotency_key of its own"], done.output
    assert "1 ok" in done.output or "1 skipped" in done.output  # the unchanged row
    assert [a for _, a in _refunds(synced, rma)] == [Decimal("5.00")]
    assert len(_refunds(synced, other)) == 1


def test_a_second_partial_refund_takes_its_own_keys(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], tmp_path: Path) -> None:
    rma = refundable()
    keyed = _file(tmp_path, "keyed.csv", f"refund,{rma},2.00,CNY,first\n"
                  f"refund,{rma},3.00,CNY,second\n",
                  header="action,rma_id,amount,currency,idempotency_key")
    done = runner.invoke(main, ["returns", "bulk", str(keyed)])
    assert done.exit_code == 0, done.output
    assert [a for _, a in _refunds(synced, rma)] == [Decimal("2.00"), Decimal("3.00")]
    # Without a key, a request a bulk row refunded before is refused, not paid again.
    bare = _file(tmp_path, "bare.csv", f"refund,{rma},2.00,CNY\n")
    refused = runner.invoke(main, ["returns", "bulk", str(bare)])
    assert refused.exit_code == 1, refused.output
    assert (f"return {rma} already has a refund of 2.00 CNY from a bulk row (this row asks "
            "for 2.00 CNY); nothing was paid") in refused.output
    assert len(_refunds(synced, rma)) == 2


def test_a_refund_an_older_release_keyed_by_content_is_not_paid_again(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], tmp_path: Path) -> None:
    """A file run by a release that keyed refund rows by their content, run again now:
    unchanged, already applied; edited, refused."""
    rma = refundable()
    synced.returns.refund(rma, amount=Money("5.00", "CNY"),
                          idempotency_key=f"h:{rma}:0123456789abcdef0123456789abcdef")
    edited = _file(tmp_path, "edited.csv", f"refund,{rma},6.00,CNY\n")
    same = _file(tmp_path, "same.csv", f"refund,{rma},5.0,CNY\n")
    for dry in (["--dry-run"], []):
        done = runner.invoke(main, ["returns", "bulk", str(edited), *dry])
        assert done.exit_code == 1, done.output
        assert f"return {rma} already has a refund of 5.00 CNY from a bulk row" in done.output
        again = runner.invoke(main, ["returns", "bulk", str(same), *dry])
        assert again.exit_code == 0, again.output
        assert "1 rows: 0 " in again.output
        assert "1 skipped" in again.output
    assert runner.invoke(main, ["returns", "bulk", str(same)]).exit_code == 0
    assert runner.invoke(main, ["returns", "bulk", str(edited)]).exit_code == 1
    assert len(_refunds(synced, rma)) == 1


def test_refunds_by_hand_do_not_count_and_a_dry_run_predicts_the_refusal(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], tmp_path: Path) -> None:
    rma = refundable()
    synced.returns.refund(rma, amount=Money("1.00", "CNY"))  # not a bulk row's refund
    path = _file(tmp_path, "a.csv", f"refund,{rma},2.00,CNY\n")
    assert runner.invoke(main, ["returns", "bulk", str(path)]).exit_code == 0
    edited = _file(tmp_path, "b.csv", f"refund,{rma},3.00,CNY\n")
    dry = runner.invoke(main, ["returns", "bulk", str(edited), "--dry-run"])
    assert dry.exit_code == 1, dry.output
    assert "already has a refund of 2.00 CNY from a bulk row" in dry.output
    assert [a for _, a in _refunds(synced, rma)] == [Decimal("1.00"), Decimal("2.00")]


def test_two_keyless_rows_of_one_request_in_one_file(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], tmp_path: Path) -> None:
    rma = refundable()
    path = _file(tmp_path, "in.csv", f"refund,{rma},2.00,CNY\nrefund,{rma},2.00,CNY\n"
                 f"refund,{rma},3.00,CNY\n")
    for dry in (["--dry-run"], []):
        done = runner.invoke(main, ["returns", "bulk", str(path), *dry])
        assert done.exit_code == 1, done.output
        assert "3 rows: 1 " in done.output
        assert "ok, 1 skipped (already done), 1 errors" in done.output
        assert (f"row 3 (line 4), field 'idempotency_key': return {rma} already has a refund "
                "of 2.00 CNY from a bulk row") in done.output
    assert [a for _, a in _refunds(synced, rma)] == [Decimal("2.00")]


# ---------------------------------------------------------------- two processes at once

ROWS = 6
LINES = [("L1", 1, "100.00")]


def _run_file(url: str, ledger: str, totals: dict[str, Decimal], path: str, gate: Any,
              out: Any, index: int) -> None:
    """One process: wait at the gate, then run the bulk file."""
    app = AfterSales(url, marketplaces=[LedgerShop(ledger, totals)], migrate=False)
    try:
        seen: list[tuple[str, str]] = []
        gate.wait()
        app.returns.bulk_file(path, batch_size=2,
                              on_outcome=lambda o: seen.append((o.outcome, o.detail)))
        out.put((index, seen))
    except BaseException as exc:
        out.put((index, [("crash", repr(exc))]))
        raise
    finally:
        app.close()


@pytest.mark.slow
@pytest.mark.parametrize("edited", [False, True], ids=["same-file", "edited-copy"])
def test_two_processes_running_the_file_at_once_pay_each_request_once(
        db_url: str, tmp_path: Path, edited: bool) -> None:
    ledger = tmp_path / "ledger.db"
    orders = [ledger_order(f"O-{i}", LINES) for i in range(ROWS)]
    totals = {o.external_id: o.total.amount for o in orders}
    app = AfterSales(db_url, marketplaces=[LedgerShop(ledger, totals)], migrate=False)
    try:
        app.store.create_all()
        rmas = [r for (r,) in approved_requests(app, orders)]
        a = _file(tmp_path, "a.csv", "".join(f"refund,{r},5.00,CNY\n" for r in rmas))
        b = _file(tmp_path, "b.csv", "".join(f"refund,{r},6.00,CNY\n" for r in rmas)) \
            if edited else a
        ctx = multiprocessing.get_context("fork")
        gate, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_run_file, args=(db_url, str(ledger), totals, str(p),
                                                      gate, out, i))
                 for i, p in enumerate((a, b))]
        for p in procs:
            p.start()
        results = dict(out.get(timeout=300) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        outcomes = [o for i in (0, 1) for o, _ in results[i]]
        assert "crash" not in outcomes, results
        payments = LedgerShop(ledger).payments()
        per_order = sorted(o for _, o, _, _ in payments)
        assert per_order == sorted(totals), payments  # each order paid exactly once
        assert outcomes.count("ok") >= ROWS
        allowed = ("already has a refund", "being sent to the marketplace right now",
                   "already applied")
        for outcome, detail in (x for i in (0, 1) for x in results[i]):
            assert outcome == "ok" or any(w in detail for w in allowed), (outcome, detail)
        with app.store.session() as s:
            assert s.scalar(select(func.count()).select_from(RefundRow)) == ROWS
        # The file run once more, alone: every row is already applied or refused by name.
        again = app.returns.bulk_file(a)
        assert again.ok == 0
        assert len(LedgerShop(ledger).payments()) == ROWS
    finally:
        app.close()


def test_a_refused_keyless_refund_is_not_told_as_paid(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], sandbox: Any,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A refund the marketplace refused paid nothing: an edited row says it was refused and
    how to try again, not that the request already has a refund."""
    from aftersales.errors import RemoteRejectedError

    rma = refundable()

    def refuse(refund: Any, request: Any = None) -> Any:
        raise RemoteRejectedError("amount not allowed", status=422)

    monkeypatch.setattr(sandbox, "refund", refuse)
    first = runner.invoke(main, ["returns", "bulk",
                                 str(_file(tmp_path, "a.csv", f"refund,{rma},5.00,CNY\n"))])
    assert first.exit_code == 1, first.output
    edited = runner.invoke(main, ["returns", "bulk",
                                  str(_file(tmp_path, "b.csv", f"refund,{rma},4.00,CNY\n"))])
    assert edited.exit_code == 1, edited.output
    assert "already has a refund" not in edited.output
    assert (f"the refund of 5.00 CNY a bulk row asked for on return {rma} was refused by the "
            "marketplace ([HTTP 422] amount not allowed); nothing was paid. To try again, give "
            "the row an idempotency_key of its own") in edited.output
    again = runner.invoke(main, ["returns", "bulk",
                                 str(_file(tmp_path, "a.csv", f"refund,{rma},5.00,CNY\n"))])
    assert again.exit_code == 1, again.output
    assert "was refused by the marketplace" in again.output
    assert _refund_statuses(synced, rma) == ["failed"]


def _refund_statuses(app: Any, rma: str) -> list[str]:
    with app.store.session() as s:
        return list(s.scalars(select(RefundRow.status).where(RefundRow.rma_id == rma)))
