"""Bulk approvals from a CSV on SQLite: throughput against raw baselines, and memory.

    python benchmarks/bulk_returns.py            # 100,000 rows, and the 1,000,000-row memory run
    python benchmarks/bulk_returns.py --quick    # 10,000 rows, memory at 10,000 vs 100,000

Figures, each the median of ``--repeat`` (5) interleaved runs in this process:

* ``app.returns.bulk_file`` approving N requested returns from a CSV (status,
  version, audit row, outbox event, SLA deadline and per-row key, in batches);
* raw ``sqlite3`` writing the same facts (the target's baseline): reading the
  CSV and the requests (chunked ``IN``), then ``executemany`` of the same
  request updates (version-checked), audit rows, outbox events (JSON built
  by ``json_object``), deadline rows and per-row keys (the same SHA-256
  keys), in ONE transaction (the library commits once per batch). After the
  first pair of runs the two databases are compared table by table: the
  benchmark stops if the raw script did not write exactly the same rows;
* raw ``sqlite3`` writing only the status updates and audit rows (two writes
  a row against five: the floor earlier figures were measured against);
* a naive ORM loop committing once per row (load, set status, add audit row,
  commit), run on a slice of the rows since it is slow; compared by rows/s.

Then peak memory (max RSS of a fresh process that only runs the bulk file)
for N and for 10·N rows: streaming keeps it flat.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from aftersales.app import AfterSales
from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.sla import plan_deadline
from aftersales.returns.transition import EVENT_FIELDS
from aftersales.store.tables.core import AuditRow
from aftersales.store.tables.returns import ReturnDeadlineRow, ReturnLineRow, ReturnRow

NOW = datetime(2026, 1, 5, tzinfo=UTC)
CHUNK = 20_000


def make_app(url: str) -> AfterSales:
    app = AfterSales(url, marketplaces=[], clock=lambda: NOW, migrate=False)
    app.store.create_all()
    return app


def seed(app: AfterSales, n: int) -> None:
    """N requested local returns, each with a line and its merchant-response deadline."""
    due = NOW + timedelta(hours=48)
    for start in range(0, n, CHUNK):
        ids = range(start, min(n, start + CHUNK))
        with app.store.session() as s:
            s.execute(insert(ReturnRow), [
                {"rma_id": f"RMA-B{i:08d}", "marketplace": "shop", "external_id": None,
                 "order_external_id": f"O-{i}", "buyer_id": f"B-{i % 997}", "kind": "return",
                 "status": "requested", "currency": "CNY", "evidence": [], "version": 1,
                 "eligibility": "eligible", "created_at": NOW, "updated_at": NOW}
                for i in ids])
            s.execute(insert(ReturnLineRow), [
                {"rma_id": f"RMA-B{i:08d}", "order_line_external_id": f"O-{i}-L1",
                 "sku": "SKU-1", "quantity": 1, "reason": "no_reason"} for i in ids])
            s.execute(insert(ReturnDeadlineRow), [
                {"rma_id": f"RMA-B{i:08d}", "name": "merchant_response",
                 "status": "requested", "action": "auto_approve", "due_at": due,
                 "alert_at": due - timedelta(hours=6)} for i in ids])


def write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["action", "rma_id", "note"])
        for i in range(n):
            w.writerow(["approve", f"RMA-B{i:08d}", "bulk approval"])


def run_bulk(url: str, path: Path, batch: int) -> tuple[float, int]:
    app = make_app(url)
    _ = app.returns  # built (and its modules imported) before the clock starts
    t = time.perf_counter()
    summary = app.returns.bulk_file(path, batch_size=batch)
    elapsed = time.perf_counter() - t
    app.close()
    return elapsed, summary.ok


def _stamp(at: datetime) -> str:
    """A time as the library stores it on SQLite (UTC, no offset, microseconds)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def run_raw_same(db: Path, path: Path) -> float:
    """The baseline: the facts the library writes, by hand, with sqlite3 executemany."""
    plan = plan_deadline(ReturnKind.RETURN, ReturnStatus.APPROVED, NOW, ReturnPolicy())
    assert plan is not None
    deadline = (plan.name, plan.status.value, plan.action.value, _stamp(plan.due_at),
                _stamp(plan.alert_at))
    pairs = ", ".join(f"'{f}', ?" for f in EVENT_FIELDS)
    t = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    at = _stamp(NOW)
    with open(path, newline="", encoding="utf-8") as f:
        rows = [(r["rma_id"], r["note"]) for r in csv.DictReader(f)]
    found: dict[str, tuple[str, str, int, str, str | None, str]] = {}
    ids = [rma for rma, _ in rows]
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for rec in con.execute(
                "SELECT rma_id, kind, version, marketplace, external_id, order_external_id "
                f"FROM return_requests WHERE rma_id IN ({', '.join('?' * len(chunk))})", chunk):
            found[rec[0]] = rec[1:]
    sep = "\x1f" * 8  # the eight empty fields after the rma id
    moves = []
    for rma, note in rows:
        kind, version, market, external, order = found[rma]
        key = ("h:" + rma[:60] + ":"
               + hashlib.sha256(f"approve\x1f{rma}{sep}".encode()).hexdigest()[:32])
        moves.append((rma, note, kind, version + 1, market, external, order, key))
    with con:
        con.executemany(
            "UPDATE return_requests SET status = 'approved', version = ?, updated_at = ? "
            "WHERE rma_id = ? AND version = ?",
            [(v, at, rma, v - 1) for rma, _, _, v, *_ in moves])
        con.executemany(
            "INSERT INTO audit_log (entity, entity_id, actor, at, from_status, to_status, "
            "reason, note, data) VALUES ('return', ?, 'bulk', ?, 'requested', 'approved', "
            "NULL, ?, 'null')", [(rma, at, note) for rma, note, *_ in moves])
        con.executemany(
            "INSERT INTO outbox (key, topic, event_type, aggregate_type, aggregate_id, store, "
            "payload, created_at) VALUES (?, 'event', 'return.approved', 'return', ?, ?, "
            f"json_object({pairs}), ?) ON CONFLICT (key) DO NOTHING",
            [(f"return.approved:{rma}:{v}", rma, market, rma, market, order, external, kind,
              "approved", "bulk", v, "requested", None, at)
             for rma, _, kind, v, market, external, order, _ in moves])
        con.executemany(
            "UPDATE return_deadlines SET name = ?, status = ?, action = ?, due_at = ?, "
            "alert_at = ?, alerted_at = NULL, lease_until = NULL, last_error = NULL "
            "WHERE rma_id = ?", [(*deadline, m[0]) for m in moves])
        con.executemany(
            "INSERT INTO return_bulk_keys (key, action, rma_id, applied_at) "
            "VALUES (?, 'approve', ?, ?)", [(m[-1], m[0], at) for m in moves])
    con.close()
    return time.perf_counter() - t


#: What the comparison reads of each table (ids and row order left out).
FACTS = {
    "return_requests": "SELECT rma_id, status, version, updated_at, raw_status "
                       "FROM return_requests",
    "audit_log": "SELECT entity, entity_id, actor, at, from_status, to_status, reason, note, "
                 "data FROM audit_log",
    "outbox": "SELECT key, topic, event_type, aggregate_type, aggregate_id, store, payload, "
              "created_at FROM outbox",
    "return_deadlines": "SELECT * FROM return_deadlines",
    "return_bulk_keys": "SELECT key, action, rma_id, applied_at FROM return_bulk_keys",
}


def same_facts(ours_db: Path, raw_db: Path) -> None:
    """Stop the benchmark unless both databases hold exactly the same rows."""
    for table, sql in FACTS.items():
        got = []
        for db in (ours_db, raw_db):
            con = sqlite3.connect(db)
            got.append(sorted(con.execute(sql).fetchall(), key=repr))
            con.close()
        assert got[0] == got[1], f"{table}: the raw baseline wrote other rows than the library"
        assert got[0], table


def run_raw(db: Path, path: Path) -> float:
    """The two-table floor: only the status updates and audit rows, sqlite3 executemany."""
    t = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    at = NOW.replace(tzinfo=None).isoformat(sep=" ")
    with open(path, newline="", encoding="utf-8") as f:
        rows = [(r["rma_id"], r["note"]) for r in csv.DictReader(f)]
    with con:
        con.executemany(
            "UPDATE return_requests SET status='approved', version=version+1, updated_at=? "
            "WHERE rma_id=? AND version=1", [(at, rma) for rma, _ in rows])
        con.executemany(
            "INSERT INTO audit_log (entity, entity_id, actor, at, from_status, to_status, note)"
            " VALUES ('return', ?, 'bulk', ?, 'requested', 'approved', ?)",
            [(rma, at, note) for rma, note in rows])
    con.close()
    return time.perf_counter() - t


def run_naive(url: str, path: Path, limit: int) -> float:
    """One ORM transaction per row, as a hand-written script would do it."""
    app = make_app(url)
    t = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as f:
        for n, r in enumerate(csv.DictReader(f)):
            if n >= limit:
                break
            with app.store.session() as s:
                row = s.get(ReturnRow, r["rma_id"])
                assert row is not None
                row.status = "approved"
                row.updated_at = NOW
                s.add(AuditRow(entity="return", entity_id=row.rma_id, actor="naive", at=NOW,
                               from_status="requested", to_status="approved", note=r["note"]))
    elapsed = time.perf_counter() - t
    app.close()
    return elapsed


def fresh(tmp: Path, name: str, n: int) -> tuple[str, Path]:
    db = tmp / f"{name}.db"
    url = f"sqlite:///{db}"
    app = make_app(url)
    seed(app, n)
    app.close()
    return url, db


def child_memory(args: argparse.Namespace) -> None:
    """Inside a fresh process: run the bulk file and print peak RSS (MiB)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed, ok = run_bulk(args.url, Path(args.csv), args.batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mib": peak / 1024, "start_mib": before / 1024,
                      "seconds": elapsed, "ok": ok}))


def memory(tmp: Path, n: int, batch: int) -> dict[str, float]:
    url, _ = fresh(tmp, f"mem{n}", n)
    path = tmp / f"mem{n}.csv"
    write_csv(path, n)
    out = subprocess.run([sys.executable, __file__, "--child", "--url", url, "--csv", str(path),
                          "--batch", str(batch)], capture_output=True, text=True, check=True)
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["ok"] == n, data
    for p in tmp.glob(f"mem{n}*"):
        p.unlink()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k rows, memory 10k vs 100k")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-rows", type=int, default=None)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_memory(args)
        return
    n = args.rows or (10_000 if args.quick else 100_000)
    naive_n = args.naive_rows or (1_000 if args.quick else 5_000)
    with tempfile.TemporaryDirectory(prefix="bulk-returns-") as d:
        tmp = Path(d)
        path = tmp / "approve.csv"
        write_csv(path, n)
        # Interleaved pairs; the median of --repeat runs of each.
        ours_runs: list[float] = []
        same_runs: list[float] = []
        raw_runs: list[float] = []
        for i in range(args.repeat):
            url, ours_db = fresh(tmp, f"ours{i}", n)
            elapsed, ok = run_bulk(url, path, args.batch)
            assert ok == n, ok
            ours_runs.append(elapsed)
            _, same_db = fresh(tmp, f"same{i}", n)
            same_runs.append(run_raw_same(same_db, path))
            if i == 0:
                same_facts(ours_db, same_db)
            _, raw_db = fresh(tmp, f"raw{i}", n)
            raw_runs.append(run_raw(raw_db, path))
            for p in tmp.glob(f"*{i}.db*"):
                p.unlink()
        naive_url, _ = fresh(tmp, "naive", naive_n)
        naive = run_naive(naive_url, path, naive_n)
        med = statistics.median
        ours, same, raw = med(ours_runs), med(same_runs), med(raw_runs)
        ours_rate, naive_rate = n / ours, naive_n / naive
        load = os.getloadavg()[0]
        print(f"bulk approvals on SQLite, {n:,} rows (batch {args.batch}, median of "
              f"{args.repeat}; load average {load:.2f} on {os.cpu_count()} cores)")
        print(f"  aftersales bulk      : {ours:7.3f} s  {n / ours:9,.0f} rows/s"
              f"   (runs: {', '.join(f'{x:.3f}' for x in ours_runs)})")
        print(f"  raw, same facts      : {same:7.3f} s  {n / same:9,.0f} rows/s"
              f"   -> aftersales is {ours / same:.2f}x the raw time (target <= 4x)"
              f"   (runs: {', '.join(f'{x:.3f}' for x in same_runs)}; same rows: checked)")
        print(f"  raw, status+audit    : {raw:7.3f} s  {n / raw:9,.0f} rows/s"
              f"   -> {ours / raw:.2f}x (two of the five writes a row; not the same facts)")
        print(f"  naive ORM loop       : {naive:7.3f} s  {naive_rate:9,.0f} rows/s on "
              f"{naive_n:,} rows   -> aftersales is {ours_rate / naive_rate:.1f}x faster "
              "(target >= 10x)")
        if args.no_memory:
            return
        small, big = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
        m_small = memory(tmp, small, args.batch)
        m_big = memory(tmp, big, args.batch)
        print("peak memory (max RSS of a process running only the bulk file)")
        print(f"  {small:>9,} rows: {m_small['peak_mib']:6.1f} MiB ({m_small['seconds']:.1f} s)")
        print(f"  {big:>9,} rows: {m_big['peak_mib']:6.1f} MiB ({m_big['seconds']:.1f} s)"
              f"   -> {m_big['peak_mib'] / m_small['peak_mib']:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
