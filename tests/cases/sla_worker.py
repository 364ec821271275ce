"""An SLA worker process for the multi-process test (run as a script).

Usage: python sla_worker.py DATABASE_URL WORKER_NAME [PAUSE_AT]

It runs the cases SLA tick until no deadline is due. Every emitted
``case.sla_breached`` is also appended to ``breach_log`` (no unique
constraint) in the same transaction, so a breach handled twice would show
as two rows. With ``PAUSE_AT`` it stops inside the transaction of breach
number ``PAUSE_AT`` (waiting on stdin) so the test's SIGKILL lands with
deadlines claimed and a transaction open.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from aftersales.app import AfterSales
from aftersales.store.tables.cases import CaseSlaRow


def main(url: str, worker: str, pause_at: int = 0) -> None:
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"], migrate=False,
                     cases={"batch": 100})
    emit = app.runtime.events.emit
    count = 0

    def logged(session: Session, name: str, payload: dict[str, Any], *, key: str,
               outbox: bool = True) -> bool:
        nonlocal count
        if name == "case.sla_breached":
            session.execute(text("INSERT INTO breach_log (key, worker) VALUES (:k, :w)"),
                            {"k": key, "w": worker})
            count += 1
            print(f"breached {count}", flush=True)
            if count == pause_at:
                sys.stdin.readline()  # hold the transaction open until the test kills us
        return emit(session, name, payload, key=key, outbox=outbox)

    app.runtime.events.emit = logged  # type: ignore[method-assign]
    while True:
        report = app.cases.run_sla(now=datetime.now(UTC))
        if report.checked:
            continue
        with app.store.session() as session:
            due: Any = session.scalar(select(func.count()).select_from(CaseSlaRow)
                                      .where(CaseSlaRow.next_at <= datetime.now(UTC)))
        if not due:
            break
        time.sleep(0.1)  # rows another worker holds right now
    print("done", flush=True)
    app.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
