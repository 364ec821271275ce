"""A real worker against a real PostgreSQL server that stops mid-run and comes back.

Each tick that meets the stopped server is one summary line (no traceback);
once the server is back the next ticks succeed with no restart of the
worker, and SIGTERM then exits 0. The cluster is the test's own
(``pg_cluster``), since the test stops and starts it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def test_the_worker_rides_out_a_database_outage(
    tmp_path: Path, pg_cluster: tuple[str, Callable[[str], None]]
) -> None:
    url, ctl = pg_cluster
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
