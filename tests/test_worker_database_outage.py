"""A real worker against a real PostgreSQL server that stops mid-run and comes back.

Each tick that meets the stopped server is one summary line (no traceback);
once the server is back the next ticks succeed with no restart of the
worker, and SIGTERM then exits 0. The cluster is this module's own, since
the test stops and starts it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _as_postgres, _free_port, _pg_bin


@pytest.fixture
def cluster() -> Iterator[tuple[str, Callable[[str], None]]]:
    """A PostgreSQL URL and ``ctl("stop" | "start")`` for its server."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    tmp = tempfile.mkdtemp(prefix="aftersales-pg-outage-")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data, port = f"{tmp}/data", _free_port()
    subprocess.run(_as_postgres([initdb, "-D", data, "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    opts = f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"

    def ctl(action: str) -> None:
        extra = ["-m", "immediate"] if action == "stop" else ["-o", opts, "-l", f"{tmp}/log"]
        subprocess.run(_as_postgres([pg_ctl, "-D", data, "-w", *extra, action]),
                       check=True, capture_output=True)

    ctl("start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", ctl
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", data, "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_worker_rides_out_a_database_outage(
    tmp_path: Path, cluster: tuple[str, Callable[[str], None]]
) -> None:
    url, ctl = cluster
    log = tmp_path / "stderr"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from aftersales.cli import main; main()",
             "--database-url", url, "worker", "--only", "followups", "--only", "cases",
             "--interval", "followups=0.3", "--interval", "cases=0.3"],
            stdout=subprocess.PIPE, stderr=err, text=True)

    def until(seen: Callable[[str], bool]) -> None:
        deadline = time.monotonic() + 90
        while not seen(log.read_text()):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    try:
        until(lambda text: "tick.followups ok" in text)
        ctl("stop")
        until(lambda text: "tick.followups error" in text and "tick.cases error" in text)
        ctl("start")
        until(lambda text: "tick.followups ok" in text.rsplit("tick.followups error", 1)[1])
        until(lambda text: "tick.cases ok" in text.rsplit("tick.cases error", 1)[1])
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert "followups: " in out
