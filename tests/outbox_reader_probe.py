"""One outbox reader process for test_outbox_reader: waits for a start file, then streams.

Usage: ``python outbox_reader_probe.py DATABASE_URL READY_FILE GO_FILE``; prints
each row id it receives, one a line, and pauses briefly per row so two
readers interleave.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from aftersales.outbox import Outbox
from aftersales.store import Store


def main() -> None:
    """Stream the whole outbox once, printing ids."""
    url, ready, go = sys.argv[1:4]
    outbox = Outbox(Store(url))
    Path(ready).write_text("1")
    deadline = time.monotonic() + 60
    while not Path(go).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    for entry in outbox.stream(batch=7, lease=timedelta(minutes=5)):
        print(entry.id, flush=True)
        time.sleep(0.002)


if __name__ == "__main__":
    main()
