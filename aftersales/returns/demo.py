"""The returns part of ``aftersales demo``: sync, policy decisions, an exchange, a refund."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from aftersales.cli_support import table
from aftersales.errors import AfterSalesError
from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns.policy import ReturnPolicy

if TYPE_CHECKING:
    from rich.console import Console

    from aftersales.app import AfterSales

__all__ = ["DEMO_POLICY", "run"]

S = ReturnStatus

#: The policy the demo applies: small requests from buyers who rarely return are approved.
DEMO_POLICY = """
window_days = 7
timezone = "Asia/Shanghai"
restocking_fee_rate = "0.05"

[reason_window_days]
quality_issue = 15

[categories.food]
returnable = false
note = "Food cannot be returned once delivered."

[[auto_approve]]
name = "small, trusted buyer"
max_amount = "300 CNY"
max_buyer_return_rate = "0.5"
"""


def run(app: AfterSales, console: Console) -> None:
    """Show this area at work on the sandbox."""
    svc = app.returns
    console.rule("Returns and exchanges")
    synced = svc.list(limit=10_000)
    counts = Counter((r.kind.value, r.status.value) for r in synced)
    console.print(table(f"{len(synced)} requests synced from the sandbox",
                        ["kind", "status", "count"],
                        [(k, s, n) for (k, s), n in sorted(counts.items())]))
    console.print(table("a few of them, raw marketplace status beside the canonical one",
                        ["rma_id", "kind", "status", "raw status", "reason (raw text)"],
                        [(r.rma_id, r.kind.value, r.status.value, r.raw_status,
                          f"{r.lines[0].reason.value} ({r.lines[0].reason_text or '-'})")
                         for r in synced[:5]]))

    svc.policy = ReturnPolicy.from_toml(DEMO_POLICY, source="demo policy")
    rows = []
    for r in svc.list(status="requested", limit=10_000):
        rid = r.rma_id or ""
        try:
            after = svc.decide(rid)
        except AfterSalesError as exc:
            rows.append((r.rma_id, r.kind.value, "-", "error", str(exc)[:60]))
            continue
        verdict, reasons = svc.eligibility_of(rid)
        actor = svc.history(rid)[-1].actor
        try:
            amount = str(svc.preview_refund(rid).total)
        except AfterSalesError:
            amount = "-"
        outcome = f"auto-approved ({actor})" if after.status is S.APPROVED else "left for a human"
        why = reasons[0] if verdict != "eligible" and reasons else ""
        if verdict == "eligible" and after.status is S.REQUESTED:
            why = "eligible, but over the rule's amount or buyer return-rate limit"
        rows.append((r.rma_id, r.kind.value, amount, outcome, why))
    console.print(table("automatic decisions by the demo policy",
                        ["rma_id", "kind", "refund", "decision", "why not"], rows))

    exchange = _exchange(app, console)
    _refund(app, console)
    if exchange is not None:
        trail = svc.history(exchange)
        console.print(table(f"audit trail of {exchange}",
                            ["at", "actor", "from", "to", "reason / note"],
                            [(e.at.isoformat(timespec="minutes"), e.actor, e.from_status or "",
                              e.to_status or "", e.reason or e.note or "") for e in trail]))


def _exchange(app: AfterSales, console: Console) -> str | None:
    svc = app.returns
    market: Any = app.marketplaces.get("sandbox")
    for r in svc.list(kind="exchange", status=["requested", "approved"], limit=1000):
        rid = r.rma_id or ""
        try:
            if r.status is S.REQUESTED:
                svc.approve(rid, note="size swap is fine", actor="demo:agent",
                            override=True)
            svc.mark_shipped(rid, "SF1400000000001", carrier="sf", actor="demo:buyer")
            svc.receive(rid, inspection=None, note="unworn, tags on", actor="demo:warehouse")
            number = market.new_tracking_number("sf") if market else "SF1400000000002"
            parcel = svc.ship_exchange(rid, number, carrier="sf", actor="demo:warehouse")
        except AfterSalesError as exc:
            console.print(f"exchange {r.rma_id} skipped: {exc}")
            continue
        line = r.lines[0]
        console.print(f"Exchange {r.rma_id}: {line.sku} → {line.replacement_sku}, "
                      f"replacement shipped as {parcel.carrier} {parcel.tracking_number} "
                      "(recorded for logistics to track).")
        return rid
    return None


def _refund(app: AfterSales, console: Console) -> None:
    svc = app.returns
    for r in svc.list(kind=ReturnKind.REFUND_ONLY, status="approved", limit=1000):
        rid = r.rma_id or ""
        try:
            preview = svc.preview_refund(rid)
            paid = svc.refund(rid, note="sorry about that", actor="demo:agent")
            again = svc.refund(rid, idempotency_key=paid.idempotency_key)
        except AfterSalesError as exc:
            console.print(f"refund {r.rma_id} skipped: {exc}")
            continue
        console.print(table(f"refund of {r.rma_id} (preview, then paid as {paid.external_id})",
                            ["goods", "discount share", "shipping", "fees", "adjustment",
                             "total"],
                            [(preview.goods, preview.discount_share, preview.shipping,
                              preview.fees, preview.adjustment, preview.total)]))
        console.print(f"Retrying with the same key returned {again.external_id}: paid once.")
        return
