"""Refresh 10,000 parcels through 17TRACK's adapter against a local server adding 20 ms a call.

What it shows: provider calls equal ceil(N / 40) (one ``gettrackinfo`` per
batch of 40) and the refresh's wall time as a ratio to the latency-bound
limit, calls x 20 ms / concurrency: the time the calls alone would take with
that many in flight and nothing else to do. A second refresh within the TTL
must cost no call. The server is ``http.server`` on 127.0.0.1 in a child
process, as a remote provider's CPU is not ours (``--server-thread`` runs
it in a thread of this process instead); the database is a temporary
SQLite file. Each figure is the median of ``--repeat`` runs.

The ``CPU/limit`` column is this process's CPU time during the first
refresh over the limit. CPython runs one thread's Python code at a time,
so once that ratio nears 1 the refresh is bound by its own CPU (HTTP
client, validating and mapping the answers, the writes, the garbage
collector), not by the calls, and more calls in flight cannot bring the
wall time down to the limit.

Claims are chunked: the last lines compare a refresh of 200,000 parcels
with one of 20,000 through an in-process provider, so only the refresh's
own work counts: its CPU per parcel and its peak traced memory both stay
flat.

At 20 ms a call the refresh's own CPU (about 4 ms per call of 40 parcels
on this machine) is a fifth of the latency, so a few calls in flight are
enough to make it CPU-bound. Real providers answer a batch in hundreds of
milliseconds; ``--latency`` shows where the same refresh stands then.

Because the claims are chunked and locked, a refresh also scales out: the
last rows run the same refreshes split between ``--processes`` worker
processes (as several ``aftersales worker`` processes or hosts would), each
with its share of the calls in flight and its own CPU.

    python benchmarks/tracking_refresh.py [--quick] [--parcels N] [--concurrency 1,2,4,8]
                                          [--repeat 3] [--processes 2] [--server-thread]
                                          [--latency 20] [--no-memory]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import statistics
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings
from sqlalchemy import insert

from aftersales.app import AfterSales
from aftersales.interfaces import Capability, CarrierBase
from aftersales.models import ParcelStatus, Tracking, TrackingEvent, TrackQuery, TrackResult
from aftersales.store.tables.core import ShipmentRow

LATENCY = 0.020
BATCH = 40
TOKEN = "BENCHTOKEN"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _event(day: int, hour: int, sub: str, text: str, where: str) -> dict[str, Any]:
    stamp = f"2026-03-0{day}T{hour:02d}:00:00"
    return {"time_iso": stamp + "+08:00", "time_utc": None, "description": text,
            "location": where, "stage": None, "sub_status": sub}


TRACK_INFO = {
    "latest_status": {"status": "InTransit", "sub_status": "InTransit_Other"},
    "tracking": {"providers": [{"events": [
        _event(2, 9, "InTransit_Other", "Departed sorting centre", "SHENZHEN"),
        _event(1, 20, "InTransit_Arrival", "Arrived at sorting centre", "SHENZHEN"),
        _event(1, 10, "InTransit_PickedUp", "Picked up", "GUANGZHOU"),
    ]}]},
}


_ITEM = b'{"number":%s,"carrier":null,"track_info":' + json.dumps(TRACK_INFO).encode() + b"}"


class Handler(BaseHTTPRequestHandler):
    """``POST /track/v2.2/gettrackinfo``: every number accepted, after 20 ms."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real provider's HTTPS endpoint would
    disable_nagle_algorithm = True  # headers and body go out at once: no delayed-ACK stall
    calls = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        """Answer one ``gettrackinfo`` call: every number accepted, in transit."""
        length = int(self.headers.get("Content-Length", 0))
        items = json.loads(self.rfile.read(length))
        with Handler.lock:
            Handler.calls += 1
            if _COUNTER is not None:
                _COUNTER.value += 1
        time.sleep(LATENCY)
        # Built from a pre-serialised fragment: the stand-in provider should
        # cost this process as little as possible.
        accepted = b",".join(_ITEM % json.dumps(i["number"]).encode() for i in items)
        body = b'{"code":0,"data":{"accepted":[' + accepted + b'],"rejected":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Silence the per-request log lines."""


def serve() -> tuple[ThreadingHTTPServer, str]:
    """Start the fake provider; returns it and its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/track/v2.2"


def http_only(base: str, batches: int, concurrency: int) -> float:
    """Baseline: the same number of calls with the same concurrency, nothing else."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))
    body = [{"number": f"SF{i:013d}"} for i in range(BATCH)]

    def one(_: int) -> None:
        session.post(f"{base}/gettrackinfo", json=body, timeout=10).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(batches)))
    return time.perf_counter() - started


def _app(base: str, url: str, in_flight: int, clock: list[datetime]) -> AfterSales:
    carrier = SeventeenTrackCarrier(SeventeenTrackSettings(token=TOKEN, base_url=base))
    carrier.client.api.session.mount(
        "http://", requests.adapters.HTTPAdapter(pool_maxsize=in_flight)
    )
    return AfterSales(url, marketplaces=[], carriers=[carrier], clock=lambda: clock[0],
                      migrate=False, logistics={"max_in_flight": in_flight})


def _store_parcels(app: AfterSales, parcels: int) -> None:
    app.store.create_all()
    with app.store.session() as session:
        session.execute(insert(ShipmentRow), [
            {"tracking_number": f"SF{i:013d}", "carrier": "sf", "direction": "outbound",
             "status": "pending", "terminal": False, "version": 1}
            for i in range(parcels)
        ])


def refresh_once(
    base: str, parcels: int, concurrency: int
) -> tuple[float, int, Any, Any, float, float]:
    """Refreshes of ``parcels`` new parcels: the first, one within the TTL, one after it.

    Returns the first's wall time, calls and report, the second's report,
    the wall time of the third (every parcel due again, no new event) and
    this process's CPU seconds during the first.
    """
    with tempfile.TemporaryDirectory() as tmp:
        clock = [NOW]
        app = _app(base, f"sqlite:///{Path(tmp) / 'bench.db'}", concurrency, clock)
        _store_parcels(app, parcels)
        before = _calls()
        cpu = time.process_time()
        started = time.perf_counter()
        report = app.logistics.refresh()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        calls = _calls() - before
        second = app.logistics.refresh()
        clock[0] = NOW + timedelta(hours=2)
        started = time.perf_counter()
        app.logistics.refresh()
        steady = time.perf_counter() - started
        app.close()
    return wall, calls, report, second, steady, cpu


def _refresh_worker(base: str, url: str, in_flight: int, gate: Any, out: Any) -> None:
    """One worker process: the three refreshes, each started with the others at ``gate``."""
    clock = [NOW]
    app = _app(base, url, in_flight, clock)
    for at in (NOW, NOW, NOW + timedelta(hours=2)):
        clock[0] = at
        gate.wait()
        cpu = time.process_time()
        report = app.logistics.refresh()
        out.put((report.checked, report.total_calls, time.process_time() - cpu))
        gate.wait()
    app.close()


def refresh_processes(
    base: str, parcels: int, processes: int, in_flight: int
) -> tuple[float, int, int, float, float, int]:
    """The same three refreshes run by ``processes`` worker processes at once.

    Each worker has ``in_flight`` calls in flight and claims its own chunks
    of due parcels, as separate hosts or ``aftersales worker`` processes
    would. Returns the first refresh's wall time and calls, the second's
    calls, the third's wall time, the workers' mean CPU seconds during the
    first, and the parcels checked by the first.
    """
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        setup = _app(base, url, in_flight, [NOW])
        _store_parcels(setup, parcels)
        setup.close()
        gate, out = ctx.Barrier(processes + 1), ctx.Queue()
        workers = [ctx.Process(target=_refresh_worker, args=(base, url, in_flight, gate, out))
                   for _ in range(processes)]
        for worker in workers:
            worker.start()
        walls, calls, results = [], [], []
        for _ in range(3):
            before = _calls()
            gate.wait()
            started = time.perf_counter()
            gate.wait()
            walls.append(time.perf_counter() - started)
            calls.append(_calls() - before)
            results.append([out.get() for _ in range(processes)])
        for worker in workers:
            worker.join()
    checked = sum(r[0] for r in results[0])
    cpu = statistics.mean(r[2] for r in results[0])
    return walls[0], calls[0], calls[1], walls[2], cpu, checked


class _Instant(CarrierBase):
    """An in-process provider answering at once: the memory run measures the refresh alone."""

    name = "instant"
    capabilities = frozenset({Capability.TRACK})
    batch_size = BATCH

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """Every number in transit with three scans."""
        events = [TrackingEvent(time=NOW - timedelta(hours=h), status=ParcelStatus.IN_TRANSIT,
                                description=f"scan {h}", location="SHENZHEN") for h in (1, 9, 20)]
        return [TrackResult(query=q, tracking=Tracking(
            carrier=q.carrier, number=q.number, status=ParcelStatus.IN_TRANSIT, events=events,
            provider=self.name)) for q in queries]


def refresh_alone(parcels: int) -> tuple[float, float]:
    """Refreshes of ``parcels`` new parcels through the in-process provider.

    Returns the CPU microseconds per parcel (the lower of two untraced
    refreshes) and the peak traced Python memory in MiB (the higher of two
    traced ones: a peak includes garbage the cycle collector has not freed
    yet, so one run alone is noisy).
    """
    cpus: list[float] = []
    peaks: list[float] = []
    for traced in (False, False, True, True):
        with tempfile.TemporaryDirectory() as tmp:
            app = AfterSales(f"sqlite:///{Path(tmp) / 'alone.db'}", marketplaces=[],
                             carriers=[_Instant()], clock=lambda: NOW, migrate=False)
            _store_parcels(app, parcels)
            if traced:
                tracemalloc.start()
            cpu = time.process_time()
            report = app.logistics.refresh()
            cpu = time.process_time() - cpu
            if traced:
                peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
                tracemalloc.stop()
            else:
                cpus.append(cpu / parcels * 1e6)
            app.close()
            assert report.checked == parcels
    return min(cpus), max(peaks)


_COUNTER: Any = None


def _calls() -> int:
    return int(_COUNTER.value) if _COUNTER is not None else Handler.calls


def _serve_in_child(port: Any, counter: Any) -> None:
    global _COUNTER
    _COUNTER = counter
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.value = server.server_address[1]
    server.serve_forever()


def main() -> None:
    """Run the refreshes at each concurrency and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--parcels", type=int, default=10_000)
    parser.add_argument("--concurrency", default="1,2,4,8",
                        help="comma-separated calls in flight to try (default 1,2,4,8)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per concurrency; the median is printed (default 3)")
    parser.add_argument("--processes", type=int, default=2,
                        help="also split each refresh between this many worker processes "
                             "(default 2; 1 to skip)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the in-process refreshes of 200,000 and 20,000 parcels "
                             "(CPU per parcel and memory)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 parcels, concurrency 4, one run")
    parser.add_argument("--latency", type=float, default=20.0,
                        help="milliseconds the fake provider waits per call (default 20)")
    parser.add_argument("--server-thread", action="store_true",
                        help="run the fake provider in a thread of this process (its CPU "
                             "then competes with the refresh's)")
    args = parser.parse_args()
    global LATENCY
    LATENCY = args.latency / 1000  # before the server's process is forked
    parcels = 2_000 if args.quick else args.parcels
    levels = [4] if args.quick else [int(c) for c in args.concurrency.split(",")]
    repeat = 1 if args.quick else max(1, args.repeat)
    child = None
    if not args.server_thread:
        global _COUNTER
        ctx = multiprocessing.get_context("fork")
        port, _COUNTER = ctx.Value("i", 0), ctx.Value("i", 0)
        child = ctx.Process(target=_serve_in_child, args=(port, _COUNTER), daemon=True)
        child.start()
        while not port.value:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port.value}/track/v2.2"
        where = "a child process"
    else:
        server, base = serve()
        where = "a thread of this process"
    expected = math.ceil(parcels / BATCH)
    print(f"{parcels} parcels, batch {BATCH}, {LATENCY * 1000:.0f} ms per call, "
          f"server in {where}; ceil(N/40) = {expected}; median of {repeat} run(s)")
    print(f"limit = calls x {LATENCY * 1000:.0f} ms / concurrency; "
          "target: refresh <= 1.3x the limit")
    print("columns: calls of the first refresh, calls of a second one within the TTL, the")
    print("first refresh (every event new), one after the TTL (nothing new), HTTP alone,")
    print("and this process's CPU during the first refresh over the limit")
    print(f"{'in flight':>9} {'calls':>6} {'2nd':>4} {'limit s':>8} {'first s':>8} "
          f"{'x limit':>8} {'after TTL':>10} {'x limit':>8} {'HTTP only':>10} {'CPU/limit':>10}")
    for level in levels:
        runs = [refresh_once(base, parcels, level) for _ in range(repeat)]
        calls, second = runs[0][1], runs[0][3]
        wall = statistics.median(r[0] for r in runs)
        steady = statistics.median(r[4] for r in runs)
        cpu = statistics.median(r[5] for r in runs)
        bound = calls * LATENCY / level
        baseline = statistics.median(http_only(base, expected, level) for _ in range(repeat))
        ok = all(r[1] == expected == r[2].total_calls and r[3].total_calls == 0
                 and r[2].checked == parcels for r in runs)
        print(f"{level:>9} {calls:>6} {second.total_calls:>4} {bound:>8.3f} {wall:>8.3f} "
              f"{wall / bound:>7.2f}x {steady:>10.3f} {steady / bound:>7.2f}x "
              f"{baseline / bound:>9.2f}x {cpu / bound:>9.2f}x{'' if ok else '  MISMATCH'}")
    if args.processes > 1 and child is None:
        print("(worker processes need the server in a child process: drop --server-thread)")
    elif args.processes > 1:
        k = args.processes
        print(f"the same refreshes split between {k} worker processes on one SQLite file, "
              "each claiming its own chunks;")
        print("in flight = processes x calls in flight each; CPU/limit is per worker")
        for level in [lv for lv in levels if lv >= k and lv % k == 0]:
            split = [refresh_processes(base, parcels, k, level // k) for _ in range(repeat)]
            calls, second_calls = split[0][1], split[0][2]
            wall = statistics.median(r[0] for r in split)
            steady = statistics.median(r[3] for r in split)
            cpu = statistics.median(r[4] for r in split)
            bound = calls * LATENCY / level
            ok = all(r[1] == expected and r[2] == 0 and r[5] == parcels for r in split)
            print(f"{f'{k} x {level // k}':>9} {calls:>6} {second_calls:>4} {bound:>8.3f} "
                  f"{wall:>8.3f} {wall / bound:>7.2f}x {steady:>10.3f} {steady / bound:>7.2f}x "
                  f"{'':>10} {cpu / bound:>9.2f}x{'' if ok else '  MISMATCH'}")
    if child is not None:
        child.terminate()
    else:
        server.shutdown()
    if not (args.no_memory or args.quick):
        # First use fills statement caches and imports; below 20,000 parcels the
        # peak also still depends on when the collector ran. Both settle by then.
        refresh_alone(20_000)
        (small_cpu, small), (large_cpu, large) = refresh_alone(20_000), refresh_alone(200_000)
        print("a refresh through an in-process provider, 200,000 parcels against 20,000 "
              "(target: flat):")
        print(f"  CPU per parcel {large_cpu:.0f} us against {small_cpu:.0f} us: "
              f"{large_cpu / small_cpu:.2f}x")
        print(f"  peak traced memory {large:.1f} MiB against {small:.1f} MiB: "
              f"{large / small:.2f}x")


if __name__ == "__main__":
    main()
