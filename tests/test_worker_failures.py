"""A real worker process meeting failures: a database gone mid-run, an overrun, a stop.

Each test runs ``tests/worker_fail_probe.py`` (the worker command on an app
whose sync tick fails while a file exists) as its own process and sends it
real signals; APScheduler is the real one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from aftersales.scheduler import worker_command

PROBE = Path(__file__).with_name("worker_fail_probe.py")
SECRETS = ("alice.private", "sk_live_4f9a8b7c6d5e4f3a")


def _start(tmp_path: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(PROBE), f"sqlite:///{tmp_path}/w.db", str(tmp_path),
         "--only", "sync", *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _runs(tmp_path: Path) -> list[str]:
    path = tmp_path / "runs"
    return path.read_text().split() if path.exists() else []


def _until(proc: subprocess.Popen[str], done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not done():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the worker never got there"
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> tuple[str, str]:
    try:
        proc.send_signal(sig)
        return proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_stopped_while_the_database_is_gone_exits_1_in_one_line_each(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # The failing tick's traceback went to stderr on every run (APScheduler's
    # "Job raised an exception"), and the worker exited 0 when stopped while
    # every tick it ran had failed.
    (tmp_path / "down").write_text("1")
    proc = _start(tmp_path, "--interval", "sync=0.2", "--log-level", "DEBUG")
    _until(proc, lambda: len(_runs(tmp_path)) >= 2)
    out, err = _stop(proc, sig)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert "sync: error: OperationalError" in out
    assert "1 of 1 ticks failed: sync" in err
    failing = [line for line in err.splitlines() if "tick.sync error" in line]
    assert len(failing) >= 2
    # the driver's text (several lines) on the tick's one line, nothing after it
    assert all("unexpectedly This probably means" in line for line in failing)
    assert not any(line.startswith(("\t", "[SQL", "(Background")) for line in err.splitlines())
    for secret in SECRETS:
        assert secret not in out + err


def test_worker_recovers_when_the_database_comes_back(tmp_path: Path) -> None:
    (tmp_path / "down").write_text("1")
    proc = _start(tmp_path, "--interval", "sync=0.2", "--log-format", "json")
    _until(proc, lambda: "down" in _runs(tmp_path))
    (tmp_path / "down").unlink()
    _until(proc, lambda: "up" in _runs(tmp_path))
    out, err = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    outcomes = [json.loads(line).get("outcome") for line in err.splitlines()
                if line.startswith("{") and json.loads(line).get("event") == "tick"]
    assert outcomes[0] == "error"
    assert outcomes[-1] == "ok"
    assert "sync: done=1" in out


def test_an_overrunning_tick_never_overlaps_and_the_skipped_run_is_reported(
    tmp_path: Path
) -> None:
    (tmp_path / "slow").write_text("1.5")
    proc = _start(tmp_path, "--interval", "sync=0.2", "--log-format", "json")
    _until(proc, lambda: len(_runs(tmp_path)) >= 2)
    _out, err = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    started = [r for r in records if r["logger"] == "apscheduler.executors.default"
               and r["message"].startswith("Running job")]
    finished = [r for r in records if r.get("event") == "tick"]
    assert len(started) == len(finished)  # one at a time: never a second run in flight
    skipped = [r for r in records if r.get("event") == "tick_skipped"]
    assert skipped, [r["message"] for r in records]
    assert skipped[0]["tick"] == "sync"
    assert skipped[0]["logger"] == "aftersales.worker"
    assert "still running" in skipped[0]["message"]


@pytest.mark.parametrize(("value", "named"), [
    ("nope=5", "unknown tick 'nope'"),
    ("sync=-1", "'sync'"),
    ("sync=nan", "'sync'"),
    ("sync=inf", "'sync'"),
])
def test_a_bad_interval_is_a_usage_error_naming_the_option(value: str, named: str) -> None:
    result = CliRunner().invoke(worker_command, ["--once", "--interval", value],
                                obj=None)
    assert result.exit_code == 2, result.output
    assert "--interval" in result.output
    assert named in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("as_json", [False, True])
def test_a_database_unreachable_at_start_is_one_line_and_status_1(as_json: bool) -> None:
    # The worker set up its INFO logging before the app opened the database,
    # so the migration's own INFO lines came before the error line.
    url = "postgresql+psycopg://shop:Sup3rS3cretPw@127.0.0.1:1/shop"
    proc = subprocess.run(
        [sys.executable, "-c", "from aftersales.cli import main; main()",
         *(["--json"] if as_json else []), "--database-url", url, "worker"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Connection refused" in lines[0] or "connection" in lines[0].lower()
    assert "Sup3rS3cretPw" not in proc.stderr + proc.stdout
    if as_json:
        assert json.loads(lines[0])["exit_code"] == 1


@pytest.mark.parametrize("once", [False, True])
def test_a_second_signal_abandons_a_hung_tick_and_exits_at_once(
    tmp_path: Path, once: bool
) -> None:
    # The first SIGTERM waits for the running tick; a tick hung on a call
    # without an end kept the worker alive, and signals after the first were
    # ignored, so only SIGKILL stopped it. The second one abandons the tick
    # (its leases are left to expire, as after a kill) and exits 128 + signal.
    (tmp_path / "slow").write_text("600")
    proc = _start(tmp_path, *(["--once"] if once else ["--interval", "sync=60"]))
    _until(proc, lambda: (tmp_path / "started").exists())
    try:
        proc.send_signal(signal.SIGTERM)
        time.sleep(2)  # past the window in which a repeat is the same stop
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "second SIGTERM: abandoning the running ticks" in err
    assert "Traceback" not in err
    assert not _runs(tmp_path)  # the tick never finished


def test_the_same_signal_twice_at_once_is_one_stop(tmp_path: Path) -> None:
    # `timeout` (cron's usual wrapper) sends its signal to the worker and to
    # its process group: two SIGTERMs microseconds apart. When both reached
    # the handler, the second abandoned the running tick and exited 143, as
    # if someone had asked twice. The test sends the second the moment the
    # first one's log line shows, well within a second.
    (tmp_path / "slow").write_text("3")
    log = tmp_path / "stderr"
    with log.open("w") as err_file:
        proc = subprocess.Popen(
            [sys.executable, str(PROBE), f"sqlite:///{tmp_path}/w.db", str(tmp_path),
             "--only", "sync", "--interval", "sync=60"],
            stdout=subprocess.PIPE, stderr=err_file, text=True)
    try:
        _until(proc, lambda: (tmp_path / "started").exists())
        proc.send_signal(signal.SIGTERM)
        _until(proc, lambda: "SIGTERM received" in log.read_text())
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = log.read_text()
    assert proc.returncode == 0, err
    assert "second SIGTERM" not in err
    assert _runs(tmp_path) == ["up"]  # the running tick finished
