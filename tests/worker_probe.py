"""A real ``aftersales worker`` process whose sync tick waits for a file (test_worker_process).

Usage: ``python worker_probe.py DATABASE_URL STARTED_FILE GO_FILE [worker options…]``.
The sync tick writes STARTED_FILE when it begins and goes on only once GO_FILE
exists, so the test can send SIGTERM while the tick is running.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aftersales import AfterSales
from aftersales.sandbox import SandboxMarketplace
from aftersales.scheduler import worker_command


class GatedSandbox(SandboxMarketplace):
    """The sandbox shop, whose order listing waits for the go file."""

    started: Path
    go: Path

    def list_orders(self, cursor: str | None = None) -> Iterator[Any]:
        """Announce the tick, wait for the go file (a minute at most), then list."""
        self.started.write_text("1")
        deadline = time.monotonic() + 60
        while not self.go.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        yield from super().list_orders(cursor)


def main() -> None:
    """Run the worker command on a gated sandbox."""
    url, started, go, *options = sys.argv[1:]
    market = GatedSandbox(seed=0, orders=30)
    market.started, market.go = Path(started), Path(go)
    app = AfterSales(url, marketplaces=[market], carriers=[], channels=["outbox"])
    worker_command.main(options, obj=SimpleNamespace(app=app), prog_name="aftersales worker")


if __name__ == "__main__":
    main()
