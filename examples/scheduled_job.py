"""A scheduled job: what `aftersales worker --once` does, from a cron script.

Run it as ``python examples/scheduled_job.py [DATABASE_URL]``. It uses the
sandbox shop and carrier; a real job names its adapters instead, for
example ``AfterSales(marketplaces=["shopify"], carriers=["kuaidi100"])`` or
the ``AFTERSALES_*`` environment variables.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from aftersales import AfterSales
from aftersales.followups import FollowUpPlan
from aftersales.sandbox import SandboxMarketplace
from aftersales.scheduler import run_once


def main(database_url: str = "sqlite:///scheduled-job.db") -> dict[str, object]:
    """Run every tick once (sync, tracking refresh, reviews, follow-ups, SLA timers)."""
    shop = SandboxMarketplace(seed=7, orders=60)
    app = AfterSales(
        database_url,
        marketplaces=[shop],
        carriers=[shop.carrier()],
        clock=lambda: shop.now,
        timezone="Asia/Shanghai",
    )
    app.followups.register(
        FollowUpPlan(
            name="satisfaction",
            trigger="order.delivered",
            delay=timedelta(days=3),
            channel="outbox",
            subject="How is order {order.id}?",
            body="Hi {buyer.name}, did everything arrive well?",
        )
    )
    results = run_once(app)
    for tick, result in results.items():
        print(f"{tick}: {result}")
    app.close()
    return results


if __name__ == "__main__":
    main(*sys.argv[1:2])
