"""A worker process sending the weekly report, for the two-process test (run as a script).

Usage: python weekly_worker.py DATABASE_URL SMTP_PORT NOW START_AT

It builds an app on the database (no marketplace: an empty report is enough)
whose weekly report goes by e-mail to the SMTP server on ``SMTP_PORT``,
sleeps until the wall-clock time ``START_AT`` (seconds since 1970) so that
both workers start at the same instant, sends the week before ``NOW`` and
prints the outcome's status.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from aftersales.app import AfterSales


def main(url: str, port: int, now: datetime, start_at: float) -> None:
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["smtp"], migrate=False,
                     clock=lambda: now, timezone="Asia/Shanghai",
                     smtp={"host": "127.0.0.1", "port": port},
                     reports={"weekly_channel": "smtp", "weekly_to": "ops@example.com"})
    time.sleep(max(0.0, start_at - time.time()))
    print(app.reports.send_weekly().status, flush=True)
    app.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3]),
         float(sys.argv[4]))
