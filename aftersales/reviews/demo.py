"""The reviews part of ``aftersales demo``: alerts, the positive rate, a reply."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from aftersales.cli_support import table
from aftersales.interfaces import Capability

if TYPE_CHECKING:
    from rich.console import Console

    from aftersales.app import AfterSales

__all__ = ["run"]


def run(app: AfterSales, console: Console) -> None:
    """Show this area at work on the sandbox: what needs a person, and the 好评率."""
    console.rule("Reviews")
    counts = app.reviews.sync()  # the demo's app.sync() already pulled them: nothing new
    console.print(f"Review sync again: {sum(counts.values())} changed (already up to date).")
    found = app.reviews.alerts(limit=1000)
    by_rule = Counter(a.rule.value for a in found)
    console.print(
        "Alerts raised: "
        + (", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items())) or "none")
        + f"; {sum(a.delivered_at is not None for a in found)} delivered to "
        + (", ".join(app.reviews.alert_channels) or "no channel")
    )
    worst = sorted(found, key=lambda a: (-a.severity, a.id))[:8]
    rows = [(a.severity.name, a.rule.value, a.sku or "", a.message) for a in worst]
    console.print(table("Most urgent review alerts", ["severity", "rule", "sku", "message"], rows))
    for shop in app.reviews.metrics(by="shop"):
        console.print(
            f"Shop {shop.key}: {shop.count} reviews, average {shop.average_rating:.2f}★, "
            f"positive rate (好评率) {shop.positive_rate:.1%}, "
            f"negative rate {shop.negative_rate:.1%}."
        )
    sku_rows = [
        (m.key or "(none)", m.count, f"{m.average_rating:.2f}", f"{m.positive_rate:.0%}",
         f"{m.negative_rate:.0%}", ", ".join(t for t, _ in m.top_negative_topics))
        for m in sorted(app.reviews.metrics(by="sku"), key=lambda m: -m.negative_rate)[:6]
    ]
    console.print(table("SKUs with the most negative reviews",
                        ["sku", "reviews", "avg ★", "positive", "negative", "complaints"],
                        sku_rows))
    negative = next((a for a in found if a.rule.value == "negative" and a.review_id), None)
    if negative is None or negative.review_id is None or not negative.marketplace:
        return
    market = app.marketplace(negative.marketplace)
    if Capability.REPLY_REVIEW not in market.capabilities:
        return
    preview = app.reviews.reply(negative.review_id, template="sorry", dry_run=True)
    console.print(f"Reply preview (dry run) to review {negative.subject}: {preview.text}")
    sent = app.reviews.reply(negative.review_id, template="sorry")
    again = app.reviews.reply(negative.review_id, template="sorry")
    console.print(f"Reply: {sent.status} ({sent.remote_id}); asked again: {again.status}.")
