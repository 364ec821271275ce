"""A real ``aftersales worker --once`` process sending follow-ups to a file (test_worker_kill).

Usage: ``python worker_kill_probe.py DATABASE_URL DIR schedule|work``.
``schedule`` schedules three due follow-ups; ``work`` runs the worker once
on the follow-ups tick with a 2-second lease. The channel appends each
message's buyer to ``DIR/sent`` (flushed to disk before it returns); while
``DIR/hang`` exists the second message writes ``DIR/started`` and hangs
before sending, so the test can kill the process mid-tick.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from aftersales import AfterSales
from aftersales.followups.plans import FollowUpPlan
from aftersales.models import Message, Receipt
from aftersales.scheduler import worker_command


class FileChannel:
    """A channel whose sends are lines of a file."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: Message) -> Receipt:
        """Append the buyer to ``sent``; hang on the second while ``hang`` exists."""
        sent = self.folder / "sent"
        count = len(sent.read_text().split()) if sent.exists() else 0
        if count == 1 and (self.folder / "hang").exists():
            (self.folder / "started").write_text("1")
            time.sleep(600)
        with sent.open("a") as out:
            out.write(f"{message.buyer_id}\n")
            out.flush()
            os.fsync(out.fileno())
        return Receipt(channel=self.name, message_id=message.idempotency_key,
                       accepted_at=datetime.now(UTC))


def main() -> None:
    """Schedule the follow-ups, or run the worker once on them."""
    url, folder, mode = sys.argv[1:]
    app = AfterSales(url, marketplaces=[], carriers=[], channels=[FileChannel(Path(folder))],
                     followup_lease=2)
    app.followups.register(FollowUpPlan(name="hello", channel="file", body="Hi"))
    if mode == "schedule":
        for n in range(3):
            app.followups.schedule("hello", buyer_id=f"b{n}", context={},
                                   due_at=datetime.now(UTC))
        return
    worker_command.main(["--once", "--only", "followups"], obj=SimpleNamespace(app=app),
                        prog_name="aftersales worker")


if __name__ == "__main__":
    main()
