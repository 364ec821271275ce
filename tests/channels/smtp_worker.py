"""A follow-up worker sending by SMTP, for the SIGKILL test (run as a script).

Usage: python smtp_worker.py DATABASE_URL SMTP_PORT CLOCK_ISO [hang]

Dispatches once at the fixed clock through the ``smtp`` channel. With
``hang``, after the server has taken the message and before the follow-up
is recorded sent, it prints ``sent`` and waits on stdin, so the test's
SIGKILL lands between the send and its record.
"""

from __future__ import annotations

import sys
from datetime import datetime

from aftersales.app import AfterSales
from aftersales.channels.smtp import SmtpChannel, SmtpSettings
from aftersales.followups.plans import FollowUpPlan
from aftersales.models import Message, Receipt


class HangingSmtp(SmtpChannel):
    """The real channel, stopping after the send when told to."""

    hang = False

    def send(self, message: Message) -> Receipt:
        receipt = super().send(message)
        if self.hang:
            print("sent", flush=True)
            sys.stdin.readline()  # the test kills us here
        return receipt


def main(url: str, port: int, now: datetime, hang: bool) -> None:
    channel = HangingSmtp(SmtpSettings(host="127.0.0.1", port=port, sender="shop@example.com",
                                       timeout=5))
    channel.hang = hang
    app = AfterSales(url, marketplaces=[], carriers=[], channels=[channel], migrate=False,
                     clock=lambda: now, timezone="UTC")
    app.followups.register(FollowUpPlan(name="ask", channel="smtp", subject="How was it?",
                                        body="Dear {buyer.name}"))
    report = app.followups.dispatch_due()
    print(f"claimed={report.claimed} sent={report.sent}", flush=True)
    app.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3]),
         len(sys.argv) > 4 and sys.argv[4] == "hang")
