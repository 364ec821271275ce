"""A process for the catch-up tests (run as a script).

Usage:
    python crash_trigger.py crash DATABASE_URL STORE:ORDER:BUYER ...
        commits one ``review.negative`` per order in one transaction, as the
        reviews area does, and is SIGKILLed after the commit, before the
        cases area's hook runs (a hook that kills the process runs first:
        per-event hooks run before batch hooks).
    python crash_trigger.py tick DATABASE_URL [READY GO]
        runs the worker's ``cases`` tick once, as the scheduler does, and
        prints its report as JSON; with READY and GO it creates READY once
        built and waits for GO to exist, so two workers start together.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
from pathlib import Path

from aftersales.app import AfterSales
from aftersales.scheduler import ticks_for


def crash(url: str, orders: list[str]) -> None:
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"], migrate=False)
    app.events.on("review.negative", lambda event: os.kill(os.getpid(), signal.SIGKILL))
    with app.store.session() as session:
        for n, spec in enumerate(orders):
            store, order, buyer = spec.split(":")
            app.events.emit(session, "review.negative",
                            {"marketplace": store, "review_id": f"r{n}", "order_id": order,
                             "buyer_id": buyer, "rating": 1, "severity": 2},
                            key=f"review.negative:{store}:r{n}")
    print("the hooks ran", flush=True)  # never reached: the process is dead by now


def tick(url: str, ready: str | None = None, go: str | None = None) -> None:
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"], migrate=False)
    if ready and go:
        Path(ready).write_text("1")
        deadline = time.monotonic() + 120
        while not Path(go).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    report = ticks_for(app, ["cases"])["cases"]()
    print(json.dumps(dataclasses.asdict(report)), flush=True)
    app.close()


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash(sys.argv[2], sys.argv[3:])
    else:
        tick(*sys.argv[2:5])
