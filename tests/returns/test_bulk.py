"""Bulk: good and bad rows mixed, re-runs, dry runs, the CLI, and a SIGKILL mid-run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason, ReturnStatus
from aftersales.store.tables.core import AuditRow, OutboxRow
from aftersales.store.tables.returns import BulkKeyRow, RefundRow, ReturnRow

S = ReturnStatus
HEADER = "action,rma_id,marketplace,order_id,sku,quantity,kind,reason,amount,currency,note\n"


def state(app: Any) -> tuple[Any, ...]:
    with app.store.session() as s:
        return (tuple(map(tuple, s.execute(select(ReturnRow.rma_id, ReturnRow.status,
                                                  ReturnRow.version)
                                           .order_by(ReturnRow.rma_id)).all())),
                s.scalar(select(func.count()).select_from(AuditRow)),
                s.scalar(select(func.count()).select_from(OutboxRow)),
                s.scalar(select(func.count()).select_from(RefundRow)))


def report_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def mixed(synced: Any, fresh_order: Callable[..., Order], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    svc = synced.returns
    a = fresh_order()
    approve_me = svc.request(a.marketplace, a.external_id, {a.lines[0].external_id: 1},
                             reason="no_reason").rma_id
    b = fresh_order()
    refund_me = svc.request(b.marketplace, b.external_id,
                            [ReturnLine(order_line_id=b.lines[0].external_id, quantity=1,
                                        reason=ReturnReason.QUALITY_ISSUE)],
                            kind=ReturnKind.REFUND_ONLY, evidence=["p.jpg"]).rma_id
    svc.approve(refund_me)
    c = fresh_order()
    cancel_me = svc.request(c.marketplace, c.external_id, {c.lines[0].external_id: 1},
                            reason="no_reason").rma_id
    new = fresh_order()
    body = (
        f"approve,{approve_me},,,,,,,,,looks fine\n"            # 1 ok
        f"approve,{approve_me},,,,,,,,,same again\n"            # 2 skipped: same row
        f"receive,{cancel_me},,,,,,,,,\n"                       # 3 illegal transition
        "approve,RMA-NOPE,,,,,,,,,\n"                           # 4 unknown id
        f"create,,sandbox,{new.external_id},{new.lines[0].sku},1,return,wrong_size,,,\n"  # 5
        f"create,,sandbox,{new.external_id},{new.lines[0].sku},x,return,wrong_size,,,\n"  # 6
        f"refund,{refund_me},,,,,,,5.00,CNY,partial\n"          # 7 ok
        f"refund,{refund_me},,,,,,,lots,CNY,\n"                 # 8 bad number
        "cancel,,,,,,,,,,\n"                                    # 9 missing rma_id
        f"cancel,{cancel_me},,,,,,,,,buyer called\n"            # 10 ok
        "explode,RMA-1,,,,,,,,,\n"                              # 11 unknown action
    ).encode() + b"approve,RMA-\xff,,,,,,,,,\n"                 # 12 wrong encoding
    path = tmp_path / "mixed.csv"
    path.write_bytes(HEADER.encode() + body)
    return path, {"approve": approve_me, "refund": refund_me, "cancel": cancel_me,
                  "order": new.external_id}


EXPECTED = ["ok", "skipped", "error", "error", "ok", "error", "ok", "error", "error", "ok",
            "error", "error"]


def test_good_and_bad_rows_mixed(synced: Any, mixed: tuple[Path, dict[str, str]], tmp_path: Path,
                                 sandbox: Any) -> None:
    path, ids = mixed
    out = tmp_path / "report.csv"
    summary = synced.returns.bulk_file(path, report=out, batch_size=4)
    rows = report_rows(out)
    assert [r["outcome"] for r in rows] == EXPECTED
    assert [int(r["row"]) for r in rows] == list(range(1, 13))
    assert (summary.total, summary.ok, summary.skipped, summary.errors) == (12, 4, 1, 7)
    detail = {int(r["row"]): r["detail"] for r in rows}
    assert "cannot move from requested to received" in detail[3]
    assert "RMA-NOPE not found" in detail[4]
    assert "'x' is not a whole number" in detail[6]
    assert "'lots' is not an amount" in detail[8]
    assert "field 'rma_id': missing value" in detail[9]
    assert "unknown action 'explode'" in detail[11]
    assert "not UTF-8" in detail[12]
    svc = synced.returns
    assert svc.get(ids["approve"]).status is S.APPROVED
    assert svc.get(ids["cancel"]).status is S.CANCELLED
    assert svc.get(ids["refund"]).status is S.REFUNDED
    assert [str(r.amount) for r in sandbox.refunds_paid] == ["5.00 CNY"]
    created = svc.list(order_id=ids["order"])
    assert len(created) == 1
    assert rows[4]["rma_id"] == created[0].rma_id
    assert [e.actor for e in svc.history(ids["approve"])][-1] == "bulk"


def test_rerunning_the_same_file_applies_nothing_twice(
    synced: Any, mixed: tuple[Path, dict[str, str]], tmp_path: Path, sandbox: Any
) -> None:
    path, _ = mixed
    synced.returns.bulk_file(path, batch_size=4)
    before = state(synced)
    out = tmp_path / "again.csv"
    summary = synced.returns.bulk_file(path, report=out, batch_size=5)
    assert state(synced) == before
    assert len(sandbox.refunds_paid) == 1
    again = [r["outcome"] for r in report_rows(out)]
    assert again == [("skipped" if o == "ok" else o) for o in EXPECTED]
    assert summary.ok == 0


def test_dry_run_reports_and_changes_nothing(
    synced: Any, mixed: tuple[Path, dict[str, str]], tmp_path: Path, sandbox: Any
) -> None:
    path, _ = mixed
    before = state(synced)
    out = tmp_path / "dry.csv"
    summary = synced.returns.bulk_file(path, report=out, dry_run=True, batch_size=4)
    assert summary.dry_run
    assert [r["outcome"] for r in report_rows(out)] == EXPECTED
    assert state(synced) == before
    assert sandbox.refunds_paid == []


def test_bulk_from_python_rows(app: Any, seed: Callable[..., list[str]]) -> None:
    ids = seed(5)
    seen: list[Any] = []
    summary = app.returns.bulk([{"action": "approve", "rma_id": r} for r in ids]
                               + [{"action": "approve", "rma_id": "RMA-NOPE"}],
                               on_outcome=seen.append, batch_size=2)
    assert (summary.ok, summary.errors) == (5, 1)
    assert [o.row for o in seen] == [1, 2, 3, 4, 5, 6]
    assert {r.status for r in app.returns.list(limit=10)} == {S.APPROVED}
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)
                        .where(OutboxRow.event_type == "return.approved")) == 5


def test_bulk_approvals_reach_hooks_after_commit(app: Any, seed: Callable[..., list[str]]) -> None:
    ids = seed(3)
    heard: list[Any] = []
    app.on("return.approved", heard.append)
    summary = app.returns.bulk([{"action": "approve", "rma_id": r} for r in ids], batch_size=2)
    assert summary.ok == 3
    assert sorted(e.payload["rma_id"] for e in heard) == sorted(ids)
    assert all(e.payload["status"] == "approved" for e in heard)


def test_cli_exit_status_and_report(app: Any, seed: Callable[..., list[str]], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from aftersales.cli import main
    from aftersales.cli_support import CliState

    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    ids = seed(3)
    good = tmp_path / "good.csv"
    good.write_text("action,rma_id\n" + "".join(f"approve,{r}\n" for r in ids)
                    + "approve,RMA-NOPE\n", encoding="utf-8")
    report = tmp_path / "out.csv"
    runner = CliRunner()
    done = runner.invoke(main, ["returns", "bulk", str(good), "--report", str(report)])
    assert done.exit_code == 1, done.output  # completed, with an error row
    assert "4 rows: 3 ok, 0 skipped (already done), 1 errors" in done.output
    assert [r["outcome"] for r in report_rows(report)] == ["ok", "ok", "ok", "error"]
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("action,rma_id,colour\napprove,R,red\n", encoding="utf-8")
    for target in (bad_header, tmp_path / "missing.csv"):
        failed = runner.invoke(main, ["returns", "bulk", str(target)])
        assert failed.exit_code == 2, failed.output
    dry = runner.invoke(main, ["returns", "bulk", str(good), "--dry-run"])
    assert dry.exit_code == 1  # the real run would have an error row too
    assert "dry run" in dry.output


CHILD = textwrap.dedent("""
    import sys
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from aftersales.app import AfterSales

    app = AfterSales(sys.argv[1], migrate=False)

    @event.listens_for(Session, "before_commit")
    def announce(session):
        # Blocks once the parent stops reading: a kill can land inside a commit.
        sys.stdout.write("commit\\n")
        sys.stdout.flush()

    def each(outcome):
        # Padded so the pipe fills long before the end: the child then waits for the
        # parent, which kills it at a point of its choosing, always mid-run.
        sys.stdout.write(f"{outcome.row} {outcome.outcome}".ljust(120) + "\\n")
        sys.stdout.flush()

    summary = app.returns.bulk_file(sys.argv[2], batch_size=int(sys.argv[3]), on_outcome=each)
    sys.stdout.write(f"done {summary.ok} {summary.skipped} {summary.errors}\\n")
""")


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [3, 250])
def test_sigkill_mid_run_then_rerun_applies_every_good_row_once(
    app: Any, seed: Callable[..., list[str]], tmp_path: Path, kill_after: int
) -> None:
    approve = seed(5000)
    cancel = seed(400, start=5000)
    lines = ["action,rma_id,note"]
    good = 0
    for i, rma in enumerate(approve):
        lines.append(f"approve,{rma},n{i}")
        good += 1
        if i % 25 == 0:
            lines.append(f"approve,RMA-MISSING-{i},")
        if i % 12 == 0 and i // 12 < len(cancel):
            lines.append(f"cancel,{cancel[i // 12]},")
            good += 1
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    url = app.store.url
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, str(script), url, str(path), "97"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert child.stdout is not None
    seen = 0
    for _ in range(kill_after):
        if not child.stdout.readline():
            break
        seen += 1
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert seen == kill_after
    with app.store.session() as s:
        applied = s.scalar(select(func.count()).select_from(BulkKeyRow)) or 0
    assert applied < good  # it really was cut off mid-run

    rerun = subprocess.run([sys.executable, str(script), url, str(path), "97"],
                           capture_output=True, text=True, env=env, check=True)
    last = rerun.stdout.strip().splitlines()[-1].split()
    assert last[0] == "done"
    assert int(last[1]) + int(last[2]) == good  # applied now or skipped as done before
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(BulkKeyRow)) == good
        per_rma = dict(s.execute(
            select(AuditRow.entity_id, func.count()).where(AuditRow.to_status.in_(
                ["approved", "cancelled"])).group_by(AuditRow.entity_id)).all())
        events = dict(s.execute(
            select(OutboxRow.event_type, func.count()).group_by(OutboxRow.event_type)).all())
        statuses = dict(s.execute(select(ReturnRow.status, func.count())
                                  .group_by(ReturnRow.status)).all())
    used_cancel = [r for i, r in enumerate(cancel) if i * 12 < len(approve)]
    assert set(per_rma) == set(approve) | set(used_cancel)
    assert set(per_rma.values()) == {1}  # every good row exactly once
    assert events == {"return.approved": len(approve), "return.cancelled": len(used_cancel)}
    assert statuses[S.APPROVED.value] == len(approve)
    assert statuses[S.CANCELLED.value] == len(used_cancel)


def test_bulk_approvals_run_deadlines_the_timer_honours(
    app: Any, seed: Callable[..., list[str]]
) -> None:
    from datetime import timedelta

    ids = seed(4)
    summary = app.returns.bulk([{"action": "approve", "rma_id": r} for r in ids])
    assert summary.ok == 4
    start = app.now()
    assert app.returns.run_timers(start + timedelta(days=6)).actions == 0
    report = app.returns.run_timers(start + timedelta(days=7))
    assert report.actions == 4  # the buyers never shipped: closed by the deadline
    assert {r.status for r in app.returns.list(limit=10)} == {S.CLOSED}


def test_a_race_on_the_fast_path_redoes_the_batch_row_by_row(
    app: Any, seed: Callable[..., list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aftersales.returns.bulk_approve import read_requests as real

    ids = seed(3)

    def stale(session: Any, wanted: Any) -> Any:
        found = real(session, wanted)
        rec = found[ids[1]]
        found[ids[1]] = (*rec[:3], rec[3] - 1, *rec[4:])  # as if read before someone else wrote
        return found

    monkeypatch.setattr("aftersales.returns.bulk.read_requests", stale)
    summary = app.returns.bulk([{"action": "approve", "rma_id": r} for r in ids])
    assert (summary.ok, summary.errors) == (3, 0)
    for rma in ids:
        moves = [e.to_status for e in app.returns.history(rma)]
        assert moves == ["approved"]
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(BulkKeyRow)) == 3


def test_bulk_fast_path_on_each_backend(db_url: str, seeder: Callable[..., list[str]]) -> None:
    from datetime import timedelta

    from aftersales.app import AfterSales
    from aftersales.sandbox import SandboxMarketplace

    shop = SandboxMarketplace(seed=0, orders=5)
    app = AfterSales(db_url, marketplaces=[shop], clock=lambda: shop.now, migrate=False)
    app.store.create_all()
    try:
        ids = seeder(app, 1100)
        rows = [{"action": "approve", "rma_id": r, "note": "ok"} for r in ids]
        rows.insert(10, {"action": "approve", "rma_id": "RMA-NOPE"})
        summary = app.returns.bulk(rows, batch_size=1000)
        assert (summary.ok, summary.errors) == (1100, 1)
        assert app.returns.bulk(rows, batch_size=1000).skipped == 1100
        with app.store.session() as s:
            payloads = s.scalars(select(OutboxRow.payload).where(
                OutboxRow.event_type == "return.approved")).all()
            assert len(payloads) == 1100
            assert {p["status"] for p in payloads} == {"approved"}
            assert s.scalar(select(func.count()).select_from(AuditRow)
                            .where(AuditRow.to_status == "approved")) == 1100
        trail = app.returns.history(ids[0])
        assert trail[-1].note == "ok"
        assert trail[-1].at == app.now()
        later = app.now() + timedelta(days=7)
        ticks = [app.returns.run_timers(later).actions for _ in range(4)]
        assert ticks == [500, 500, 100, 0]  # at most `limit` per tick, each once
    finally:
        app.close()
