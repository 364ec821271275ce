"""A follow-up worker under the real APScheduler, sending by SMTP (run as a script).

Usage: python smtp_sched_worker.py DATABASE_URL SMTP_PORT GO_AT SECONDS

Waits until the Unix time ``GO_AT`` (so two workers start their schedulers at
the same instant), runs the library's ``followups`` tick every 0.2 s for
``SECONDS`` in a :class:`BackgroundScheduler` built by ``app.scheduler``,
then prints ``sent=N`` (what its ticks reported) and ``done``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from aftersales.app import AfterSales
from aftersales.channels.smtp import SmtpChannel, SmtpSettings
from aftersales.followups.plans import FollowUpPlan


def main(url: str, port: int, go_at: float, seconds: float) -> None:
    channel = SmtpChannel(SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com",
                                       timeout=5))
    app = AfterSales(url, marketplaces=[], carriers=[], channels=[channel], migrate=False,
                     timezone="UTC", followups={"batch": 3})
    app.followups.register(FollowUpPlan(name="ask", channel="smtp", subject="How was it?",
                                        body="Dear {buyer.name}"))
    sent: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def listen(event: Any) -> None:
        with lock:
            if event.exception is not None:
                errors.append(repr(event.exception))
            else:
                sent.append(int(getattr(event.retval, "sent", 0)))

    scheduler = app.scheduler(intervals={"followups": 0.2}, only=["followups"])
    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    time.sleep(max(0.0, go_at - time.time()))
    scheduler.start()
    time.sleep(seconds)
    scheduler.shutdown(wait=True)
    app.close()
    print(f"sent={sum(sent)} ticks={len(sent)} errors={errors}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
