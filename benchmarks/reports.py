"""Reports at scale: each report's figures by the library against hand-written SQL.

N orders (default 100,000; ``AFTERSALES_BENCH_REPORT_ORDERS=1000000`` for the
full run) with one line and one parcel each, a return request for one order
in ten (with its line, audit trail and, when refunded, its refund), tracking
scans for exceptions and failed attempts, a review for three orders in ten
and a follow-up for two in ten, written straight into the schema by
``INSERT … SELECT`` over a number series. Then, on SQLite and on
PostgreSQL (a throwaway cluster; skipped, and said, without its binaries),
in the same process, each figure is computed by ``app.reports`` and by a
hand-written SQL query an analyst would write for the same figure (the
zone is Asia/Shanghai, which has no DST, so ``date_trunc`` / SQLite's date
modifiers give the same weeks), both answers are checked equal, and the
ratio of their times (median of 3) is printed; the target is within 2x.

Memory: the peak of Python allocations (``tracemalloc``) while every
report runs, at N/10 and at N orders; the target is at most 1.3x (the
reports read back grouped rows only, never the rows themselves).

    python benchmarks/reports.py
    AFTERSALES_BENCH_REPORT_ORDERS=1000000 python benchmarks/reports.py
    AFTERSALES_BENCH_REPORT_BACKENDS=postgresql python benchmarks/reports.py   # one backend
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from followups import _pg_database, _start_postgres

from aftersales.app import AfterSales
from aftersales.reports import followups, logistics, returns, reviews
from aftersales.reports.periods import Scope

ZONE = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 3, 1, tzinfo=UTC)
SINCE = datetime(2026, 1, 20, tzinfo=ZONE)
UNTIL = datetime(2026, 3, 30, tzinfo=ZONE)
SPAN = 30 * 86400  # orders are placed over the 30 days before BASE
TOPICS = ("CASE i % 4 WHEN 0 THEN '[\"quality\"]' WHEN 1 THEN '[\"logistics\", \"service\"]' "
          "WHEN 2 THEN '[\"size\"]' ELSE '[]' END")


class Dialect:
    """The few SQL spellings that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def series(self, n: int, select: str) -> str:
        if self.pg:
            return f"{select} FROM generate_series(CAST(1 AS BIGINT), {n}) AS s(i)"
        return (f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
                f"{select} FROM s")

    def ts(self, seconds: str) -> str:
        """BASE - SPAN + ``seconds``, as the store keeps a UTC time."""
        if self.pg:
            return f"(timestamptz '2026-01-30 00:00:00+00' + ({seconds}) * interval '1 second')"
        return f"(datetime('2026-01-30 00:00:00', '+' || ({seconds}) || ' seconds') || '.000000')"

    def money(self, cents: str) -> str:
        if self.pg:
            return f"to_char(({cents}) / 100.0, 'FM9999999990.00')"
        return f"printf('%.2f', ({cents}) / 100.0)"

    def json(self, expr: str) -> str:
        return f"CAST({expr} AS jsonb)" if self.pg else expr

    def flag(self, expr: str) -> str:
        return f"({expr})" if self.pg else f"CASE WHEN {expr} THEN 1 ELSE 0 END"

    # the analyst's own spellings, for the hand-written queries
    def week(self, column: str) -> str:
        if self.pg:
            local = f"{column} AT TIME ZONE 'Asia/Shanghai'"
            return f"to_char(date_trunc('week', {local}), 'YYYY-MM-DD')"
        return (f"date({column}, '+8 hours', '-' || ((CAST(strftime('%w', {column}, '+8 hours') "
                f"AS INTEGER) + 6) % 7) || ' days')")

    def epoch(self, column: str) -> str:
        if self.pg:
            return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
        return f"CAST(strftime('%s', {column}) AS INTEGER)"

    def cents(self, column: str) -> str:
        if self.pg:
            return f"CAST(ROUND(CAST({column} AS NUMERIC) * 1000) AS BIGINT)"
        return f"CAST(ROUND(CAST({column} AS REAL) * 1000) AS INTEGER)"

    def topics(self) -> str:
        if self.pg:
            return ("reviews CROSS JOIN LATERAL jsonb_array_elements_text(reviews.topics) "
                    "AS t(value)")
        return "reviews, json_each(reviews.topics) AS t"


def fill(app: AfterSales, n: int) -> None:
    """Write n orders and everything hanging off them, in a few statements."""
    d = Dialect(app.store.engine.dialect.name)
    placed = "((i * 7919) % 2592000)"
    now = d.ts("2592000")
    statuses = ("CASE (i / 10) % 6 WHEN 0 THEN 'requested' WHEN 1 THEN 'approved' "
                "WHEN 2 THEN 'received' WHEN 3 THEN 'refunded' WHEN 4 THEN 'closed' "
                "ELSE 'cancelled' END")
    statements = [
        ("orders", d.series(n, f"""INSERT INTO orders (id, version, marketplace, external_id,
            buyer_id, buyer, currency, shipping, discount, total, placed_at, remote_updated_at,
            taxes_included, shipping_taxes, created_at, updated_at)
            SELECT i, 1, 'store-' || (i % 3), 'o' || i, 'b' || (i % 50000), {d.json("'{}'")},
            'CNY', '0.00', '0.00', {d.money("1000 + (i * 37) % 90000")}, {d.ts(placed)},
            {d.ts(placed)}, {d.flag("1 = 0")}, {d.json("'[]'")}, {now}, {now}""")),
        ("order_lines", d.series(n, f"""INSERT INTO order_lines (id, order_id, external_id, sku,
            title, category, quantity, unit_price, discount, taxes)
            SELECT i, i, 'l' || i, 'SKU-' || (i % 200), '', 'cat' || (i % 8), 1 + i % 3,
            {d.money("500 + (i * 13) % 40000")}, '0', {d.json("'[]'")}""")),
        ("return_requests", d.series(n // 10, f"""INSERT INTO return_requests (rma_id, version,
            marketplace, external_id, order_id, order_external_id, buyer_id, kind, status,
            currency, evidence, created_at, updated_at)
            SELECT 'R' || (i * 10), 1, 'store-' || ((i * 10) % 3), 'r' || i, i * 10,
            'o' || (i * 10), 'b' || ((i * 10) % 50000),
            CASE i % 3 WHEN 0 THEN 'exchange' WHEN 1 THEN 'return' ELSE 'refund_only' END,
            {statuses.replace("(i / 10)", "i")}, 'CNY', {d.json("'[]'")},
            {d.ts(placed.replace("i *", "(i * 10) *") + " + 86400")}, {now}""")),
        ("return_lines", d.series(n // 10, """INSERT INTO return_lines (id, rma_id,
            order_line_external_id, sku, quantity, reason)
            SELECT i, 'R' || (i * 10), 'l' || (i * 10), 'SKU-' || ((i * 10) % 200), 1,
            CASE i % 5 WHEN 0 THEN 'wrong_size' WHEN 1 THEN 'quality_issue'
            WHEN 2 THEN 'damaged_in_transit' WHEN 3 THEN 'changed_mind' ELSE 'other' END""")),
        ("refunds", d.series(n // 10, f"""INSERT INTO refunds (id, rma_id, order_external_id,
            marketplace, currency, amount, shipping, breakdown, idempotency_key, status,
            created_at, attempts)
            SELECT i, 'R' || (i * 10), 'o' || (i * 10), 'store-' || ((i * 10) % 3), 'CNY',
            {d.money("300 + (i * 11) % 20000")}, '0', {d.json("'{}'")}, 'k' || i,
            CASE WHEN i % 6 IN (3, 4) THEN 'paid' ELSE 'pending' END, {now}, 1""")),
        ("audit_log", d.series(n // 10, f"""INSERT INTO audit_log (id, entity, entity_id, actor,
            at, to_status)
            SELECT i, 'return', 'R' || (i * 10), 'bench',
            {d.ts(placed.replace("i *", "(i * 10) *") + " + 86400 + (i % 200) * 1800")},
            CASE WHEN i % 6 = 5 THEN 'cancelled' WHEN i % 6 = 0 THEN 'requested'
            ELSE 'approved' END""")),
        ("shipments", d.series(n, f"""INSERT INTO shipments (id, version, order_id, direction,
            tracking_number, carrier, status, issue, terminal, shipped_at, last_event_at,
            delivered_at, created_at, updated_at)
            SELECT i, 1, i, 'outbound', 'T' || i,
            CASE i % 6 WHEN 0 THEN 'sf' WHEN 1 THEN 'jd' WHEN 2 THEN 'yto' WHEN 3 THEN 'zto'
            WHEN 4 THEN 'sto' ELSE 'yunda' END,
            CASE WHEN i % 40 = 0 THEN 'in_transit' WHEN i % 50 = 1 THEN 'exception'
            ELSE 'delivered' END,
            CASE WHEN i % 50 = 1 THEN 'delayed' END,
            {d.flag("i % 40 <> 0 AND i % 50 <> 1")}, {d.ts(placed + " + 86400")},
            {d.ts(placed + " + 86400 + (i % 97) * 3600")},
            CASE WHEN i % 40 <> 0 AND i % 50 <> 1
            THEN {d.ts(placed + " + 86400 + (i % 97) * 3600")} END, {now}, {now}""")),
        ("tracking_events", d.series(n // 25, f"""INSERT INTO tracking_events (id, shipment_id,
            fingerprint, occurred_at, status, description, time_inferred)
            SELECT i, i * 25, 'f' || i, {d.ts(placed.replace("i *", "(i * 25) *") + " + 90000")},
            CASE WHEN i % 2 = 0 THEN 'failed_attempt' ELSE 'exception' END, '',
            {d.flag("1 = 0")}""")),
        ("reviews", d.series(n // 10 * 3, f"""INSERT INTO reviews (id, marketplace, external_id,
            sku, rating, body, topics, complaints, severity, score, replied, remote_created_at,
            remote_updated_at, current_version, created_at, updated_at)
            SELECT i, 'store-' || (i % 3), 'v' || i, 'SKU-' || (i % 200), 1 + (i * 7) % 5, '',
            {d.json(TOPICS)},
            {d.json("'[]'")}, 0, 0, {d.flag("1 = 0")}, {d.ts(placed + " + 300000")},
            {d.ts(placed + " + 300000")}, 1, {now}, {now}""")),
        ("follow_ups", d.series(n // 5, f"""INSERT INTO follow_ups (id, version, plan, kind,
            channel, buyer_id, marketplace, due_at, status, attempts, idempotency_key, context,
            sent_at, responded_at, csat, nps, created_at, updated_at)
            SELECT i, 1, 'plan-' || (i % 3), 'follow_up', 'outbox', 'b' || i, 'store-' || (i % 3),
            {d.ts(placed + " + 400000")}, CASE WHEN i % 3 = 0 THEN 'responded' ELSE 'sent' END,
            1, 'fu' || i, {d.json("'{}'")}, {d.ts(placed + " + 400000")},
            CASE WHEN i % 3 = 0 THEN {d.ts(placed + " + 500000")} END,
            CASE WHEN i % 3 = 0 THEN 1 + i % 5 END, CASE WHEN i % 3 = 0 THEN i % 11 END,
            {now}, {now}""")),
    ]
    with app.store.engine.begin() as conn:
        for _, sql in statements:
            conn.execute(text(sql))
        conn.execute(text(d.series(n // 10, f"""INSERT INTO audit_log (id, entity, entity_id,
            actor, at, to_status) SELECT {n} + i, 'return', 'R' || (i * 10), 'bench',
            {d.ts(placed.replace("i *", "(i * 10) *") + " + 400000 + (i % 50) * 3600")},
            'received'""") + " WHERE i % 6 IN (2, 3, 4)"))
        conn.execute(text(d.series(n // 10, f"""INSERT INTO audit_log (id, entity, entity_id,
            actor, at, to_status) SELECT {2 * n} + i, 'return', 'R' || (i * 10), 'bench',
            {d.ts(placed.replace("i *", "(i * 10) *") + " + 500000 + (i % 70) * 3600")},
            'refunded'""") + " WHERE i % 6 IN (3, 4)"))
    if not d.pg:
        with app.store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with app.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))


def _window(column: str) -> str:
    return f"{column} >= :since AND {column} < :until"


_OF_ORDER = ("r.marketplace = o.marketplace AND r.order_external_id = o.external_id "
             "AND r.status <> 'cancelled'")


def _ranked(d: Dialect, base: str) -> str:
    """count, sum, p50, p90 of ``base``'s (k, s) per k, as the analyst writes it."""
    if d.pg:
        return (f"SELECT k, COUNT(*), SUM(s), percentile_disc(0.5) WITHIN GROUP (ORDER BY s), "
                f"percentile_disc(0.9) WITHIN GROUP (ORDER BY s) FROM ({base}) x GROUP BY k")
    return (f"SELECT k, COUNT(*), SUM(s), MIN(CASE WHEN rn * 100 >= n * 50 THEN s END), "
            f"MIN(CASE WHEN rn * 100 >= n * 90 THEN s END) FROM (SELECT k, s, ROW_NUMBER() "
            f"OVER (PARTITION BY k ORDER BY s) AS rn, COUNT(*) OVER (PARTITION BY k) AS n "
            f"FROM ({base}) x) y GROUP BY k")


def hand_sql(d: Dialect) -> dict[str, list[str]]:
    """The hand-written queries, one list per figure."""
    wk = d.week
    return {
        "return rate by week": [
            f"SELECT {wk('o.placed_at')}, COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM "
            f"return_requests r WHERE {_OF_ORDER}) THEN 1 ELSE 0 END) FROM orders o "
            f"WHERE {_window('o.placed_at')} GROUP BY 1"],
        "revenue, refunded, retained by week": [
            f"SELECT {wk('o.placed_at')}, o.currency, SUM({d.cents('o.total')}) FROM orders o "
            f"WHERE {_window('o.placed_at')} GROUP BY 1, 2",
            f"SELECT {wk('o.placed_at')}, f.currency, SUM({d.cents('f.amount')}) FROM refunds f "
            f"JOIN orders o ON f.marketplace = o.marketplace AND f.order_external_id = "
            f"o.external_id WHERE f.status = 'paid' AND {_window('o.placed_at')} GROUP BY 1, 2",
            f"SELECT {wk('o.placed_at')}, o.currency, SUM({d.cents('l.unit_price')} * "
            f"rl.quantity) FROM orders o JOIN return_requests r ON {_OF_ORDER} JOIN return_lines "
            f"rl ON rl.rma_id = r.rma_id JOIN order_lines l ON l.order_id = o.id AND "
            f"l.external_id = rl.order_line_external_id WHERE r.kind = 'exchange' AND "
            f"r.status <> 'rejected' AND {_window('o.placed_at')} GROUP BY 1, 2"],
        "returned quantity by reason": [
            f"SELECT rl.reason, SUM(rl.quantity) FROM orders o JOIN return_requests r ON "
            f"{_OF_ORDER} JOIN return_lines rl ON rl.rma_id = r.rma_id "
            f"WHERE {_window('o.placed_at')} GROUP BY 1"],
        "response time by week": [_ranked(d,
            f"SELECT {wk('r.created_at')} AS k, {d.epoch('a.at')} - {d.epoch('r.created_at')} "
            f"AS s FROM return_requests r JOIN (SELECT entity_id AS rma, MIN(at) AS at FROM "
            f"audit_log WHERE entity = 'return' AND to_status IN ('approved', 'rejected') "
            f"GROUP BY entity_id) a ON a.rma = r.rma_id WHERE {_window('r.created_at')} "
            f"AND a.at < :until")],
        "transit time by carrier": [_ranked(d,
            f"SELECT s.carrier AS k, {d.epoch('s.delivered_at')} - {d.epoch('s.shipped_at')} "
            f"AS s FROM shipments s WHERE s.direction = 'outbound' AND "
            f"{_window('s.shipped_at')} AND s.delivered_at < :until")],
        "exception rate by carrier": [
            f"SELECT s.carrier, COUNT(*), SUM(CASE WHEN s.issue IS NOT NULL OR EXISTS (SELECT 1 "
            f"FROM tracking_events e WHERE e.shipment_id = s.id AND e.status = 'exception') "
            f"THEN 1 ELSE 0 END) FROM shipments s WHERE s.direction = 'outbound' AND "
            f"{_window('s.shipped_at')} GROUP BY 1"],
        "first-attempt rate by carrier": [
            f"SELECT s.carrier, COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM tracking_events e "
            f"WHERE e.shipment_id = s.id AND e.status = 'failed_attempt') THEN 0 ELSE 1 END) "
            f"FROM shipments s WHERE s.direction = 'outbound' AND {_window('s.shipped_at')} "
            f"AND s.delivered_at < :until GROUP BY 1"],
        "stuck parcels by carrier": [
            f"SELECT s.carrier, COUNT(*) FROM shipments s WHERE s.direction = 'outbound' AND "
            f"{_window('s.shipped_at')} AND NOT s.terminal AND "
            f"COALESCE(s.last_event_at, s.shipped_at) <= :stuck GROUP BY 1"],
        "stars by week": [
            f"SELECT {wk('remote_created_at')}, COUNT(*), SUM(rating), SUM(CASE WHEN rating >= 4 "
            f"THEN 1 ELSE 0 END), SUM(CASE WHEN rating <= 2 THEN 1 ELSE 0 END) FROM reviews "
            f"WHERE {_window('remote_created_at')} GROUP BY 1"],
        "complaint topics": [
            f"SELECT t.value, COUNT(*) FROM {d.topics()} WHERE "
            f"{_window('reviews.remote_created_at')} AND reviews.rating <= 2 GROUP BY 1"],
        "surveys by plan": [
            "SELECT plan, COUNT(*), SUM(a), SUM(c), SUM(cs), SUM(ok), SUM(nn), SUM(pro), SUM(de) "
            "FROM (SELECT plan, CASE WHEN responded_at < :until THEN 1 ELSE 0 END AS a, "
            "CASE WHEN responded_at < :until AND csat IS NOT NULL THEN 1 ELSE 0 END AS c, "
            "CASE WHEN responded_at < :until THEN COALESCE(csat, 0) ELSE 0 END AS cs, "
            "CASE WHEN responded_at < :until AND csat >= 4 THEN 1 ELSE 0 END AS ok, "
            "CASE WHEN responded_at < :until AND nps IS NOT NULL THEN 1 ELSE 0 END AS nn, "
            "CASE WHEN responded_at < :until AND nps >= 9 THEN 1 ELSE 0 END AS pro, "
            "CASE WHEN responded_at < :until AND nps <= 6 THEN 1 ELSE 0 END AS de "
            f"FROM follow_ups WHERE sent_at IS NOT NULL AND {_window('sent_at')}) x GROUP BY 1"],
    }


def library(s: Any, scope: Scope) -> dict[str, Callable[[], set[tuple[Any, ...]]]]:
    """The same figures through ``aftersales.reports``, as comparable sets."""
    def plain(rows: list[Any], *fields: str) -> set[tuple[Any, ...]]:
        return {tuple(getattr(r, f) for f in fields) for r in rows
                if any(getattr(r, f) for f in fields[1:])}

    def money(rows: list[Any]) -> set[tuple[Any, ...]]:
        out = set()
        for r in rows:
            for name in ("revenue", "refunded", "retained"):
                value = int(getattr(r, name) * 1000)
                if value:
                    out.add((name, r.key, r.currency, value))
        return out

    return {
        "return rate by week": lambda: plain(returns.return_rate(s, scope, "week"),
                                             "key", "denominator", "numerator"),
        "revenue, refunded, retained by week": lambda: money(returns.revenue(s, scope, "week")),
        "returned quantity by reason": lambda: plain(returns.returned_by_reason(s, scope),
                                                     "key", "count"),
        "response time by week": lambda: plain(
            returns.handling_times(s, scope, "response", "week"),
            "key", "count", "total_seconds", "p50_seconds", "p90_seconds"),
        "transit time by carrier": lambda: plain(
            logistics.transit_times(s, scope, "carrier"),
            "key", "count", "total_seconds", "p50_seconds", "p90_seconds"),
        "exception rate by carrier": lambda: plain(
            logistics.exception_rate(s, scope, "carrier"), "key", "denominator", "numerator"),
        "first-attempt rate by carrier": lambda: plain(
            logistics.first_attempt_rate(s, scope, "carrier"), "key", "denominator",
            "numerator"),
        "stuck parcels by carrier": lambda: plain(logistics.stuck_parcels(s, scope, "carrier"),
                                                  "key", "count"),
        "stars by week": lambda: plain(reviews.stars(s, scope, "week"), "key", "reviews",
                                       "stars", "positive", "negative"),
        "complaint topics": lambda: plain(reviews.complaint_topics(s, scope, 100), "key",
                                          "count"),
        "surveys by plan": lambda: plain(followups.surveys(s, scope, "plan"), "key", "sent",
                                         "responded", "csat_count", "csat_sum", "satisfied",
                                         "nps_count", "promoters", "detractors"),
    }


def _hand_result(name: str, results: list[list[Any]]) -> set[tuple[Any, ...]]:
    if name.startswith("revenue"):
        return {(label, *r[:2], int(r[2])) for label, rows in
                zip(("revenue", "refunded", "retained"), results, strict=True)
                for r in rows if r[2]}
    rows = results[0]
    if name in ("return rate by week", "exception rate by carrier",
                "first-attempt rate by carrier"):
        return {(r[0], int(r[1]), int(r[2] or 0)) for r in rows if r[1]}
    return {(r[0], *(None if v is None else int(v) for v in r[1:])) for r in rows
            if any(r[1:])}


def _median(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def compare(app: AfterSales, label: str) -> list[float]:
    """Time every figure both ways; check the answers agree; print ratios."""
    from sqlalchemy import bindparam

    from aftersales.store.types import UTCDateTime

    d = Dialect(app.store.engine.dialect.name)
    scope = Scope(SINCE, UNTIL, ZONE)
    params = {"since": scope.since, "until": scope.until,
              "stuck": scope.until - timedelta(days=3)}
    ratios = []
    print(f"  {'figure':38} {'library':>9} {'hand SQL':>9} {'ratio':>6}")
    with app.store.session() as session:
        figures = library(session, scope)
        for name, queries in hand_sql(d).items():
            statements = [text(q).bindparams(*(bindparam(k, type_=UTCDateTime())
                                               for k in params if f":{k}" in q)) for q in queries]

            def hand(statements: list[Any] = statements) -> list[list[Any]]:
                return [[tuple(r) for r in session.execute(
                    st, {k: v for k, v in params.items() if k in st.compile().params})]
                    for st in statements]

            lib_time, lib = _median(figures[name])
            hand_time, raw = _median(hand)
            expected = _hand_result(name, raw)
            assert lib == expected, (label, name, sorted(lib)[:3], sorted(expected)[:3])
            ratios.append(lib_time / hand_time)
            print(f"  {name:38} {lib_time * 1000:8.0f}ms {hand_time * 1000:8.0f}ms "
                  f"{lib_time / hand_time:5.2f}x")
    return ratios


def peak_memory(app: AfterSales) -> int:
    """Peak Python allocations (bytes) while every figure runs once (after a warm-up run)."""
    scope = Scope(SINCE, UNTIL, ZONE)
    with app.store.session() as session:
        for fn in library(session, scope).values():
            fn()
    gc.collect()
    tracemalloc.start()
    with app.store.session() as session:
        for fn in library(session, scope).values():
            fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run(url_for: Callable[[str], str], label: str, n: int) -> None:
    print(f"== {label}: {n:,} orders")
    apps = {}
    for size in (n // 10, n):
        app = AfterSales(url_for(f"reports_{size}"), marketplaces=[], timezone="Asia/Shanghai")
        started = time.perf_counter()
        fill(app, size)
        print(f"  wrote {size:,} orders and their rows in {time.perf_counter() - started:.1f}s")
        apps[size] = app
    ratios = compare(apps[n], label)
    print(f"  worst ratio {max(ratios):.2f}x, median {statistics.median(ratios):.2f}x "
          f"(target within 2x): {'ok' if max(ratios) <= 2 else 'OVER'}")
    small, large = peak_memory(apps[n // 10]), peak_memory(apps[n])
    print(f"  peak Python memory: {small / 1024:.0f} KiB at {n // 10:,}, {large / 1024:.0f} KiB "
          f"at {n:,}: {large / small:.2f}x (target at most 1.3x)")
    for app in apps.values():
        app.close()


def main() -> None:
    n = int(os.environ.get("AFTERSALES_BENCH_REPORT_ORDERS", "100000"))
    backends = os.environ.get("AFTERSALES_BENCH_REPORT_BACKENDS", "sqlite,postgresql").split(",")
    shm = Path("/dev/shm")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
            run(lambda name: f"sqlite:///{folder}/{name}.db", "SQLite", n)
    if "postgresql" not in backends:
        return
    started = _start_postgres()
    if started is None:
        print("== PostgreSQL: skipped (no initdb/pg_ctl on this machine)")
        return
    server, stop = started
    try:
        run(lambda name: _pg_database(server, name), "PostgreSQL", n)
    finally:
        stop()


if __name__ == "__main__":
    main()
