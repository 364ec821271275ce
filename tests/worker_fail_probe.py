"""A real ``aftersales worker`` process whose sync tick fails while a file exists.

Usage: ``python worker_fail_probe.py DATABASE_URL DIR [worker options…]``.
Each run of the sync tick writes ``DIR/started`` as it begins and appends a
line to ``DIR/runs`` as it ends; while ``DIR/down``
exists it raises the error a database driver raises when the server has gone
away (several lines of text; its parameters hidden, as the store's engine
hides them); while
``DIR/slow`` exists it holds the tick for that many seconds first (an
overrun). The tests drive the file from outside (test_worker_failures).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy.exc import OperationalError

from aftersales import AfterSales
from aftersales.scheduler import worker_command
from aftersales.ticks import TickReport


def main() -> None:
    """Run the worker command with the gated sync tick."""
    url, folder, *options = sys.argv[1:]
    base = Path(folder)
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"])

    def sync() -> TickReport:
        (base / "started").write_text("1")
        slow = base / "slow"
        if slow.exists():
            time.sleep(float(slow.read_text()))
        with (base / "runs").open("a") as runs:
            runs.write("down\n" if (base / "down").exists() else "up\n")
        if (base / "down").exists():
            raise OperationalError(
                "SELECT id FROM buyers WHERE email = %s AND token = %s",
                ("alice.private@example.com", "sk_live_4f9a8b7c6d5e4f3a"),
                ConnectionError("server closed the connection unexpectedly\n\tThis probably "
                                "means the server terminated abnormally"),
                hide_parameters=True)
        return TickReport(done=1)

    app.sync = sync  # type: ignore[method-assign]
    worker_command.main(options, obj=SimpleNamespace(app=app), prog_name="aftersales worker")


if __name__ == "__main__":
    main()
