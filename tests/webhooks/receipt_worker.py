"""A webhook receiver process for the replay tests (run as a script).

Usage: python receipt_worker.py DATABASE_URL GO_AT MODE [COUNT]

``race``: waits until the Unix time ``GO_AT`` so every process receives at
the same instant, then receives ``COUNT`` signed bodies, the same bodies in
the same order as the other processes; the work of a body new to it is one
``work_log`` row written on a connection of its own. Prints one outcome per
body, then ``done``.

``hold``: claims body 0, prints ``claimed`` and sleeps until it is killed.
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import create_engine, text

from aftersales.store import Store
from aftersales.webhook_receipts import WebhookReceipts


def body(n: int) -> bytes:
    """The nth signed body every process receives."""
    return b'{"id":%d,"admin_graphql_api_id":"gid://shopify/Return/%d","status":"closed"}' % (
        n, n)


def main() -> None:
    url, go_at, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    receipts = WebhookReceipts(Store(url))
    if mode == "hold":
        claim = receipts.claim("shopify", "shop-a", body(0))
        print("claimed" if claim.new else claim.outcome.value, flush=True)
        time.sleep(600)
        return
    count = int(sys.argv[4])
    log = create_engine(url)
    while time.time() < go_at:
        time.sleep(0.001)
    for n in range(count):
        def work(n: int = n) -> dict[str, int]:
            with log.begin() as conn:
                conn.execute(text("INSERT INTO work_log (body) VALUES (:n)"), {"n": n})
            time.sleep(0.01)  # the work takes a while: the others arrive meanwhile
            return {"body": n}

        claim, _ = receipts.run("shopify", "shop-a", body(n), work)
        print(claim.outcome.value, flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
