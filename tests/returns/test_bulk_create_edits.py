"""Bulk create rows without an ``idempotency_key``, run again after an edit: no second request.

A create row without a key is keyed by its content, so fixing a typo in its
reason, kind or quantity and running the file again made a new row: a second
return request for another unit of the same order line, which policy could
approve and refund. Now a keyless create row for an order line that already
has a request from a bulk row under another key fails, naming the row, the
order line and the request; nothing is created. The same file run again is
already applied; a second request through bulk takes an ``idempotency_key``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.models import Order, ReturnLine, ReturnReason
from aftersales.store.tables.returns import ReturnRow


@pytest.fixture
def runner(synced: Any, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(CliState, "app", property(lambda self: synced))
    return CliRunner()


def _requests(app: Any, order: Order) -> list[str]:
    with app.store.session() as s:
        return list(s.scalars(select(ReturnRow.rma_id)
                              .where(ReturnRow.order_external_id == order.external_id)))


def _create(tmp_path: Path, order: Order, name: str, quantity: int = 1,
            reason: str = "wrong_size", key: str = "") -> Path:
    line = max(order.lines, key=lambda ln: ln.quantity)
    path = tmp_path / name
    path.write_text("action,marketplace,order_id,sku,quantity,kind,reason,idempotency_key\n"
                    f"create,sandbox,{order.external_id},{line.sku},{quantity},return,{reason},"
                    f"{key}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("dry_run", [False, True])
def test_an_edited_create_row_run_again_opens_no_second_request(
        synced: Any, runner: CliRunner, fresh_order: Callable[..., Order], tmp_path: Path,
        dry_run: bool) -> None:
    order = fresh_order(units=2)
    first = _create(tmp_path, order, "a.csv")
    assert runner.invoke(main, ["returns", "bulk", str(first)]).exit_code == 0
    (rma,) = _requests(synced, order)
    same = runner.invoke(main, ["returns", "bulk", str(first)])
    assert same.exit_code == 0, same.output
    assert "1 skipped" in same.output
    flags = ["--dry-run"] if dry_run else []
    for edited in (_create(tmp_path, order, "b.csv", reason="quality_issue"),
                   _create(tmp_path, order, "c.csv", quantity=2)):
        done = runner.invoke(main, ["returns", "bulk", str(edited), *flags])
        assert done.exit_code == 1, done.output
        line = max(order.lines, key=lambda ln: ln.quantity)
        assert (f"row 1 (line 2), field 'idempotency_key': order {order.external_id} line "
                f"{line.sku} already has return {rma} from a bulk row; nothing was created. "
                "A create row without an idempotency_key opens one request per order line: "
                "to open another, give the row an idempotency_key of its own"
                in done.output.splitlines()), done.output
    assert _requests(synced, order) == [rma]


def test_a_second_request_takes_a_key_and_requests_by_hand_do_not_count(
        synced: Any, runner: CliRunner, fresh_order: Callable[..., Order],
        tmp_path: Path) -> None:
    order = fresh_order(units=2)
    line = max(order.lines, key=lambda ln: ln.quantity)
    synced.returns.request(order.marketplace, order.external_id,
                           [ReturnLine(order_line_id=line.external_id, quantity=1,
                                       reason=ReturnReason.WRONG_SIZE)], kind="return")
    bare = _create(tmp_path, order, "a.csv")
    assert runner.invoke(main, ["returns", "bulk", str(bare)]).exit_code == 0
    assert len(_requests(synced, order)) == 2
    other = fresh_order(units=2)
    keyed = _create(tmp_path, other, "b.csv", key="first")
    assert runner.invoke(main, ["returns", "bulk", str(keyed)]).exit_code == 0
    second = _create(tmp_path, other, "c.csv", reason="quality_issue", key="second")
    done = runner.invoke(main, ["returns", "bulk", str(second)])
    assert done.exit_code == 0, done.output
    assert len(_requests(synced, other)) == 2
