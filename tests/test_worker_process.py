"""A real worker process: JSON log lines, and SIGTERM waits for the running tick, then exits 0."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from aftersales.store.tables.core import OrderRow

PROBE = Path(__file__).with_name("worker_probe.py")


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the tick never started"
        time.sleep(0.02)


def test_sigterm_lets_the_running_tick_finish_then_exits_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    started, go = tmp_path / "started", tmp_path / "go"
    proc = subprocess.Popen(
        [sys.executable, str(PROBE), url, str(started), str(go),
         "--only", "sync", "--log-format", "json", "--log-level", "INFO"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for(started, proc)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # the signal is in; the tick is still held (not an assertion)
        go.write_text("1")
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    messages = [(r["logger"], r["message"]) for r in records]
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    signalled = messages.index(("aftersales.worker", "worker: SIGTERM received; waiting for "
                                                     "running ticks"))
    finished = next(i for i, (n, m) in enumerate(messages)
                    if n == "aftersales.worker" and m.startswith("tick.sync "))
    stopped = messages.index(("aftersales.worker", "worker stopped"))
    assert signalled < finished < stopped
    assert "orders=" in messages[finished][1]
    assert any(n == "aftersales.sync" and m.startswith("sync page store=sandbox")
               for n, m in messages)
    assert sum(1 for n, m in messages if m.startswith("tick.sync ")) == 1
    engine = create_engine(url)
    with engine.connect() as conn:
        assert (conn.scalar(select(func.count()).select_from(OrderRow)) or 0) > 0
    engine.dispose()


SIGNAL_PROBE = Path(__file__).with_name("worker_signal_probe.py")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_before_the_scheduler_starts_stops_the_worker(
        tmp_path: Path, signum: signal.Signals) -> None:
    # Rule: a stop signal is never lost. One landing after the handlers were
    # installed but before the scheduler ran was: the handler's shutdown of a
    # scheduler not yet running raised in its thread (a traceback), then the
    # scheduler started and ran until a second signal killed it.
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = subprocess.Popen(
        [sys.executable, str(SIGNAL_PROBE), f"sqlite:///{tmp_path}/w.db", str(ready), str(go)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(ready, proc)
        proc.send_signal(signum)
        time.sleep(0.3)  # the handler runs while the hook waits (not an assertion)
        go.write_text("1")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out) == {"received": [int(signum)], "ticks": []}  # no tick ran
    assert "Traceback" not in err
