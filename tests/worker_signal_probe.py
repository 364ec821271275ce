"""A real worker process that pauses between installing its signal handlers and
starting its scheduler (test_worker_process: the start signal race).

Usage: ``python worker_signal_probe.py DATABASE_URL READY_FILE GO_FILE``.
``run_worker``'s ``ready`` hook writes READY_FILE and waits for GO_FILE, so
the test's signal lands in that window; then the scheduler starts. The
process prints the signals the worker saw and the ticks that ran, as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from aftersales import AfterSales
from aftersales.sandbox import SandboxMarketplace
from aftersales.scheduler import run_worker


def main() -> None:
    """Run the worker on the sandbox, held in its ready hook until the go file exists."""
    url, ready, go = sys.argv[1:]

    def hold() -> None:
        Path(ready).write_text("1")
        deadline = time.monotonic() + 60
        while not Path(go).exists() and time.monotonic() < deadline:
            time.sleep(0.02)

    app = AfterSales(url, marketplaces=[SandboxMarketplace(seed=0, orders=5)], carriers=[],
                     channels=["outbox"])
    received: list[int] = []
    results = run_worker(app, only=["sync", "cases"], received=received, ready=hold)
    print(json.dumps({"received": received, "ticks": sorted(results)}))
    app.close()


if __name__ == "__main__":
    main()
