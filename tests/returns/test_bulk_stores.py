"""Bulk rows naming a store: checked against the configured stores, as the CLI options are."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.models import Order, ReturnStatus
from aftersales.store.tables.returns import BulkKeyRow, RefundRow, ReturnRow


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def runner(synced: Any, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(CliState, "app", property(lambda self: synced))
    return CliRunner()


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_create_row_naming_an_unknown_store_fails_that_row_only(
        synced: Any, runner: CliRunner, fresh_order: Callable[..., Order], tmp_path: Path,
        dry_run: bool) -> None:
    bad, good = fresh_order(), fresh_order()
    path = tmp_path / "in.csv"
    path.write_text(
        "action,marketplace,order_id,sku,quantity,kind,reason\n"
        f"create,nosuch,{bad.external_id},{bad.lines[0].sku},1,return,wrong_size\n"
        f"create,sandbox,{good.external_id},{good.lines[0].sku},1,return,wrong_size\n",
        encoding="utf-8")
    report = tmp_path / "out.csv"
    done = runner.invoke(main, ["returns", "bulk", str(path), "--report", str(report)]
                         + (["--dry-run"] if dry_run else []))
    assert done.exit_code == 1, done.output
    assert ("row 1 (line 2), field 'marketplace': no store 'nosuch' (configured: 'sandbox')"
            in done.output.splitlines())
    rows = _rows(report)
    assert [r["outcome"] for r in rows] == ["error", "ok"]
    assert rows[0]["detail"] == ("row 1, field 'marketplace': no store 'nosuch' "
                                 "(configured: 'sandbox')")
    with synced.store.session() as s:
        orders = set(s.scalars(select(ReturnRow.order_external_id)))
        assert bad.external_id not in orders
        assert (good.external_id in orders) is not dry_run
        assert s.scalar(select(func.count()).select_from(BulkKeyRow)) == (0 if dry_run else 1)


def test_other_rows_must_name_the_store_of_their_request(
        synced: Any, runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    # Seeded requests belong to 'shop', a store no longer configured: naming it is right.
    ok, unknown, other, refund, cancel = seed(5)
    path = tmp_path / "in.csv"
    path.write_text(
        "action,rma_id,marketplace,amount,currency\n"
        f"approve,{ok},shop,,\n"
        f"approve,{unknown},nosuch,,\n"
        f"approve,{other},sandbox,,\n"
        f"refund,{refund},nosuch,5.00,CNY\n"
        f"cancel,{cancel},nosuch,,\n", encoding="utf-8")
    report = tmp_path / "out.csv"
    done = runner.invoke(main, ["returns", "bulk", str(path), "--report", str(report)])
    assert done.exit_code == 1, done.output
    rows = _rows(report)
    assert [r["outcome"] for r in rows] == ["ok", "error", "error", "error", "error"]
    unknown_store = "field 'marketplace': no store 'nosuch' (configured: 'sandbox')"
    assert rows[1]["detail"] == f"row 2, {unknown_store}"
    assert rows[2]["detail"] == (f"row 3, field 'marketplace': return {other} is of store "
                                 "'shop', not 'sandbox'")
    assert rows[3]["detail"] == f"row 4, {unknown_store}"
    assert rows[4]["detail"] == f"row 5, {unknown_store}"
    with synced.store.session() as s:
        statuses = dict(s.execute(select(ReturnRow.rma_id, ReturnRow.status)).all())
        assert s.scalar(select(func.count()).select_from(RefundRow)) == 0
        assert s.scalar(select(func.count()).select_from(BulkKeyRow)) == 1
    assert statuses[ok] == ReturnStatus.APPROVED.value
    assert {statuses[r] for r in (unknown, other, refund, cancel)} == {"requested"}


def test_an_idempotency_key_reused_for_another_row_is_that_rows_error(
        synced: Any, runner: CliRunner, seed: Callable[..., list[str]], tmp_path: Path) -> None:
    a, b, c = seed(3)
    path = tmp_path / "in.csv"
    path.write_text("action,rma_id,idempotency_key,note\n"
                    f"approve,{a},K1,first\n"
                    f"approve,{a},K1,the same row again\n"
                    f"cancel,{b},K1,\n"
                    f"approve,{c},K1,\n", encoding="utf-8")
    report = tmp_path / "out.csv"
    done = runner.invoke(main, ["returns", "bulk", str(path), "--report", str(report)])
    assert done.exit_code == 1, done.output
    rows = _rows(report)
    assert [r["outcome"] for r in rows] == ["ok", "skipped", "error", "error"]
    used = f"field 'idempotency_key': already used for the approve of {a}; give each row its own"
    assert rows[2]["detail"] == f"row 3, {used}"
    assert rows[3]["detail"] == f"row 4, {used}"
    # A later run is told the same from the stored key.
    again = tmp_path / "again.csv"
    again.write_text(f"action,rma_id,idempotency_key\ncancel,{b},K1\n", encoding="utf-8")
    rerun = runner.invoke(main, ["returns", "bulk", str(again)])
    assert rerun.exit_code == 1, rerun.output
    assert f"row 1 (line 2), {used}" in rerun.output
    with synced.store.session() as s:
        statuses = dict(s.execute(select(ReturnRow.rma_id, ReturnRow.status)).all())
    assert (statuses[a], statuses[b], statuses[c]) == ("approved", "requested", "requested")


def test_a_refund_key_given_again_with_another_amount_is_that_rows_error(
        synced: Any, runner: CliRunner, refundable: Callable[[], str], tmp_path: Path) -> None:
    rma = refundable()

    def run(amount: str) -> Any:
        path = tmp_path / f"{amount}.csv"
        path.write_text(f"action,rma_id,amount,currency,idempotency_key\n"
                        f"refund,{rma},{amount},CNY,K9\n", encoding="utf-8")
        return runner.invoke(main, ["returns", "bulk", str(path)])

    assert run("5.00").exit_code == 0
    changed = run("6.00")
    assert changed.exit_code == 1, changed.output
    assert ("row 1 (line 2), field 'idempotency_key': already used for a refund for 5 CNY; "
            "give each row its own") in changed.output
    same = run("5.0")
    assert same.exit_code == 0, same.output
    assert "1 rows: 0 ok, 1 skipped" in same.output
    with synced.store.session() as s:
        assert s.scalar(select(func.count()).select_from(RefundRow)) == 1
